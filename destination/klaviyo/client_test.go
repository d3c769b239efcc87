package klaviyo_test

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"synclayer"
	"synclayer/destination/klaviyo"
	"synclayer/destination/klaviyo/klaviyosim"
	"synclayer/destination/klaviyo/klaviyospec"
)

const testKey = "pk_0123456789abcdef_SECRET"

// env is a client wired to a simulator that validates every request
// against the vendored spec; cleanup fails the test on a violation.
type env struct {
	sim    *klaviyosim.Server
	client *klaviyo.Client
	logs   *syncBuffer
	url    string
}

func mustEnv(tb testing.TB, so klaviyosim.Options, cfg klaviyo.Config) *env {
	tb.Helper()
	so.APIKey, so.Validate = testKey, klaviyospec.Load(tb).Validate
	sim := klaviyosim.New(so)
	srv := httptest.NewServer(sim)
	tb.Cleanup(srv.Close)
	tb.Cleanup(func() {
		if v := sim.Violations(); len(v) != 0 {
			tb.Errorf("requests the spec rejects:\n%s", strings.Join(v, "\n"))
		}
	})
	logs := &syncBuffer{}
	if cfg.APIKey == "" {
		cfg.APIKey = testKey
	}
	cfg.BaseURL = srv.URL
	cfg.Logger = slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	if cfg.HTTPClient == nil {
		cfg.HTTPClient = &http.Client{Timeout: 2 * time.Second}
	}
	return &env{sim: sim, client: klaviyo.New(cfg), logs: logs, url: srv.URL}
}

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}
func (s *syncBuffer) String() string { s.mu.Lock(); defer s.mu.Unlock(); return s.b.String() }

// kind names how the queue would treat err.
func kind(err error) string {
	var p *synclayer.PermanentError
	var ra *synclayer.RetryAfterError
	switch {
	case err == nil:
		return "ok"
	case errors.As(err, &p):
		return "permanent"
	case errors.As(err, &ra):
		return "retry-after"
	}
	return "retryable"
}

func TestClient_Headers(t *testing.T) {
	e := mustEnv(t, klaviyosim.Options{}, klaviyo.Config{})
	if _, _, err := e.client.UpsertProfile(context.Background(), klaviyo.ProfileUpsert{Attributes: map[string]any{"email": "ann@example.com"}}); err != nil {
		t.Fatalf("UpsertProfile: %v", err)
	}
	c := e.sim.Calls()[0]
	for k, want := range map[string]string{"Authorization": "Klaviyo-API-Key " + testKey, "Revision": klaviyo.Revision,
		"Content-Type": "application/vnd.api+json", "Accept": "application/vnd.api+json"} {
		if got := c.Header.Get(k); got != want {
			t.Errorf("header %s = %q, want %q", k, got, want)
		}
	}
	if strings.Contains(e.logs.String(), testKey) || strings.Contains(e.logs.String(), "ann@example.com") {
		t.Errorf("the debug log holds the key or the email:\n%s", e.logs)
	}
}

func TestClient_Errors(t *testing.T) {
	tests := []struct {
		name     string
		key      string
		outage   klaviyosim.Outage
		email    string
		wantKind string
		wantText string
	}{
		{name: "OK", email: "ann@example.com", wantKind: "ok"},
		{name: "InvalidEmail", email: "ann@example", wantKind: "permanent", wantText: "400 invalid at /data/attributes/email: Invalid email address."},
		{name: "WrongKey", key: "pk_wrong_SECRET", email: "ann@example.com", wantKind: "permanent", wantText: "401 authentication_failed"},
		{name: "ServerError", outage: klaviyosim.Outage500, email: "ann@example.com", wantKind: "retryable", wantText: "500"},
		{name: "Dropped", outage: klaviyosim.OutageDrop, email: "ann@example.com", wantKind: "retryable", wantText: "EOF"},
		{name: "Timeout", outage: klaviyosim.OutageTimeout, email: "ann@example.com", wantKind: "retryable", wantText: "Timeout"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := klaviyo.Config{APIKey: tt.key}
			if tt.outage == klaviyosim.OutageTimeout {
				cfg.HTTPClient = &http.Client{Timeout: 200 * time.Millisecond}
			}
			e := mustEnv(t, klaviyosim.Options{}, cfg)
			e.sim.SetOutage(tt.outage)
			_, _, err := e.client.UpsertProfile(context.Background(), klaviyo.ProfileUpsert{Attributes: map[string]any{"email": tt.email, "external_id": "c1"}})
			if got := kind(err); got != tt.wantKind {
				t.Fatalf("kind %s (%v), want %s", got, err, tt.wantKind)
			}
			if err != nil && !strings.Contains(err.Error(), tt.wantText) {
				t.Errorf("error %q does not hold %q", err, tt.wantText)
			}
			if err != nil && (strings.Contains(err.Error(), "SECRET") || strings.Contains(err.Error(), "ann@")) {
				t.Errorf("error %q leaks the key or the email", err)
			}
		})
	}
}

func TestClient_NotFoundAndDuplicate(t *testing.T) {
	e := mustEnv(t, klaviyosim.Options{}, klaviyo.Config{})
	ctx := context.Background()
	if _, err := e.client.GetList(ctx, "Nope12"); !klaviyo.IsNotFound(err) || kind(err) != "permanent" {
		t.Fatalf("GetList of a missing list: %v", err)
	}
	other := e.sim.PutProfile(klaviyosim.Profile{Email: "bob@example.com"})
	mine := e.sim.PutProfile(klaviyosim.Profile{ExternalID: "c1"})
	_, _, err := e.client.UpsertProfile(ctx, klaviyo.ProfileUpsert{Attributes: map[string]any{"email": "bob@example.com", "external_id": "c1"}})
	if got := klaviyo.DuplicateProfileID(err); got != other && got != mine || kind(err) != "permanent" {
		t.Fatalf("DuplicateProfileID = %q (%v), want %q or %q", got, err, other, mine)
	}
}

func TestClient_TooManyRequests(t *testing.T) {
	e := mustEnv(t, klaviyosim.Options{SteadyWindow: 3 * time.Second, Limits: map[string]klaviyosim.Limit{"lists": {Burst: 10, Steady: 1}}}, klaviyo.Config{})
	e.sim.AddList("Y6nRLr", "news")
	// Another client on the same account uses up the window, so this
	// client meets a 429 it could not foresee.
	req, _ := http.NewRequest("GET", e.url+"/api/lists/Y6nRLr", nil)
	req.Header.Set("Authorization", "Klaviyo-API-Key "+testKey)
	req.Header.Set("revision", klaviyo.Revision)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	_, err = e.client.GetList(context.Background(), "Y6nRLr")
	var ra *synclayer.RetryAfterError
	if !errors.As(err, &ra) || ra.After < 2*time.Second || ra.After > 3*time.Second {
		t.Fatalf("err %v, want RetryAfter of the window's remaining 3 s", err)
	}
}

func TestClient_RateLimitWait(t *testing.T) {
	tests := []struct {
		name   string
		limit  klaviyosim.Limit
		client map[string]klaviyo.Limit
		calls  int
	}{
		{name: "Steady", limit: klaviyosim.Limit{Burst: 100, Steady: 2}, calls: 4},
		{name: "Burst", limit: klaviyosim.Limit{Burst: 2, Steady: 100}, client: map[string]klaviyo.Limit{"lists": {Burst: 2, Steady: 100}}, calls: 5},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var mu sync.Mutex
			waits := map[string]int{}
			cfg := klaviyo.Config{Limits: tt.client, OnRateLimitWait: func(b string, d time.Duration) { mu.Lock(); waits[b]++; mu.Unlock() }}
			e := mustEnv(t, klaviyosim.Options{SteadyWindow: time.Second, BurstWindow: time.Second, Limits: map[string]klaviyosim.Limit{"lists": tt.limit}}, cfg)
			e.sim.AddList("Y6nRLr", "news")
			var wg sync.WaitGroup
			errs := make(chan error, tt.calls)
			for i := 0; i < tt.calls; i++ {
				wg.Add(1)
				go func() {
					defer wg.Done()
					_, err := e.client.GetList(context.Background(), "Y6nRLr")
					errs <- err
				}()
				if tt.name == "Steady" && i == 0 {
					wg.Wait() // the first answer teaches the client the window
				}
			}
			wg.Wait()
			close(errs)
			for err := range errs {
				if err != nil {
					t.Errorf("GetList: %v", err)
				}
			}
			if n := e.sim.CallCount("GET", "/api/lists/"); n != tt.calls {
				t.Errorf("%d calls reached Klaviyo, want %d (a 429 is retried by nobody here)", n, tt.calls)
			}
			mu.Lock()
			defer mu.Unlock()
			if waits["lists"] == 0 {
				t.Errorf("OnRateLimitWait never called for lists; waits %v", waits)
			}
		})
	}
}
