package faults

import (
	"encoding/json"
	"fmt"
	"net/http"
	"time"
)

// EventCall is one POST /events that reached the simulator, in arrival
// order. Status is 0 when it was not answered. Brevo events take no
// idempotency key, so the recorder, not the simulator, is what says when
// each one arrived, which the in-doubt rule needs (see shop_check.go).
type EventCall struct {
	At       time.Time
	Answered time.Time // when the simulator's answer left (later when held)
	Name     string
	CartID   string // event_properties.cart_id
	Total    string // event_properties.total, which tells two abandonments of one cart apart
	Email    string
	Status   int
}

// OK reports whether the simulator took the event.
func (e *EventCall) OK() bool { return e.Status/100 == 2 }

// eventHold keeps the answer to the next matching event from leaving
// after the simulator has taken it, like hold does for contact writes.
type eventHold struct {
	match   func(*EventCall) bool
	applied chan *EventCall
	release chan struct{}
}

// holdNextEvent holds the answer to the next event that match accepts.
func (b *brevoServer) holdNextEvent(match func(*EventCall) bool) *eventHold {
	h := &eventHold{match: match, applied: make(chan *EventCall, 1), release: make(chan struct{})}
	b.mu.Lock()
	b.evHold = h
	b.mu.Unlock()
	return h
}

// serveEvent records an event call, hands it to the simulator, and holds
// the answer when asked to.
func (b *brevoServer) serveEvent(w *statusWriter, r *http.Request, body []byte) {
	var v struct {
		Name        string            `json:"event_name"`
		Identifiers map[string]string `json:"identifiers"`
		Properties  map[string]any    `json:"event_properties"`
	}
	_ = json.Unmarshal(body, &v)
	rec := &EventCall{At: time.Now(), Name: v.Name, Email: v.Identifiers["email_id"]}
	if v.Properties != nil {
		rec.CartID, _ = v.Properties["cart_id"].(string)
		rec.Total = fmt.Sprint(v.Properties["total"])
	}
	b.mu.Lock()
	b.events = append(b.events, rec)
	var held *eventHold
	if b.evHold != nil && b.evHold.match(rec) {
		held, b.evHold = b.evHold, nil
	}
	b.mu.Unlock()
	b.Sim.ServeHTTP(w, r)
	b.mu.Lock()
	rec.Status = w.status
	b.mu.Unlock()
	if held != nil {
		held.applied <- rec
		<-held.release
	}
	b.mu.Lock()
	rec.Answered = time.Now()
	b.mu.Unlock()
}

// Events returns a copy of every event call so far, in arrival order.
func (b *brevoServer) Events() []EventCall {
	b.mu.Lock()
	defer b.mu.Unlock()
	out := make([]EventCall, len(b.events))
	for i, e := range b.events {
		out[i] = *e
	}
	return out
}
