package faults

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"synclayer/destination/brevo/brevosim"
)

// Write is one contact write (POST, PUT or DELETE under /contacts) that
// reached the simulator, in arrival order. Status is 0 when it was not
// answered (a dropped connection or a timeout).
type Write struct {
	At     time.Time
	Method string
	ExtID  string // from the body (POST) or the path (PUT, DELETE by ext_id)
	Email  string // from the body (POST) or the path (by email)
	Status int
	Body   []byte
	// Applied is the status Brevo applied the write with when its answer
	// was then lost (see brevoServer.loseAnswers); 0 otherwise.
	Applied int
}

// OK reports whether Brevo applied the write, answered or not.
func (w *Write) OK() bool { return w.Status/100 == 2 || w.Applied/100 == 2 }

// brevoServer is the brevosim simulator on a real socket, behind a
// recorder. The simulator keeps only its last 10,000 calls, fewer than a
// long run makes, and the checks need every write and its answer, so the
// recorder keeps its own unbounded log.
type brevoServer struct {
	Sim *brevosim.Server
	URL string // base URL with /v3, as synclayer is configured
	srv *http.Server

	mu     sync.Mutex
	writes []*Write
	events []*EventCall
	calls  map[int]int // status → count, for every call
	hold   *hold
	evHold *eventHold

	// loseAnswers makes every contact write take effect and its answer
	// vanish (the connection is closed instead), as when a proxy or the
	// network drops a response after Brevo did the work. Unlike brevosim's
	// outages, the write is not refused: synclayer cannot tell what Brevo
	// holds.
	loseAnswers atomic.Bool
}

// hold keeps the answer to one matching write from leaving the simulator
// after the simulator has applied it, which opens the window a crash must
// hit to lose the record of a delivery that Brevo did apply.
type hold struct {
	match   func(*Write) bool
	applied chan *Write   // receives the write once Brevo has applied it
	release chan struct{} // closed to let the answer go
}

// holdNext holds the answer to the next write that match accepts.
func (b *brevoServer) holdNext(match func(*Write) bool) *hold {
	h := &hold{match: match, applied: make(chan *Write, 1), release: make(chan struct{})}
	b.mu.Lock()
	b.hold = h
	b.mu.Unlock()
	return h
}

func startBrevo(apiKey string) (*brevoServer, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	b := &brevoServer{Sim: brevosim.New(brevosim.Options{APIKey: apiKey}), calls: map[int]int{}}
	b.srv = &http.Server{Handler: b, ReadHeaderTimeout: 10 * time.Second}
	b.URL = "http://" + ln.Addr().String() + "/v3"
	go func() { _ = b.srv.Serve(ln) }()
	return b, nil
}

func (b *brevoServer) close() { _ = b.srv.Close() }

func (b *brevoServer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	r.Body = io.NopCloser(bytes.NewReader(body))
	sw := &statusWriter{ResponseWriter: w}
	var rec *Write
	path := strings.TrimPrefix(r.URL.Path, "/v3")
	if r.Method != http.MethodGet && strings.HasPrefix(path, "/contacts") && !strings.HasPrefix(path, "/contacts/attributes") {
		rec = &Write{At: time.Now(), Method: r.Method, Body: body}
		b.identify(rec, r, path)
		b.mu.Lock()
		b.writes = append(b.writes, rec)
		if b.hold != nil && b.hold.match(rec) {
			held := b.hold
			b.hold = nil
			// Deferred calls run last first: the answer waits for release
			// after the status is recorded.
			defer func() { held.applied <- rec; <-held.release }()
		}
		b.mu.Unlock()
	}
	defer func() {
		b.mu.Lock()
		defer b.mu.Unlock()
		b.calls[sw.status]++
		if rec != nil {
			rec.Status = sw.status
		}
	}()
	if r.Method == http.MethodPost && path == "/events" {
		b.serveEvent(sw, r, body)
		return
	}
	if rec != nil && b.loseAnswers.Load() {
		bw := &discardWriter{header: http.Header{}}
		b.Sim.ServeHTTP(bw, r)
		b.mu.Lock()
		rec.Applied = bw.status
		b.mu.Unlock()
		if conn, _, err := sw.Hijack(); err == nil {
			conn.Close()
			return
		}
		panic(http.ErrAbortHandler)
	}
	b.Sim.ServeHTTP(sw, r)
}

// discardWriter takes an answer that is never sent.
type discardWriter struct {
	header http.Header
	status int
}

func (w *discardWriter) Header() http.Header { return w.header }
func (w *discardWriter) WriteHeader(code int) {
	if w.status == 0 {
		w.status = code
	}
}
func (w *discardWriter) Write(p []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	return len(p), nil
}

// identify reads which contact a write is about.
func (b *brevoServer) identify(rec *Write, r *http.Request, path string) {
	if r.Method == http.MethodPost {
		var v struct {
			Email string `json:"email"`
			ExtID string `json:"ext_id"`
		}
		_ = json.Unmarshal(rec.Body, &v)
		rec.Email, rec.ExtID = strings.ToLower(v.Email), v.ExtID
		return
	}
	id, _ := url.PathUnescape(strings.TrimPrefix(path, "/contacts/"))
	switch r.URL.Query().Get("identifierType") {
	case "ext_id":
		rec.ExtID = id
	case "", "email_id":
		if strings.Contains(id, "@") {
			rec.Email = strings.ToLower(id)
		}
	}
}

// Writes returns a copy of every contact write so far, in arrival order.
func (b *brevoServer) Writes() []Write {
	b.mu.Lock()
	defer b.mu.Unlock()
	out := make([]Write, len(b.writes))
	for i, w := range b.writes {
		out[i] = *w
	}
	return out
}

// Answered counts every call answered with status.
func (b *brevoServer) Answered(status int) int {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.calls[status]
}

// statusWriter remembers the status written. It passes Hijack through,
// since the simulator's OutageDrop closes the connection that way.
type statusWriter struct {
	http.ResponseWriter
	status int
}

func (w *statusWriter) WriteHeader(code int) {
	if w.status == 0 {
		w.status = code
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(p []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	return w.ResponseWriter.Write(p)
}

func (w *statusWriter) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	if hj, ok := w.ResponseWriter.(http.Hijacker); ok {
		return hj.Hijack()
	}
	return nil, nil, errors.New("hijack not supported")
}
