package mailchimp_test

import (
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"synclayer"
	"synclayer/destination/mailchimp"
	"synclayer/destination/mailchimp/mailchimpsim"
	"synclayer/destination/mailchimp/mailchimpspec"
)

const (
	testKey  = "0123456789abcdef0123456789abcdef-us21"
	audience = "a1b2c3d4e5"
)

var keySeq struct {
	sync.Mutex
	n int
}

// uniqueKey returns a fresh API key, so each test has connection slots
// of its own (slots are shared per key across the process).
func uniqueKey() string {
	keySeq.Lock()
	defer keySeq.Unlock()
	keySeq.n++
	return strings.Repeat("k", keySeq.n) + "-us21"
}

type env struct {
	base   string
	sim    *mailchimpsim.Server
	client *mailchimp.Client
	key    string
	waits  *waitLog
}

type waitLog struct {
	sync.Mutex
	n int
}

func (w *waitLog) add(string, time.Duration) { w.Lock(); w.n++; w.Unlock() }
func (w *waitLog) count() int                { w.Lock(); defer w.Unlock(); return w.n }

// mustEnv starts a simulator validating every request and answer against
// the vendored spec, and a client for it. At cleanup it fails tb if the
// spec rejected any request.
func mustEnv(tb testing.TB, so mailchimpsim.Options, cfg mailchimp.Config) *env {
	tb.Helper()
	v := mailchimpspec.Load(tb)
	key := uniqueKey()
	if so.APIKey == "" {
		so.APIKey = key
	}
	so.Validate = v.Validate
	sim := mailchimpsim.New(so)
	sim.AddAudience(audience, "FNAME", "LNAME", "PHONE:phone", "ORDERS:number", "SPENT:number", "LASTORDER:date", "TIER")
	var respMu sync.Mutex
	var respErrs []string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rec := httptest.NewRecorder()
		sim.ServeHTTP(rec, r)
		// An unanswered request (an outage that never answers) has nothing to check.
		if rec.Code != 0 && r.Header.Get("Authorization") != "" && r.Context().Err() == nil {
			if err := v.ValidateResponse(r, rec.Code, rec.Header(), rec.Body.Bytes()); err != nil {
				respMu.Lock()
				respErrs = append(respErrs, err.Error())
				respMu.Unlock()
			}
		}
		for k, vs := range rec.Header() {
			w.Header()[k] = vs
		}
		w.WriteHeader(rec.Code)
		w.Write(rec.Body.Bytes())
	}))
	tb.Cleanup(srv.Close)
	tb.Cleanup(func() {
		if vs := sim.Violations(); len(vs) > 0 {
			tb.Errorf("requests the spec rejects:\n%s", strings.Join(vs, "\n"))
		}
		respMu.Lock()
		defer respMu.Unlock()
		if len(respErrs) > 0 {
			tb.Errorf("answers the spec rejects:\n%s", strings.Join(respErrs, "\n"))
		}
	})
	if cfg.APIKey == "" {
		cfg.APIKey = key
	}
	cfg.BaseURL = srv.URL + "/3.0"
	if cfg.Backoff == 0 {
		cfg.Backoff = 5 * time.Millisecond
	}
	w := &waitLog{}
	cfg.OnRateLimitWait = w.add
	c, err := mailchimp.New(cfg)
	if err != nil {
		tb.Fatal(err)
	}
	return &env{base: cfg.BaseURL, sim: sim, client: c, key: key, waits: w}
}

func isPermanent(err error) bool {
	var p *synclayer.PermanentError
	return errorsAs(err, &p)
}

func retryAfter(err error) (time.Duration, bool) {
	var r *synclayer.RetryAfterError
	if errorsAs(err, &r) {
		return r.After, true
	}
	return 0, false
}

func raw(v any) json.RawMessage { b, _ := json.Marshal(v); return b }

var errorsAs = errors.As

func (e *env) clientBase(testing.TB) string { return e.base }

func mailchimpOptions() mailchimpsim.Options { return mailchimpsim.Options{} }
