package hubspot_test

import (
	"context"
	"encoding/json"
	"errors"
	"testing"
	"time"

	"synclayer"
	"synclayer/destination/hubspot"
)

// FuzzInboundParse feeds Parse any signed body. It must never panic; it
// fails with an EINVALID *synclayer.Error naming a field, or every event
// it returns is the destination's, has a known type, a dedupe key, a UTC
// time, the record ID as its source ID, an email, and valid JSON fields.
func FuzzInboundParse(f *testing.F) {
	e := startInbound(f)
	res, err := e.d.Client().UpsertContacts(context.Background(), []hubspot.UpsertInput{{ID: "fuzz@example.com", IDProperty: "email", Properties: map[string]string{"email": "fuzz@example.com"}}})
	if err != nil {
		f.Fatal(err)
	}
	id := res.Results[0].ID
	f.Add([]byte(`[{"eventId":1,"occurredAt":1700000000000,"subscriptionType":"contact.propertyChange","objectId":` + id + `,"propertyName":"lifecyclestage","propertyValue":"lead"}]`))
	f.Add([]byte(`[{"eventId":2,"occurredAt":1700000000000,"subscriptionType":"contact.propertyChange","objectId":` + id + `,"propertyName":"hubspot_owner_id","propertyValue":""}]`))
	f.Add([]byte(`[{"eventId":3,"occurredAt":1700000000000,"subscriptionType":"contact.deletion","objectId":"` + id + `"}]`))
	f.Add([]byte(`[{"eventId":4,"occurredAt":1,"subscriptionType":"contact.propertyChange","objectId":999999,"propertyName":"firstname","propertyValue":"Ann"}]`))
	f.Add([]byte(`[]`))
	now := time.Now()
	f.Fuzz(func(t *testing.T, body []byte) {
		events, err := e.src.Parse(e.signed(body, now), body, now)
		if err != nil {
			var se *synclayer.Error
			if !errors.As(err, &se) || se.Code != synclayer.EINVALID || se.Field == "" || se.Message == "" || events != nil {
				t.Fatalf("error %#v is not an EINVALID *synclayer.Error naming a field", err)
			}
			return
		}
		for _, ev := range events {
			if ev.Source != "crm" || ev.DedupeKey == "" || ev.OccurredAt.Location() != time.UTC || ev.OccurredAt.IsZero() {
				t.Fatalf("incomplete event %+v", ev)
			}
			c := ev.Customer
			switch ev.Type {
			case synclayer.EventCustomerUpdated:
			case synclayer.EventContactRemoved:
				c = ev.Activity.Customer
			default:
				t.Fatalf("event type %s", ev.Type)
			}
			if c == nil || c.Email() == "" || c.SourceID == "" {
				t.Fatalf("event %+v names no contact", ev)
			}
			for k, v := range c.Fields {
				if !json.Valid(v) {
					t.Fatalf("field %s = %q is not valid JSON", k, v)
				}
			}
		}
	})
}
