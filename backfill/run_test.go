package backfill_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"synclayer"
	"synclayer/backfill"
	"synclayer/ingest"
	"synclayer/source/custom"
	"synclayer/source/shopify"
	"synclayer/store/storetest"
)

// sources are the export formats the program registers.
var sources = []synclayer.SourceType{shopify.Type, custom.Type}

func writeFile(t *testing.T, name string, lines []string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, []byte(strings.Join(lines, "\n")+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// TestLoader_Resume interrupts a load after its first chunk and runs it
// again: the second run resumes after the committed lines, and the
// summary covers the whole file once.
func TestLoader_Resume(t *testing.T) {
	t.Parallel()
	var lines []string
	for i := range 2500 {
		switch {
		case i == 7:
			lines = append(lines, `{"event":"customer_updated","timestamp":"2026-10-01T10:00:00Z","data":{"id":"u7","email":"not an email"}}`)
		case i == 1500:
			lines = append(lines, `{"event":"customer_updatd","timestamp":"2026-10-01T10:00:00Z","data":{"id":"x"}}`)
		case i == 2000:
			lines = append(lines, `{not json`)
		default:
			lines = append(lines, fmt.Sprintf(`{"event":"customer_updated","timestamp":"2026-10-01T10:00:00Z","data":{"id":"u%d","email":"u%d@example.com"}}`, i, i))
		}
	}
	path := writeFile(t, "export.jsonl", lines)
	db := storetest.OpenSQLite(t)
	q := synclayer.BatchQueue("customer-sync")
	in := ingest.New(ingest.Config{Store: db, Routes: []ingest.Route{{Skill: q, Destination: "brevo", Sources: []string{"custom"}}}})
	load := func(ctx context.Context, cancel func()) (backfill.Counts, int, error) {
		f, err := backfill.Open(path, time.Time{}, sources)
		if err != nil {
			t.Fatal(err)
		}
		defer f.Close()
		l := &backfill.Loader{Store: db, Ingester: in, File: f, Checkpoint: "backfill:customer-sync:" + f.Identity,
			Progress: func(backfill.Counts, int64) {
				if cancel != nil {
					cancel()
				}
			}}
		return l.Load(ctx)
	}
	ctx, cancel := context.WithCancel(context.Background())
	c, _, err := load(ctx, cancel)
	if !errors.Is(err, context.Canceled) || c.Read != 1000 {
		t.Fatalf("interrupted run: read %d, err %v; want 1000 and context.Canceled", c.Read, err)
	}
	c, resumed, err := load(context.Background(), nil)
	if err != nil {
		t.Fatal(err)
	}
	if resumed != 1000 {
		t.Errorf("resumed after line %d, want 1000", resumed)
	}
	if c.Read != 2500 || c.Written != 2497 || c.Failed != 3 || c.Skipped != 0 {
		t.Errorf("counts %+v, want read 2500, written 2497, failed 3", c)
	}
	wantLines := []int{8, 1501, 2001}
	for i, f := range c.Failures {
		if i >= len(wantLines) || f.Line != wantLines[i] || f.Reason == "" {
			t.Errorf("failures %+v, want lines %v with reasons", c.Failures, wantLines)
			break
		}
	}
	if n, _ := db.CountPending(context.Background(), q); n != 2497 {
		t.Errorf("%d jobs on the batch queue, want one per contact (2497)", n)
	}
	// A fresh run of the same file (its checkpoint kept) loads nothing twice.
	c, _, err = load(context.Background(), nil)
	if err != nil || c.Written != 2497 {
		t.Errorf("third run: %+v, %v", c, err)
	}
}

func TestOpen_Formats(t *testing.T) {
	t.Parallel()
	cases := []struct{ name, body, source, records string }{
		{"customers.csv", "Customer ID,First Name,Last Name,Email,Accepts Email Marketing\n'1,Ann,Lee,ann@example.com,yes\n", "shopify", synclayer.ExportContacts},
		{"orders_export.csv", "Name,Email,Financial Status,Total,Created at,Lineitem quantity,Lineitem name,Lineitem price\n#1,a@example.com,paid,10.00,2024-01-15 10:30:00 -0500,1,Tee,10.00\n", "shopify", synclayer.ExportOrders},
		{"events.jsonl", `{"event":"customer_updated","timestamp":"2026-10-01T10:00:00Z","data":{"id":"u1"}}` + "\n", "custom", synclayer.ExportEvents},
	}
	for _, tc := range cases {
		p := filepath.Join(t.TempDir(), tc.name)
		os.WriteFile(p, []byte(tc.body), 0o600)
		f, err := backfill.Open(p, time.Time{}, sources)
		if err != nil {
			t.Errorf("%s: %v", tc.name, err)
			continue
		}
		line, ev, err := f.Next()
		if f.Source != tc.source || f.Records() != tc.records || err != nil || ev == nil || line != 2 && tc.records != synclayer.ExportEvents || !strings.HasPrefix(ev.DedupeKey, "backfill:"+f.Identity+":") {
			t.Errorf("%s: source %s, records %s, line %d, event %+v, err %v", tc.name, f.Source, f.Records(), line, ev, err)
		}
		f.Close()
	}
	p := filepath.Join(t.TempDir(), "export.xlsx")
	os.WriteFile(p, []byte("x"), 0o600)
	if _, err := backfill.Open(p, time.Time{}, sources); synclayer.ErrorCode(err) != synclayer.EINVALID || !strings.Contains(err.Error(), ".csv") || !strings.Contains(err.Error(), ".jsonl") {
		t.Errorf("xlsx: %v", err)
	}
}

// TestOpen_IdentityCoversTheWholeFile edits one line far past the file's
// start without changing its size: the identity, and so the dedupe keys
// and checkpoint, must change, or the corrected line would be skipped as
// loaded already.
func TestOpen_IdentityCoversTheWholeFile(t *testing.T) {
	t.Parallel()
	var b strings.Builder
	for i := range 2000 {
		fmt.Fprintf(&b, `{"event":"customer_updated","timestamp":"2026-10-01T10:00:00Z","data":{"id":"u%d","email":"user%d@example.com"}}`+"\n", i, i)
	}
	dir := t.TempDir()
	a, c := filepath.Join(dir, "a.jsonl"), filepath.Join(dir, "b.jsonl")
	edited := strings.Replace(b.String(), "user1999@example.com", "user1999@exampel.com", 1)
	if len(edited) != b.Len() || b.Len() < 128<<10 {
		t.Fatalf("the edit must keep the size (%d, %d) past 64 KiB", len(edited), b.Len())
	}
	os.WriteFile(a, []byte(b.String()), 0o600)
	os.WriteFile(c, []byte(edited), 0o600)
	fa, err := backfill.Open(a, time.Time{}, sources)
	if err != nil {
		t.Fatal(err)
	}
	defer fa.Close()
	fc, err := backfill.Open(c, time.Time{}, sources)
	if err != nil {
		t.Fatal(err)
	}
	defer fc.Close()
	if fa.Identity == fc.Identity {
		t.Errorf("identity %s for both files: a line edited past 64 KiB goes unseen", fa.Identity)
	}
	// Reading still starts at the first line after hashing.
	if line, ev, err := fc.Next(); err != nil || line != 1 || ev == nil {
		t.Errorf("first line: %d, %v, %v", line, ev, err)
	}
}
