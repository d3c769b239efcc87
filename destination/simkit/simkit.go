// Package simkit holds what every platform simulator (brevosim,
// klaviyosim, mailchimpsim) shares: the record of the calls it received
// and the spec violations it saw, the outages it can be put in, and the
// writer that remembers an answer's status. The platforms' own behaviour
// (auth, error bodies, rate limits, routes) stays in each simulator.
package simkit

import (
	"net/http"
	"strings"
	"sync"
	"time"
)

// Outage is a failure mode a simulator can be put in.
type Outage int

const (
	OutageNone    Outage = iota
	Outage500            // answer 500 with the platform's error body
	OutageTimeout        // never answer; wait until the client gives up
	OutageDrop           // close the connection without answering
)

// Call is one request a simulator received. Status is 0 when it was not
// answered (OutageTimeout, OutageDrop).
type Call struct {
	Method string
	Path   string // with the query
	Header http.Header
	Status int
	Body   []byte
	At     time.Time
}

// The history kept is bounded, so a long-running binary serving a
// simulator does not grow without end.
const (
	maxCalls      = 10000
	maxViolations = 1000
)

// Recorder keeps a simulator's history: the calls (the last 10,000) and
// the spec violations its validator reported. It is safe for concurrent
// use; a simulator embeds it, so its tests read Calls, CallCount and
// Violations.
type Recorder struct {
	mu         sync.Mutex
	calls      []*Call
	violations []string
}

// Record adds c on arrival; Answered sets its status when the answer is
// written.
func (r *Recorder) Record(c Call) *Call {
	r.mu.Lock()
	defer r.mu.Unlock()
	if len(r.calls) >= maxCalls {
		r.calls = r.calls[1:]
	}
	r.calls = append(r.calls, &c)
	return &c
}

// Answered records the status call was answered with.
func (r *Recorder) Answered(call *Call, status int) {
	r.mu.Lock()
	call.Status = status
	r.mu.Unlock()
}

// Calls returns the requests received, oldest first.
func (r *Recorder) Calls() []Call {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := make([]Call, len(r.calls))
	for i, c := range r.calls {
		out[i] = *c
	}
	return out
}

// CallCount counts the requests with method ("" for any) whose path
// starts with pathPrefix.
func (r *Recorder) CallCount(method, pathPrefix string) int {
	r.mu.Lock()
	defer r.mu.Unlock()
	n := 0
	for _, c := range r.calls {
		if (method == "" || c.Method == method) && strings.HasPrefix(c.Path, pathPrefix) {
			n++
		}
	}
	return n
}

// Count counts the requests match accepts, such as the writes or the
// 429s a test asks about.
func (r *Recorder) Count(match func(Call) bool) int {
	r.mu.Lock()
	defer r.mu.Unlock()
	n := 0
	for _, c := range r.calls {
		if match(*c) {
			n++
		}
	}
	return n
}

// Throttled counts the requests answered 429.
func (r *Recorder) Throttled() int {
	return r.Count(func(c Call) bool { return c.Status == http.StatusTooManyRequests })
}

// Violation records what the validator refused.
func (r *Recorder) Violation(v string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if len(r.violations) < maxViolations {
		r.violations = append(r.violations, v)
	}
}

// Violations returns the errors the validator reported.
func (r *Recorder) Violations() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]string(nil), r.violations...)
}

// Hold applies outage and latency to a request about to be answered: it
// waits out a timeout outage (until the client gives up), drops the
// connection for a drop outage, and waits latency. It reports whether the
// request is still to be answered.
func Hold(w http.ResponseWriter, r *http.Request, outage Outage, latency time.Duration) bool {
	switch outage {
	case OutageTimeout:
		<-r.Context().Done()
		return false
	case OutageDrop:
		Drop(w)
		return false
	}
	if latency > 0 {
		t := time.NewTimer(latency)
		defer t.Stop()
		select {
		case <-r.Context().Done():
			return false
		case <-t.C:
		}
	}
	return true
}

// Drop closes the connection without an answer.
func Drop(w http.ResponseWriter) {
	if hj, ok := w.(http.Hijacker); ok {
		if conn, _, err := hj.Hijack(); err == nil {
			conn.Close()
			return
		}
	}
	panic(http.ErrAbortHandler)
}

// StatusWriter remembers the status written.
type StatusWriter struct {
	http.ResponseWriter
	Status int
}

func (w *StatusWriter) WriteHeader(code int) {
	if w.Status == 0 {
		w.Status = code
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *StatusWriter) Write(b []byte) (int, error) {
	if w.Status == 0 {
		w.Status = http.StatusOK
	}
	return w.ResponseWriter.Write(b)
}
