package bigcommerce

import (
	"encoding/json"
	"errors"
	"testing"
	"time"

	"synclayer"
	"synclayer/source/sourcetest"
)

// FuzzListPage: any list answer's data, read as each kind's page with the
// parser Fetch uses, gives for each record an event that passes
// CheckFuzzResult or a Failed entry that is an EINVALID error; never a
// panic, never a record lost.
func FuzzListPage(f *testing.F) {
	for _, seed := range []string{
		`{"data":[{"id":1,"email":"a@example.com","first_name":"A","date_created":"2026-11-01T00:00:00Z","date_modified":"2026-11-01T00:00:00Z"}],"meta":{"pagination":{"total":1,"current_page":1,"total_pages":1}}}`,
		`{"data":[{"id":77,"name":"Mug","price":54.75,"inventory_tracking":"product","inventory_level":9,"categories":[23],"custom_url":{"url":"/mug/"},"date_modified":"2026-11-20T09:00:00Z"}]}`,
		`[{"id":250,"status_id":11,"currency_code":"USD","total_inc_tax":"109.5000","date_created":"Fri, 20 Nov 2026 10:00:00 +0000","date_modified":"Fri, 20 Nov 2026 10:05:00 +0000","billing_address":{"email":"ann@example.com"}}]`,
		`{"data":[{"id":2,"date_modified":17},{"email":"x"},null,7]}`,
	} {
		f.Add([]byte(seed))
	}
	src, err := open(nil, synclayer.SourceSettings{Name: "bigcommerce", Section: json.RawMessage(`{"store_hash":"abc123","access_token":"t"}`)})
	if err != nil {
		f.Fatal(err)
	}
	s := src.(*Source)
	now := time.Unix(1764547200, 0).UTC()
	lines := func(string) ([]map[string]json.RawMessage, error) {
		return []map[string]json.RawMessage{{"product_id": json.RawMessage(`77`), "name": json.RawMessage(`"Mug"`), "price_inc_tax": json.RawMessage(`"54.75"`), "quantity": json.RawMessage(`2`)}}, nil
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		var records []json.RawMessage
		var v3 struct {
			Data []json.RawMessage `json:"data"`
		}
		if json.Unmarshal(body, &v3) == nil && v3.Data != nil {
			records = v3.Data
		} else if json.Unmarshal(body, &records) != nil {
			return
		}
		for _, kind := range []string{synclayer.ListCustomers, synclayer.ListOrders, synclayer.ListProducts} {
			var p synclayer.ListPage
			c := listCursor{Kind: kind, Page: 1}
			if _, err := s.addPage(&p, &c, kind, records, lines, now); err != nil {
				t.Fatalf("%s: a page failed on its records: %v", kind, err)
			}
			if len(p.Events)+len(p.Failed) != len(records) {
				t.Fatalf("%s: %d records gave %d events and %d failed", kind, len(records), len(p.Events), len(p.Failed))
			}
			for _, ev := range p.Events {
				sourcetest.CheckFuzzResult(t, []*synclayer.Event{ev}, nil)
				if ev.OccurredAt.After(c.Mark) {
					t.Fatalf("%s: the cursor's mark %v is older than an event's %v", kind, c.Mark, ev.OccurredAt)
				}
			}
			for _, e := range p.Failed {
				var se *synclayer.Error
				if !errors.As(e, &se) || se.Code != synclayer.EINVALID || se.Message == "" {
					t.Fatalf("%s: Failed entry %#v is not EINVALID", kind, e)
				}
			}
		}
	})
}
