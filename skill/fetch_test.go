package skill_test

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"synclayer"
	"synclayer/skill"
)

type skipFetcher struct{ err error }

func (skipFetcher) Name() string { return "bc" }
func (skipFetcher) Parse(http.Header, []byte, time.Time) ([]*synclayer.Event, error) {
	return nil, nil
}
func (f skipFetcher) Fetch(context.Context, synclayer.FetchRef) ([]*synclayer.Event, error) {
	return nil, f.err
}

// TestFetch_Skipped: a FetchSkipped answer ends the job with its note in
// the record's trace and nothing ingested; another error is the job's.
func TestFetch_Skipped(t *testing.T) {
	ingested := false
	f := &skill.Fetch{Source: "bc", Fetcher: skipFetcher{&synclayer.FetchSkipped{SourceID: "c-1", Note: "cart c-1 answered 404"}},
		Ingest: func(context.Context, []*synclayer.Event) error { ingested = true; return nil }}
	job := &synclayer.Job{RecordKey: synclayer.FetchRef{Kind: "cart", ID: "c-1"}.Key()}
	st, tr, err := f.Handle(context.Background(), job)
	if err != nil || st != nil || tr == nil || tr.ContactID != "bc:c-1" || tr.Kind != synclayer.TraceEvent || !strings.Contains(tr.Summary, "404") || ingested {
		t.Fatalf("Handle = %+v, %+v, %v (ingested %v)", st, tr, err, ingested)
	}
	boom := errors.New("boom")
	f.Fetcher = skipFetcher{boom}
	if _, _, err := f.Handle(context.Background(), job); !errors.Is(err, boom) {
		t.Fatalf("another error: %v", err)
	}
}
