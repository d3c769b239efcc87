package brevo_test

import (
	"encoding/json"
	"errors"
	"path/filepath"
	"testing"
	"time"

	"synclayer"
	"synclayer/source/sourcetest"
)

// FuzzWebhookParse feeds Parse any body with the right token. It must never
// panic; it either fails with an EINVALID *synclayer.Error naming a field,
// or every event it returns names its contact by email, has a kind
// synclayer knows, a dedupe key, a time in UTC and customer fields that
// are valid JSON.
func FuzzWebhookParse(f *testing.F) {
	files, _ := filepath.Glob("testdata/webhooks/*.json")
	for _, file := range files {
		f.Add(sourcetest.MustRead(f, file))
	}
	f.Add([]byte(`[]`))
	f.Add([]byte(`{"event":"contact_updated","content":{"email":"a@example.com","attributes":{"TAGS":"a, b","TOTAL_SPENT":"12.5"}}}`))
	_, src := mustWebhookDestination(f)
	known := map[synclayer.EventType]bool{
		synclayer.EventEmailUnsubscribed: true, synclayer.EventEmailComplained: true, synclayer.EventEmailBounced: true,
		synclayer.EventCustomerUpdated: true, synclayer.EventContactRemoved: true,
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		events, err := src.Parse(bearer(webhookToken), body, webhookNow)
		if err != nil {
			var e *synclayer.Error
			if !errors.As(err, &e) || e.Code != synclayer.EINVALID || e.Field == "" || e.Message == "" || events != nil {
				t.Fatalf("error %#v is not an EINVALID *synclayer.Error naming a field", err)
			}
			return
		}
		for _, e := range events {
			if !known[e.Type] || e.DedupeKey == "" || e.OccurredAt.IsZero() || e.OccurredAt.Location() != time.UTC || e.Source != "brevo" {
				t.Fatalf("incomplete event %+v", e)
			}
			c := e.Customer
			if e.Activity != nil {
				if e.Activity.Kind != e.Type || e.Activity.Fields == nil {
					t.Fatalf("activity %+v of a %s event", e.Activity, e.Type)
				}
				c = e.Activity.Customer
			}
			if c == nil || c.Email() == "" {
				t.Fatalf("event %+v names no email", e)
			}
			for k, v := range c.Fields {
				if !json.Valid(v) {
					t.Fatalf("field %s = %q is not valid JSON", k, v)
				}
			}
			if ec := c.EmailConsent; ec != nil && (!ec.State.Valid() || ec.State == synclayer.ConsentUnknown || ec.At.IsZero()) {
				t.Fatalf("consent %+v", ec)
			}
		}
	})
}
