package backfill_test

import (
	"testing"
	"time"

	"synclayer"
	"synclayer/backfill"
)

// FuzzParseLine feeds arbitrary JSONL lines to the parser: it returns an
// event that identifies its record, or an EINVALID error, never a panic.
func FuzzParseLine(f *testing.F) {
	for _, s := range []string{
		`{"event":"customer_updated","timestamp":"2026-10-01T10:00:00Z","data":{"id":"u1","email":"a@example.com","emailConsent":"unsubscribed"}}`,
		`{"event":"order_created","timestamp":"2026-10-01T10:00:00Z","data":{"id":"o1","email":"a@example.com","status":"paid","currency":"EUR","total":"10.00","items":[],"created_at":"2026-10-01T10:00:00Z","updated_at":"2026-10-01T10:00:00Z"}}`,
		`{"event":"customer_updated","timestamp":"x","data":{}}`,
		`[]`, `{`, `{"event":null}`,
	} {
		f.Add([]byte(s))
	}
	now := time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)
	f.Fuzz(func(t *testing.T, line []byte) {
		ev, err := backfill.ParseLine(line, now)
		if err != nil {
			if synclayer.ErrorCode(err) != synclayer.EINVALID {
				t.Fatalf("error %v is not EINVALID", err)
			}
			return
		}
		if ev.Customer != nil && !ev.Customer.Identifies() {
			t.Fatalf("a customer event that identifies no one: %s", line)
		}
	})
}
