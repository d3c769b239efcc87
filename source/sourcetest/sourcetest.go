// Package sourcetest holds the test helpers the webhook source packages
// (shopify, woocommerce, custom) share: reading testdata fixtures,
// comparing Parse's result with a golden want.json file, and checking what
// a fuzzed Parse call gave back.
//
// The helpers live here, not in each package's _test.go files, so that the
// fixture format, the golden-file encoding and the fuzz invariants are
// defined once and every source is held to the same ones. It is imported
// only by tests.
package sourcetest

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"net/http"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"synclayer"
)

// AsError returns err as a *synclayer.Error, failing the test if it is not
// one. Sources must report every failure as a *synclayer.Error so the HTTP
// layer can map its code to a status.
func AsError(tb testing.TB, err error) *synclayer.Error {
	tb.Helper()
	var e *synclayer.Error
	if !errors.As(err, &e) {
		tb.Fatalf("error %v is not a *synclayer.Error", err)
	}
	return e
}

// MustRead returns the contents of the file at path, failing the test if
// it cannot be read.
func MustRead(tb testing.TB, path string) []byte {
	tb.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		tb.Fatal(err)
	}
	return b
}

// MustReadHeaders reads a testdata headers file of "Name: value" lines;
// blank lines and lines starting with "#" are skipped. Names are
// canonicalized as net/http does unless raw is set, which keeps them as
// written, as HTTP/2's lowercase names or a hand-built header map may hold
// them, so tests can check that a source does not rely on canonical names.
func MustReadHeaders(tb testing.TB, path string, raw bool) http.Header {
	tb.Helper()
	h := http.Header{}
	sc := bufio.NewScanner(bytes.NewReader(MustRead(tb, path)))
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		k, v, ok := strings.Cut(line, ":")
		if !ok {
			tb.Fatalf("%s: bad header line %q", path, line)
		}
		k, v = strings.TrimSpace(k), strings.TrimSpace(v)
		if raw {
			h[k] = append(h[k], v)
		} else {
			h.Add(k, v)
		}
	}
	return h
}

// golden is the layout of a want.json file: the events Parse gave, or the
// error it gave, reduced to the parts a caller relies on.
type golden struct {
	Events []*synclayer.Event `json:"events,omitempty"`
	Error  *goldenError       `json:"error,omitempty"`
}

type goldenError struct {
	Code    string `json:"code"`
	Field   string `json:"field,omitempty"`
	Message string `json:"message"`
}

// CheckGolden compares Parse's result with the golden file at path. If
// update is set it rewrites the file instead; each test package passes its
// own -update flag, so the flag stays where "go test -update" looks for it.
func CheckGolden(tb testing.TB, path string, events []*synclayer.Event, err error, update bool) {
	tb.Helper()
	g := golden{Events: events}
	if err != nil {
		e := AsError(tb, err)
		g.Error = &goldenError{Code: e.Code, Field: e.Field, Message: e.Message}
	}
	got, _ := json.MarshalIndent(g, "", "  ")
	got = append(got, '\n')
	if update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			tb.Fatal(err)
		}
		return
	}
	want := MustRead(tb, path)
	if !bytes.Equal(got, want) {
		tb.Errorf("%s differs (run go test -update and review the diff):\ngot:\n%s\nwant:\n%s", path, got, want)
	}
}

// CheckFuzzResult checks what Parse gave for a correctly signed, fuzzed
// delivery: an EINVALID *synclayer.Error with a message, or exactly one
// complete event in UTC whose customer fields are valid JSON and whose
// consent states are known, a commerce event that passes CheckCommerce,
// a ticket with its id, a known status and its update time in UTC, or a
// notification naming the record to fetch (its kind and id).
func CheckFuzzResult(tb testing.TB, events []*synclayer.Event, err error) {
	tb.Helper()
	if err != nil {
		var e *synclayer.Error
		if !errors.As(err, &e) || e.Code != synclayer.EINVALID || e.Message == "" {
			tb.Fatalf("error %#v is not an EINVALID *synclayer.Error", err)
		}
		return
	}
	if len(events) != 1 {
		tb.Fatalf("got %d events, want 1", len(events))
	}
	e := events[0]
	if e.DedupeKey == "" || e.OccurredAt.IsZero() || e.OccurredAt.Location() != time.UTC {
		tb.Fatalf("incomplete event %+v", e)
	}
	if f := e.Fetch; f != nil {
		if f.Kind == "" || f.ID == "" || e.Type != synclayer.EventFetchRequested {
			tb.Fatalf("incomplete notification %+v of %+v", f, e)
		}
		return
	}
	if e.Order != nil || e.Product != nil || e.Cart != nil {
		CheckCommerce(tb, e)
		return
	}
	if b := e.Billing; b != nil {
		switch {
		case b.Subscription != nil:
			if b.Subscription.SourceID == "" || b.Subscription.CustomerID == "" || !slices.Contains(synclayer.SubscriptionStatuses, b.Subscription.Status) {
				tb.Fatalf("incomplete subscription %+v", b.Subscription)
			}
		case b.Payment != nil:
			if b.Payment.SourceID == "" || !slices.Contains(synclayer.PaymentStatuses, b.Payment.Status) {
				tb.Fatalf("incomplete payment %+v", b.Payment)
			}
		default:
			tb.Fatalf("billing event %+v carries nothing", e)
		}
		if b.At.IsZero() || b.At.Location() != time.UTC {
			tb.Fatalf("billing report without its time in UTC: %v", b.At)
		}
		if j, err := json.Marshal(e); err != nil || !json.Valid(j) {
			tb.Fatalf("event does not encode: %v", err)
		}
		return
	}
	if t := e.Ticket; t != nil {
		if t.SourceID == "" || t.Updated.IsZero() || t.Updated.Location() != time.UTC || !slices.Contains(synclayer.TicketStatuses, t.Status) {
			tb.Fatalf("incomplete ticket %+v", t)
		}
		for k, v := range t.Fields {
			if !json.Valid(v) {
				tb.Fatalf("ticket field %s = %q is not valid JSON", k, v)
			}
		}
		return
	}
	if e.Customer == nil {
		tb.Fatalf("event %+v carries nothing", e)
	}
	for k, v := range e.Customer.Fields {
		if !json.Valid(v) {
			tb.Fatalf("field %s = %q is not valid JSON", k, v)
		}
	}
	for _, c := range []*synclayer.ConsentChange{e.Customer.EmailConsent, e.Customer.SMSConsent} {
		if c != nil && (c.State == synclayer.ConsentUnknown || !c.State.Valid()) {
			tb.Fatalf("consent state %q", c.State)
		}
	}
}

// CheckCommerce checks an order, product or cart event the fuzzer produced: the
// IDs it must have are there, every amount is exact decimal text, and the
// event encodes to valid JSON.
func CheckCommerce(tb testing.TB, e *synclayer.Event) {
	tb.Helper()
	if b, err := json.Marshal(e); err != nil || !json.Valid(b) {
		tb.Fatalf("event does not encode: %v", err)
	}
	if oc := e.Order; oc != nil {
		if oc.SourceID == "" {
			tb.Fatalf("order change without an order ID: %+v", oc)
		}
		if o := oc.Order; o != nil {
			if o.SourceID != oc.SourceID || o.Total.IsZero() || !o.Status.Valid() || o.UpdatedAt.IsZero() && !o.CreatedAt.IsZero() {
				tb.Fatalf("incomplete order %+v", o)
			}
			for _, it := range o.Items {
				if it.ProductID == "" || it.Price.IsZero() {
					tb.Fatalf("order line %+v", it)
				}
			}
		}
		for _, r := range oc.Refunds {
			if r.ID == "" || r.OrderID != oc.SourceID || r.Amount.Sign() < 0 {
				tb.Fatalf("refund %+v", r)
			}
		}
		if c := oc.Customer; c != nil {
			for k, v := range c.Fields {
				if !json.Valid(v) {
					tb.Fatalf("customer field %s = %q is not valid JSON", k, v)
				}
			}
		}
	}
	if cc := e.Cart; cc != nil {
		if cc.SourceID == "" || (cc.Cart == nil && !cc.Completed) || cc.Cart != nil && (cc.Cart.SourceID != cc.SourceID || cc.Cart.Total.Sign() < 0) {
			tb.Fatalf("incomplete cart change %+v", cc)
		}
		if cc.Customer != nil && !cc.Customer.Identifies() {
			tb.Fatalf("cart customer identifies nobody: %+v", cc.Customer)
		}
	}
	if pc := e.Product; pc != nil {
		if pc.SourceID == "" || (!pc.Delete && pc.Product == nil) {
			tb.Fatalf("incomplete product change %+v", pc)
		}
		for _, v := range pc.Variants {
			if v.SourceID == "" || v.ParentID != pc.SourceID {
				tb.Fatalf("variant %+v of %s", v, pc.SourceID)
			}
		}
	}
}
