package custom_test

import (
	"bytes"
	"errors"
	"io"
	"testing"
	"time"

	"synclayer"
	"synclayer/source/custom"
)

// FuzzExport feeds arbitrary JSONL to the export reader backfill uses:
// each line gives an event that identifies its record or an EINVALID
// error naming it, never a panic, and reading ends.
func FuzzExport(f *testing.F) {
	for _, s := range []string{
		`{"event":"customer_updated","timestamp":"2026-10-01T10:00:00Z","data":{"id":"u1","email":"a@example.com","emailConsent":"unsubscribed"}}`,
		`{"event":"order_created","timestamp":"2026-10-01T10:00:00Z","data":{"id":"o1","email":"a@example.com","status":"paid","currency":"EUR","total":"10.00","items":[],"created_at":"2026-10-01T10:00:00Z","updated_at":"2026-10-01T10:00:00Z"}}`,
		`{"event":"customer_updated","timestamp":"x","data":{}}`,
		`[]`, `{`, `{"event":null}`,
	} {
		f.Add([]byte(s))
	}
	now := time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)
	f.Fuzz(func(t *testing.T, file []byte) {
		r, err := custom.Export.Open(bytes.NewReader(file), now, now)
		if err != nil {
			t.Fatal(err)
		}
		for n := 0; ; n++ {
			if n > len(file)+1 {
				t.Fatalf("the reader does not end: %d records from %d bytes", n, len(file))
			}
			_, ev, err := r.Next()
			if errors.Is(err, io.EOF) {
				return
			}
			if err != nil {
				if synclayer.ErrorCode(err) != synclayer.EINVALID {
					return // a line too long stops the read, as documented
				}
				continue
			}
			if ev.Customer != nil && !ev.Customer.Identifies() {
				t.Fatalf("a customer event that identifies no one: %s", file)
			}
		}
	})
}
