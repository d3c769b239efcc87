package mailchimp_test

import (
	"encoding/json"
	"errors"
	"path/filepath"
	"testing"
	"time"

	"synclayer"
)

// FuzzParse feeds Parse any body with the right secret. It must never
// panic; it either fails with an EINVALID *synclayer.Error naming a field,
// or every event it returns names its member by email, has a kind
// synclayer knows, a dedupe key, a time in UTC no later than now, a JSON
// payload and customer fields that are valid JSON; an opt-out is always
// an activity whose customer is unsubscribed.
func FuzzParse(f *testing.F) {
	files, _ := filepath.Glob("testdata/webhooks/*.form")
	for _, file := range files {
		f.Add(readForm(f, filepath.Base(file)))
	}
	f.Add([]byte(`type=profile&data[list_id]=a6b5da1054&data[email]=a%40example.com&data[merges][ORDERS]=1e400&data[merges][PHONE]=0&data[merges][TIER]=%20`))
	f.Add([]byte(`type=subscribe&type=cleaned&data[list_id]=a6b5da1054&data[email]=a%40example.com&fired_at=2009-03-26T21:35:57%2B02:00`))
	_, src := mustWebhookDestination(f)
	known := map[synclayer.EventType]bool{
		synclayer.EventEmailUnsubscribed: true, synclayer.EventEmailComplained: true, synclayer.EventEmailBounced: true,
		synclayer.EventCustomerUpdated: true,
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		events, err := src.Parse(signed(), body, webhookNow)
		if err != nil {
			var e *synclayer.Error
			if !errors.As(err, &e) || e.Code != synclayer.EINVALID || e.Field == "" || e.Message == "" || events != nil {
				t.Fatalf("error %#v is not an EINVALID *synclayer.Error naming a field", err)
			}
			return
		}
		if len(events) > 1 {
			t.Fatalf("%d events from one delivery", len(events))
		}
		for _, e := range events {
			if !known[e.Type] || len(e.DedupeKey) != 64 || e.OccurredAt.IsZero() || e.OccurredAt.Location() != time.UTC ||
				e.OccurredAt.After(webhookNow) || e.Source != "mailchimp" || !json.Valid(e.Payload) {
				t.Fatalf("incomplete event %+v", e)
			}
			c := e.Customer
			if e.Activity != nil {
				if e.Activity.Kind != e.Type || e.Activity.Fields == nil {
					t.Fatalf("activity %+v of a %s event", e.Activity, e.Type)
				}
				c = e.Activity.Customer
				if c == nil || c.EmailConsent == nil || c.EmailConsent.State != synclayer.ConsentUnsubscribed {
					t.Fatalf("the %s is no opt-out: %+v", e.Type, c)
				}
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
