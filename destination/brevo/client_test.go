package brevo_test

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
	"synclayer/destination/brevo"
	"synclayer/destination/brevo/brevosim"
	"synclayer/destination/brevo/brevospec"
)

const testKey = "xkeysib-0123456789abcdef-SECRET"

// env is a client wired to a simulator that validates every request
// against Brevo's OpenAPI spec.
type env struct {
	sim    *brevosim.Server
	client *brevo.Client
	logs   *syncBuffer
	url    string
}

type envOption func(*brevosim.Options, *brevo.Config, *func(http.Handler) http.Handler)

// mustEnv starts a simulator and a client for it. At cleanup it fails tb if
// the simulator saw a request the spec does not allow.
func mustEnv(tb testing.TB, opts ...envOption) *env {
	tb.Helper()
	so := brevosim.Options{APIKey: testKey, Validate: brevospec.Load(tb).Validate}
	logs := &syncBuffer{}
	cfg := brevo.Config{
		APIKey: testKey,
		Logger: slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug})),
	}
	wrap := func(h http.Handler) http.Handler { return h }
	for _, o := range opts {
		o(&so, &cfg, &wrap)
	}
	sim := brevosim.New(so)
	srv := httptest.NewServer(wrap(sim))
	tb.Cleanup(srv.Close)
	tb.Cleanup(func() {
		if v := sim.Violations(); len(v) != 0 {
			tb.Errorf("requests the spec rejects:\n%s", strings.Join(v, "\n"))
		}
	})
	if cfg.BaseURL == "" {
		cfg.BaseURL = srv.URL + "/v3"
	}
	return &env{sim: sim, client: brevo.New(cfg), logs: logs, url: srv.URL}
}

func withSim(f func(*brevosim.Options)) envOption {
	return func(o *brevosim.Options, _ *brevo.Config, _ *func(http.Handler) http.Handler) { f(o) }
}

func withConfig(f func(*brevo.Config)) envOption {
	return func(_ *brevosim.Options, c *brevo.Config, _ *func(http.Handler) http.Handler) { f(c) }
}

func withMiddleware(m func(http.Handler) http.Handler) envOption {
	return func(_ *brevosim.Options, _ *brevo.Config, w *func(http.Handler) http.Handler) { *w = m }
}

// syncBuffer is a bytes.Buffer safe for concurrent writers.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func ptr[T any](v T) *T { return &v }

func mustCreate(tb testing.TB, e *env, r brevo.CreateContactRequest) {
	tb.Helper()
	if _, err := e.client.CreateContact(context.Background(), r); err != nil {
		tb.Fatalf("CreateContact: %v", err)
	}
}

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

func apiError(err error) *brevo.APIError {
	var e *brevo.APIError
	if errors.As(err, &e) {
		return e
	}
	return nil
}

func TestClient_Errors(t *testing.T) {
	t.Parallel()
	ctx := context.Background()

	t.Run("Unauthorized", func(t *testing.T) {
		t.Parallel()
		e := mustEnv(t, withConfig(func(c *brevo.Config) { c.APIKey = "xkeysib-wrong-SECRET" }))
		_, err := e.client.CreateContact(ctx, brevo.CreateContactRequest{Email: "a@example.com"})
		if kind(err) != "permanent" || apiError(err) == nil || apiError(err).Code != "unauthorized" {
			t.Fatalf("err = %v (%s), want permanent unauthorized", err, kind(err))
		}
		if strings.Contains(err.Error(), "SECRET") {
			t.Errorf("error holds the api key: %v", err)
		}
	})

	t.Run("ServerError", func(t *testing.T) {
		t.Parallel()
		e := mustEnv(t)
		e.sim.SetOutage(brevosim.Outage500)
		err := e.client.UpdateContact(ctx, "c1", brevo.IdentifierExtID, brevo.UpdateContactRequest{Attributes: map[string]any{"FIRSTNAME": "A"}})
		if kind(err) != "retryable" || apiError(err) == nil || apiError(err).Status != 500 {
			t.Fatalf("err = %v (%s), want retryable 500", err, kind(err))
		}
	})

	t.Run("ConnectionDropped", func(t *testing.T) {
		t.Parallel()
		e := mustEnv(t)
		e.sim.SetOutage(brevosim.OutageDrop)
		_, err := e.client.CreateContact(ctx, brevo.CreateContactRequest{Email: "drop@example.com"})
		if kind(err) != "retryable" || apiError(err) != nil {
			t.Fatalf("err = %v (%s), want a retryable network error", err, kind(err))
		}
		if e.sim.CallCount("POST", "/contacts") == 0 {
			t.Fatal("the request never reached the simulator")
		}
	})

	t.Run("Timeout", func(t *testing.T) {
		t.Parallel()
		e := mustEnv(t, withConfig(func(c *brevo.Config) { c.HTTPClient = &http.Client{Timeout: 200 * time.Millisecond} }))
		e.sim.SetOutage(brevosim.OutageTimeout)
		err := e.client.UpdateContact(ctx, "who@example.com", brevo.IdentifierEmail, brevo.UpdateContactRequest{ExtID: "x"})
		if kind(err) != "retryable" || apiError(err) != nil {
			t.Fatalf("err = %v (%s), want a retryable timeout", err, kind(err))
		}
		if strings.Contains(err.Error(), "who") {
			t.Errorf("error holds the identifier: %v", err)
		}
	})

	for _, tc := range []struct {
		name  string
		reset string // "" removes the header
		want  time.Duration
	}{
		{"TooManyRequests", "7", 7 * time.Second},
		{"TooManyRequestsNoReset", "", time.Second},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			frozen := time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC) // the window never ends
			e := mustEnv(t, withSim(func(o *brevosim.Options) {
				o.RateLimit = 1
				o.Now = func() time.Time { return frozen }
			}),
				withMiddleware(func(h http.Handler) http.Handler {
					return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
						h.ServeHTTP(&resetWriter{ResponseWriter: w, reset: tc.reset}, r)
					})
				}))
			// Another client of the same account uses up the window, so
			// this one's first request meets the 429.
			other := brevo.New(brevo.Config{APIKey: testKey, BaseURL: e.url})
			mustCreateWith(t, other, brevo.CreateContactRequest{Email: "first@example.com"})
			_, err := e.client.CreateContact(ctx, brevo.CreateContactRequest{Email: "second@example.com"})
			var ra *synclayer.RetryAfterError
			if !errors.As(err, &ra) || apiError(err) == nil || apiError(err).Status != 429 {
				t.Fatalf("err = %v (%s), want RetryAfter wrapping a 429", err, kind(err))
			}
			if ra.After != tc.want {
				t.Errorf("RetryAfter = %v, want %v", ra.After, tc.want)
			}
		})
	}
}

func mustCreateWith(tb testing.TB, c *brevo.Client, r brevo.CreateContactRequest) {
	tb.Helper()
	if _, err := c.CreateContact(context.Background(), r); err != nil {
		tb.Fatalf("CreateContact: %v", err)
	}
}

// resetWriter rewrites x-sib-ratelimit-reset on 429 answers.
type resetWriter struct {
	http.ResponseWriter
	reset string
}

func (w *resetWriter) WriteHeader(code int) {
	if code == http.StatusTooManyRequests {
		if w.reset == "" {
			w.Header().Del("x-sib-ratelimit-reset")
		} else {
			w.Header().Set("x-sib-ratelimit-reset", w.reset)
		}
	}
	w.ResponseWriter.WriteHeader(code)
}

func TestClient_Secrets(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	e := mustEnv(t)
	email, phone, first := "Secret.Person+tag@example.com", "+33612345678", "Hortense"
	mustCreate(t, e, brevo.CreateContactRequest{Email: email, ExtID: "ext-42", Attributes: map[string]any{"SMS": phone, "FIRSTNAME": first}})

	var errs []error
	_, err := e.client.CreateContact(ctx, brevo.CreateContactRequest{Email: email})
	errs = append(errs, err) // duplicate
	errs = append(errs, e.client.UpdateContact(ctx, "nobody@example.com", brevo.IdentifierEmail, brevo.UpdateContactRequest{Attributes: map[string]any{"FIRSTNAME": first}}))
	errs = append(errs, e.client.DeleteContact(ctx, "+33699999999", brevo.IdentifierPhone))
	if _, err := e.client.GetContact(ctx, email, brevo.IdentifierEmail); err != nil {
		t.Fatalf("GetContact: %v", err)
	}
	e.sim.SetOutage(brevosim.OutageDrop)
	errs = append(errs, e.client.UpdateContact(ctx, email, brevo.IdentifierEmail, brevo.UpdateContactRequest{}))

	for _, c := range e.sim.Calls() {
		if got := c.Header.Get("api-key"); got != testKey {
			t.Errorf("%s %s: api-key header = %q", c.Method, c.Path, got)
		}
	}
	logs := e.logs.String()
	if !strings.Contains(logs, "brevo request") || !strings.Contains(logs, "/contacts/{identifier}") {
		t.Fatalf("no request log lines:\n%s", logs)
	}
	secrets := []string{"SECRET", strings.ToLower(email), "Secret.Person", "%40", "612345678", first, "nobody", "699999999", "ext-42"}
	for _, s := range secrets {
		if strings.Contains(logs, s) {
			t.Errorf("logs hold %q:\n%s", s, logs)
		}
	}
	for i, err := range errs {
		if err == nil {
			t.Errorf("errs[%d] = nil, want an error", i)
			continue
		}
		for _, s := range secrets[:1] {
			if strings.Contains(err.Error(), s) {
				t.Errorf("error holds %q: %v", s, err)
			}
		}
		for _, s := range []string{"Secret.Person", "%40", "nobody", "699999999"} {
			if strings.Contains(err.Error(), s) {
				t.Errorf("error holds identifier %q: %v", s, err)
			}
		}
	}
}
