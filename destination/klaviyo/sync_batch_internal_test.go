package klaviyo

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"synclayer"
)

// fakeJob answers a job read with status and the import errors with
// errs, as a Klaviyo the simulator does not imitate might.
func fakeJob(t *testing.T, status, errs string) *ContactSync {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", mediaType)
		if strings.HasSuffix(r.URL.Path, "/import-errors") {
			w.Write([]byte(`{"data":[` + errs + `],"links":{"self":"x"}}`))
			return
		}
		w.Write([]byte(`{"data":{"type":"profile-bulk-import-job","id":"J1","attributes":{"status":"` + status +
			`","created_at":"2026-07-01T10:00:00+00:00","total_count":3,"completed_count":2,"failed_count":1}}}`))
	}))
	t.Cleanup(srv.Close)
	return &ContactSync{client: New(Config{APIKey: "k", BaseURL: srv.URL})}
}

func TestCheckBatch_Fallbacks(t *testing.T) {
	ctx := context.Background()
	t.Run("UnmatchedRefusalRefusesEveryRow", func(t *testing.T) {
		s := fakeJob(t, BulkComplete, `{"type":"import-error","id":"e1","attributes":{"code":"invalid","title":"Invalid input","detail":"x","source":{}}}`)
		done, refused, err := s.CheckBatch(ctx, "J1")
		if err != nil || !done || len(refused) != 3 || !strings.Contains(refused[0], "match no row") {
			t.Fatalf("CheckBatch = %v %v %v, want all 3 rows refused", done, refused, err)
		}
	})
	t.Run("FewerErrorsThanFailed", func(t *testing.T) {
		s := fakeJob(t, BulkComplete, ``)
		if done, refused, err := s.CheckBatch(ctx, "J1"); err != nil || !done || len(refused) != 3 {
			t.Fatalf("CheckBatch = %v %v %v, want all 3 rows refused", done, refused, err)
		}
	})
	t.Run("MatchedByKnownRows", func(t *testing.T) {
		s := fakeJob(t, BulkComplete, `{"type":"import-error","id":"e1","attributes":{"code":"invalid","title":"t","detail":"Bad.",`+
			`"source":{"pointer":"/data"},"original_payload":{"email":"B@Example.com"}}}`)
		s.client.jobs.put("J1", []rowKey{{"a@example.com", "c1"}, {"b@example.com", "c2"}, {"c@example.com", "c3"}})
		done, refused, err := s.CheckBatch(ctx, "J1")
		if err != nil || !done || len(refused) != 1 || !strings.Contains(refused[1], "Bad.") {
			t.Fatalf("CheckBatch = %v %v %v, want row 1 refused", done, refused, err)
		}
		if _, ok := s.client.jobs.get("J1"); ok {
			t.Error("a job checked done is still remembered")
		}
	})
	t.Run("FailedJob", func(t *testing.T) {
		s := fakeJob(t, BulkFailed, ``)
		done, _, err := s.CheckBatch(ctx, "J1")
		var be *BulkJobError
		var perm *synclayer.PermanentError
		if done || !errors.As(err, &be) || !errors.As(err, &perm) || be.Status != "failed" || !strings.Contains(err.Error(), "failed by Klaviyo") {
			t.Fatalf("CheckBatch = %v %v", done, err)
		}
	})
	t.Run("UnknownStatus", func(t *testing.T) {
		s := fakeJob(t, "paused", ``)
		var perm *synclayer.PermanentError
		if done, _, err := s.CheckBatch(ctx, "J1"); done || !errors.As(err, &perm) || !strings.Contains(err.Error(), `"paused"`) {
			t.Fatalf("CheckBatch = %v %v", done, err)
		}
	})
}

func TestJobMemory_Bounded(t *testing.T) {
	var m jobMemory
	for i := range maxJobsKept + 10 {
		m.put(string(rune('A'+i%26))+strings.Repeat("x", i), nil)
	}
	if len(m.rows) != maxJobsKept || len(m.order) != maxJobsKept {
		t.Fatalf("%d jobs kept, want %d", len(m.rows), maxJobsKept)
	}
}
