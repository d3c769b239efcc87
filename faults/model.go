package faults

import (
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"slices"
	"sync"
	"time"
)

// The Brevo attributes the model predicts. Every value encodes the version
// (the position in its contact's history) of the event that set it, so a
// value read back from Brevo, or seen in a request, says how old it is.
// TOTAL_ORDERS is the exception: the platforms send it, but order-events,
// which the harness runs, owns it, and the model's contacts place no
// orders, so Compare expects it never set.
const (
	attrFirst  = "FIRSTNAME"
	attrLast   = "LASTNAME"
	attrOrders = "TOTAL_ORDERS"
	attrTags   = "TAGS"
)

// Consent states, spelled as both sources spell them.
const (
	optIn  = "subscribed"
	optOut = "unsubscribed"
)

// Claim is what one event says about email marketing consent.
type Claim struct {
	State string    // optIn or optOut
	At    time.Time // when the source says consent was given or withdrawn
	Owner bool      // said by the consent owner (shopify), whose opt-ins count
}

// Event is one webhook: whom it is about, what it implies, and its body.
type Event struct {
	ID      string // webhook id, the same on every redelivery
	Contact int
	Source  string         // "shopify", "custom" or "brevo" (brevo_side.go)
	Topic   string         // Shopify topic, the custom event name, or Brevo's event
	At      time.Time      // the source's own timestamp, which decides newer-wins
	Version int            // position in the contact's history, encoded in the values
	Attrs   map[string]any // Brevo attribute → the value this event implies (string or float64)
	Consent *Claim
	Body    []byte
	// Shop marks an order, a cart or a cart's contact (shop.go): checked
	// by CompareShop, not by Expect and Compare.
	Shop bool
}

// Send is one entry of the send schedule. Redelivery marks a deliberate
// resend of an event, with its webhook id, that must change nothing.
type Send struct {
	Event      *Event
	Redelivery bool
	pos        float64 // position in the run, 0 to 1
}

// Workload is the generated traffic: every event and the order to send it in.
type Workload struct {
	Contacts int
	Events   []*Event
	Sends    []Send
}

// genOptions shapes a workload.
type genOptions struct {
	contacts             int
	minEvents, maxEvents int     // per contact
	reorder              float64 // chance that two consecutive events of a contact are sent swapped
	redeliver            float64 // chance that an event is sent a second time, later
}

func emailOf(n int) string      { return fmt.Sprintf("fault-c%d@example.com", n) }
func shopifyID(n int) int64     { return 8100000000 + int64(n) }
func customID(n int) string     { return fmt.Sprintf("cust-%d", n) }
func phoneOf(n int) string      { return fmt.Sprintf("+1415%03d%04d", 200+n/10000, n%10000) }
func firstName(n, k int) string { return fmt.Sprintf("F%dv%d", n, k) }
func lastName(n, k int) string  { return fmt.Sprintf("L%dv%d", n, k) }
func tagsOf(k int) string       { return fmt.Sprintf("t%d, vip", k) }
func stamp(t time.Time) string  { return t.UTC().Format(time.RFC3339) }

func mustJSON(v any) []byte {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err)
	}
	return b
}

// Generate builds a workload. Each contact's events start at a random point
// of the run and spread over the rest of it, so every phase sees creates as
// well as updates; a few are swapped (an older updated_at delivered after a
// newer one) and a few are delivered twice.
func Generate(rng *rand.Rand, o genOptions, base time.Time) *Workload {
	w := &Workload{Contacts: o.contacts}
	for n := range o.contacts {
		m := o.minEvents + rng.IntN(o.maxEvents-o.minEvents+1)
		evs := contactHistory(rng, n, m, base)
		w.Events = append(w.Events, evs...)
		start := rng.Float64() * 0.6
		step := (1 - start) / float64(m)
		pos := make([]float64, m)
		for i := range pos {
			pos[i] = start + step*(float64(i)+rng.Float64()*0.5)
		}
		for i := 0; i+1 < m; i++ {
			if rng.Float64() < o.reorder {
				pos[i], pos[i+1] = pos[i+1], pos[i]
				i++
			}
		}
		for i, ev := range evs {
			w.Sends = append(w.Sends, Send{Event: ev, pos: pos[i]})
			if rng.Float64() < o.redeliver {
				w.Sends = append(w.Sends, Send{Event: ev, Redelivery: true, pos: min(pos[i]+rng.Float64()*0.15, 1)})
			}
		}
	}
	slices.SortStableFunc(w.Sends, func(a, b Send) int {
		switch {
		case a.pos < b.pos:
			return -1
		case a.pos > b.pos:
			return 1
		}
		return 0
	})
	return w
}

// contactHistory is what a shop would send about contact n over m changes,
// one minute apart: a create, full-resource updates carrying the consent the
// platform holds, consent changes that toggle between opt-out and an
// owner's opt-in, and custom-source updates of a few fields that sometimes
// claim an opt-in (which must not count) or opt out (which must).
func contactHistory(rng *rand.Rand, n, m int, base time.Time) []*Event {
	var evs []*Event
	consent, consentAt := "", time.Time{}
	for k := 1; k <= m; k++ {
		at := base.Add(time.Duration(k) * time.Minute)
		r := rng.Float64()
		switch {
		case k == 1:
			if rng.Float64() < 0.75 {
				consent, consentAt = optIn, at
			}
			evs = append(evs, shopifyCustomer(n, k, at, base, "customers/create", consent, consentAt))
		case r < 0.40:
			evs = append(evs, shopifyCustomer(n, k, at, base, "customers/update", consent, consentAt))
		case r < 0.62:
			// Mostly a toggle; sometimes the same state again at a newer time,
			// which is what makes the order of two opt-outs (or two opt-ins)
			// matter.
			next := optOut
			if (consent == optOut) != (rng.Float64() < 0.2) {
				next = optIn
			}
			consent, consentAt = next, at
			evs = append(evs, shopifyConsent(n, k, at, consent))
		default:
			evs = append(evs, customUpdate(rng, n, k, at))
		}
	}
	return evs
}

func shopifyCustomer(n, k int, at, created time.Time, topic, consent string, consentAt time.Time) *Event {
	body := map[string]any{
		"id": shopifyID(n), "email": emailOf(n), "first_name": firstName(n, k), "last_name": lastName(n, k),
		"phone": phoneOf(n), "orders_count": k, "tags": tagsOf(k), "state": "enabled", "verified_email": true,
		"currency": "USD", "created_at": stamp(created), "updated_at": stamp(at),
	}
	ev := &Event{ID: fmt.Sprintf("fz-%d-%d", n, k), Contact: n, Source: "shopify", Topic: topic, At: at, Version: k,
		Attrs: map[string]any{attrFirst: firstName(n, k), attrLast: lastName(n, k), attrTags: tagsOf(k)}}
	if consent != "" {
		body["email_marketing_consent"] = map[string]any{"state": consent, "opt_in_level": "single_opt_in", "consent_updated_at": stamp(consentAt)}
		ev.Consent = &Claim{State: consent, At: consentAt, Owner: true}
	}
	ev.Body = mustJSON(body)
	return ev
}

func shopifyConsent(n, k int, at time.Time, state string) *Event {
	return &Event{ID: fmt.Sprintf("fz-%d-%d", n, k), Contact: n, Source: "shopify", Topic: "customers_email_marketing_consent/update",
		At: at, Version: k, Attrs: map[string]any{}, Consent: &Claim{State: state, At: at, Owner: true},
		Body: mustJSON(map[string]any{"customer_id": shopifyID(n), "email_address": emailOf(n),
			"email_marketing_consent": map[string]any{"state": state, "opt_in_level": "single_opt_in", "consent_updated_at": stamp(at)}})}
}

func customUpdate(rng *rand.Rand, n, k int, at time.Time) *Event {
	data := map[string]any{"id": customID(n), "email": emailOf(n)}
	attrs := map[string]any{}
	for len(attrs) == 0 {
		if rng.Float64() < 0.5 {
			data["firstName"], attrs[attrFirst] = firstName(n, k), firstName(n, k)
		}
		if rng.Float64() < 0.5 {
			data["lastName"], attrs[attrLast] = lastName(n, k), lastName(n, k)
		}
		if rng.Float64() < 0.5 {
			data["totalOrders"] = k // owned by order-events: implies nothing
		}
		if rng.Float64() < 0.5 {
			data["tags"], attrs[attrTags] = []string{fmt.Sprintf("t%d", k), "vip"}, tagsOf(k)
		}
	}
	ev := &Event{ID: fmt.Sprintf("msg_fz_%d_%d", n, k), Contact: n, Source: "custom", Topic: "customer_updated", At: at, Version: k, Attrs: attrs}
	switch r := rng.Float64(); {
	case r < 0.4:
		data["emailConsent"], ev.Consent = optIn, &Claim{State: optIn, At: at}
	case r < 0.5:
		data["emailConsent"], ev.Consent = optOut, &Claim{State: optOut, At: at}
	}
	ev.Body = mustJSON(map[string]any{"event": "customer_updated", "timestamp": stamp(at), "data": data})
	return ev
}

// Expectation is what Brevo must hold for one contact once the queue is idle.
type Expectation struct {
	Email   string
	Attrs   map[string]Value // the newest acknowledged value of each attribute
	Consent string           // optIn, optOut, or "" when no claim that counts was made
	// ReOptIn says an owner opt-in newer than some opt-out was acknowledged:
	// the only case in which emailBlacklisted:false may ever be sent.
	ReOptIn bool
	// BrevoBlock says Brevo itself blocklisted the contact (an opt-out
	// made in Brevo, brevo_side.go). synclayer lifts only a block it made,
	// so after a newer owner opt-in the contact may stay blocklisted: it
	// does when synclayer had not written the opt-out yet when the opt-in
	// came.
	BrevoBlock bool
}

// Value is an attribute value and the event that set it.
type Value struct {
	V       any
	Version int
	At      time.Time
}

// Expect applies the store's rules, written down independently of
// synclayer's code, to a set of acknowledged events, in whatever order they
// arrived: each attribute takes the value with the newest source timestamp;
// an opt-out from any source stands until an opt-in from the consent owner
// that is newer than every opt-out; an opt-in from another source never
// counts.
func Expect(events []*Event) map[string]Expectation {
	type times struct{ firstOut, lastOut, lastIn time.Time }
	out := map[string]Expectation{}
	consent := map[string]*times{}
	for _, ev := range events {
		email := emailOf(ev.Contact)
		e, ok := out[email]
		if !ok {
			e = Expectation{Email: email, Attrs: map[string]Value{}}
			consent[email] = &times{}
		}
		for a, v := range ev.Attrs {
			if cur, ok := e.Attrs[a]; !ok || ev.At.After(cur.At) {
				e.Attrs[a] = Value{V: v, Version: ev.Version, At: ev.At}
			}
		}
		e.BrevoBlock = e.BrevoBlock || ev.Source == "brevo"
		out[email] = e
		c, t := ev.Consent, consent[email]
		switch {
		case c == nil:
		case c.State == optOut:
			if t.firstOut.IsZero() || c.At.Before(t.firstOut) {
				t.firstOut = c.At
			}
			if c.At.After(t.lastOut) {
				t.lastOut = c.At
			}
		case c.State == optIn && c.Owner:
			if c.At.After(t.lastIn) {
				t.lastIn = c.At
			}
		}
	}
	for email, t := range consent {
		e := out[email]
		switch {
		case t.lastOut.IsZero() && !t.lastIn.IsZero():
			e.Consent = optIn
		case !t.lastOut.IsZero() && t.lastIn.After(t.lastOut):
			e.Consent, e.ReOptIn = optIn, true
		case !t.lastOut.IsZero():
			e.Consent, e.ReOptIn = optOut, t.lastIn.After(t.firstOut)
		}
		out[email] = e
	}
	return out
}

// Model records the events synclayer acknowledged. It is safe for
// concurrent use by the senders.
type Model struct {
	mu       sync.Mutex
	acked    map[string]*Event
	accepted map[string]int // "accepted" answers per webhook id; more than one is a redelivery applied twice
	ackedAt  map[string]time.Time
}

// NewModel returns an empty Model.
func NewModel() *Model {
	return &Model{acked: map[string]*Event{}, accepted: map[string]int{}, ackedAt: map[string]time.Time{}}
}

// Ack records a 2xx answer to ev whose top-level status was status
// ("accepted" or "duplicate").
func (m *Model) Ack(ev *Event, status string) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.acked[ev.ID] = ev
	if _, ok := m.ackedAt[ev.ID]; !ok {
		m.ackedAt[ev.ID] = time.Now()
	}
	if status == "accepted" {
		m.accepted[ev.ID]++
	}
}

// Acked returns the acknowledged events.
func (m *Model) Acked() []*Event {
	m.mu.Lock()
	defer m.mu.Unlock()
	out := make([]*Event, 0, len(m.acked))
	for _, ev := range m.acked {
		out = append(out, ev)
	}
	return out
}

// AckedAt returns when ev was first acknowledged.
func (m *Model) AckedAt(ev *Event) time.Time {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.ackedAt[ev.ID]
}

// DedupeMisses counts webhook ids answered "accepted" more than once: a
// redelivery that was stored and applied a second time.
func (m *Model) DedupeMisses() int {
	m.mu.Lock()
	defer m.mu.Unlock()
	n := 0
	for _, c := range m.accepted {
		if c > 1 {
			n++
		}
	}
	return n
}
