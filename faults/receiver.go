package faults

import (
	"io"
	"net"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	standardwebhooks "github.com/standard-webhooks/standard-webhooks/libraries/go"
)

// Delivery is one request a receiver got, in arrival order.
type Delivery struct {
	At       time.Time
	Answered time.Time // when the answer left (later than At when held)
	Body     []byte
	ID       string // webhook-id; "" at the Slack receiver
	Status   int    // what the receiver answered (or was about to, when held)
	// Repeat marks a webhook-id the receiver had already accepted, which a
	// Standard Webhooks receiver acknowledges and ignores.
	Repeat bool
	Forged bool // the signature did not verify
}

// Taken reports whether the receiver acted on the delivery: a Slack
// message posted, a webhook processed for the first time.
func (d *Delivery) Taken() bool { return d.Status/100 == 2 && !d.Repeat && !d.Forged }

// receiver is a local stand-in for Slack's incoming webhook (verify nil)
// or for a Standard Webhooks endpoint that verifies signatures and
// deduplicates by webhook-id, as such receivers are told to.
type receiver struct {
	URL    string
	srv    *http.Server
	verify *standardwebhooks.Webhook

	// failing makes it answer 503, as Slack or an endpoint in trouble
	// does; such a delivery is not acted on.
	failing atomic.Bool

	mu   sync.Mutex
	got  []*Delivery
	seen map[string]bool
	hold *recvHold
}

// recvHold keeps the answer to one matching delivery back after the
// receiver acted on it: a crash in that window cannot know the message
// went out.
type recvHold struct {
	match   func(*Delivery) bool
	applied chan *Delivery
	release chan struct{}
}

// startReceiver serves a receiver on a free port; secret "" makes it a
// Slack receiver.
func startReceiver(secret string) (*receiver, error) {
	r := &receiver{seen: map[string]bool{}}
	if secret != "" {
		wh, err := standardwebhooks.NewWebhook(secret)
		if err != nil {
			return nil, err
		}
		r.verify = wh
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	r.srv = &http.Server{Handler: r, ReadHeaderTimeout: 10 * time.Second}
	r.URL = "http://" + ln.Addr().String()
	go func() { _ = r.srv.Serve(ln) }()
	return r, nil
}

func (r *receiver) close() { _ = r.srv.Close() }

// holdNext holds the answer to the next delivery that match accepts.
func (r *receiver) holdNext(match func(*Delivery) bool) *recvHold {
	h := &recvHold{match: match, applied: make(chan *Delivery, 1), release: make(chan struct{})}
	r.mu.Lock()
	r.hold = h
	r.mu.Unlock()
	return h
}

func (r *receiver) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	body, err := io.ReadAll(req.Body)
	if err != nil {
		return
	}
	d := &Delivery{At: time.Now(), Body: body, ID: req.Header.Get("webhook-id"), Status: http.StatusOK}
	switch {
	case r.failing.Load():
		d.Status = http.StatusServiceUnavailable
	case r.verify != nil && r.verify.Verify(body, req.Header) != nil:
		d.Forged, d.Status = true, http.StatusBadRequest
	}
	var held *recvHold
	r.mu.Lock()
	if d.Status == http.StatusOK && r.verify != nil {
		d.Repeat = r.seen[d.ID]
		r.seen[d.ID] = true
	}
	r.got = append(r.got, d)
	if d.Status == http.StatusOK && r.hold != nil && r.hold.match(d) {
		held, r.hold = r.hold, nil
	}
	r.mu.Unlock()
	if held != nil {
		held.applied <- d
		<-held.release
	}
	r.mu.Lock()
	d.Answered = time.Now()
	r.mu.Unlock()
	w.WriteHeader(d.Status)
	_, _ = io.WriteString(w, "ok")
}

// Deliveries returns a copy of every delivery so far.
func (r *receiver) Deliveries() []Delivery {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := make([]Delivery, len(r.got))
	for i, d := range r.got {
		out[i] = *d
	}
	return out
}
