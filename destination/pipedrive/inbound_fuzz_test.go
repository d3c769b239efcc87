package pipedrive_test

import (
	"encoding/json"
	"net/http"
	"testing"
	"time"

	"synclayer"
	"synclayer/destination/pipedrive"
)

// FuzzInbound_Parse feeds any body to an authenticated Parse: it must
// not panic, and any event it returns names the person by address.
func FuzzInbound_Parse(f *testing.F) {
	f.Add([]byte(`{"meta":{"action":"change","entity":"person","entity_id":"5","id":"a","version":"2.0","timestamp":1727447128},"data":{"owner_id":7,"emails":[{"value":"a@example.com","primary":true}]},"previous":{"owner_id":1}}`))
	f.Add([]byte(`{"meta":{"action":"delete","entity":"person","entity_id":5,"id":"b","timestamp":"2026-01-02T03:04:05Z"},"data":null,"previous":{"emails":[{"value":"a@example.com"}]}}`))
	f.Add([]byte(`{"meta":{"action":"change","entity":"person","entity_id":"5","id":"c"},"data":{"marketing_status":"unsubscribed","emails":[]},"previous":{"marketing_status":"subscribed"}}`))
	f.Add([]byte(`{"v":1,"current":{},"meta":null}`))
	f.Add([]byte(`[]`))
	raw, _ := json.Marshal(map[string]any{"api_token": testToken, "base_url": "http://127.0.0.1:1",
		"webhook": map[string]any{"username": hookUser, "password": hookPass, "public_url": "https://sync.example.com"}})
	d, err := pipedrive.Open("crm", raw, synclayer.DestinationEnv{})
	if err != nil {
		f.Fatal(err)
	}
	src := d.(*pipedrive.Destination).Inbound()
	h := http.Header{"Authorization": {basic(hookUser, hookPass)}}
	f.Fuzz(func(t *testing.T, body []byte) {
		evs, err := src.Parse(h, body, time.Now())
		if err != nil {
			return
		}
		for _, ev := range evs {
			var ch *synclayer.CustomerChange
			if ev.Customer != nil {
				ch = ev.Customer
			} else if ev.Activity != nil {
				ch = ev.Activity.Customer
			}
			if ch == nil || ch.Email() == "" || ev.Source != "crm" {
				t.Fatalf("event %+v names no person", ev)
			}
		}
	})
}
