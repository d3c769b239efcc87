package hubspot_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"synclayer"
	"synclayer/destination/hubspot"
	"synclayer/destination/hubspot/hubspotsim"
	"synclayer/destination/hubspot/hubspotspec"
	"synclayer/secretbox"
	"synclayer/store"
)

const (
	testClientID     = "a1b2c3d4-client"
	testClientSecret = "client-secret-do-not-log"
	testRefresh      = "rt-seed-do-not-log"
)

// clock is a settable time shared by the simulator and the client.
type clock struct{ ns atomic.Int64 }

func newClock() *clock {
	c := &clock{}
	c.ns.Store(time.Date(2026, 12, 1, 9, 0, 0, 0, time.UTC).UnixNano())
	return c
}
func (c *clock) Now() time.Time          { return time.Unix(0, c.ns.Load()).UTC() }
func (c *clock) Advance(d time.Duration) { c.ns.Add(int64(d)) }

// oauthEnv is a simulator with an OAuth app and a real SQLite store whose
// tokens are sealed, as the program wires them.
type oauthEnv struct {
	sim    *hubspotsim.Server
	url    string
	dbPath string
	db     *store.DB
	key    []byte
	clock  *clock
}

func newKey(tb testing.TB) []byte {
	tb.Helper()
	k := make([]byte, 32)
	rand.Read(k)
	return k
}

func newOAuthEnv(tb testing.TB, app hubspotsim.OAuthApp) *oauthEnv {
	tb.Helper()
	e := &oauthEnv{clock: newClock(), key: newKey(tb), dbPath: filepath.Join(tb.TempDir(), "synclayer.db")}
	app.ClientID, app.ClientSecret, app.RefreshToken = testClientID, testClientSecret, testRefresh
	e.sim = hubspotsim.New(hubspotsim.Options{OAuth: &app, Now: e.clock.Now, Validate: hubspotspec.Load(tb).Validate})
	srv := httptest.NewServer(e.sim)
	e.url = srv.URL + "/simulator/hubspot"
	e.open(tb)
	tb.Cleanup(func() {
		srv.Close()
		e.db.Close()
		for _, v := range e.sim.Violations() {
			tb.Errorf("request violates HubSpot's spec: %s", v)
		}
	})
	return e
}

// open (re)opens the store, as a restart does.
func (e *oauthEnv) open(tb testing.TB) {
	tb.Helper()
	if e.db != nil {
		e.db.Close()
	}
	db, err := store.Open(context.Background(), "sqlite", e.dbPath)
	if err != nil {
		tb.Fatal(err)
	}
	e.db = db
}

func (e *oauthEnv) tokens(tb testing.TB, key []byte) synclayer.TokenStore {
	tb.Helper()
	box, err := secretbox.New(key)
	if err != nil {
		tb.Fatal(err)
	}
	return &secretbox.Tokens{Store: e.db, Box: box}
}

func (e *oauthEnv) section() json.RawMessage {
	b, _ := json.Marshal(map[string]any{"base_url": e.url, "oauth": map[string]string{
		"client_id": testClientID, "client_secret": testClientSecret, "refresh_token": testRefresh}})
	return b
}

// client opens the destination as the server does and returns its client.
func (e *oauthEnv) client(tb testing.TB) *hubspot.Client {
	tb.Helper()
	d, err := hubspot.Open("hubspot", e.section(), synclayer.DestinationEnv{Tokens: e.tokens(tb, e.key)})
	if err != nil {
		tb.Fatal(err)
	}
	c := d.(*hubspot.Destination).Client()
	c.SetNow(e.clock.Now)
	return c
}

func listProps(tb testing.TB, c *hubspot.Client) error {
	tb.Helper()
	_, err := c.ListContactProperties(context.Background())
	return err
}

func TestOAuth_RefreshesBeforeExpiry(t *testing.T) {
	t.Parallel()
	e := newOAuthEnv(t, hubspotsim.OAuthApp{})
	c := e.client(t)
	if err := listProps(t, c); err != nil {
		t.Fatal(err)
	}
	if n := e.sim.TokenRefreshes(); n != 1 {
		t.Fatalf("refreshes after the first call = %d, want 1", n)
	}
	e.clock.Advance(20 * time.Minute) // 10 minutes left: no refresh yet
	if err := listProps(t, c); err != nil || e.sim.TokenRefreshes() != 1 {
		t.Fatalf("at 20 of 30 minutes: err %v, refreshes %d; want the same token", err, e.sim.TokenRefreshes())
	}
	e.clock.Advance(8 * time.Minute) // 2 minutes left: inside the 3-minute margin
	if err := listProps(t, c); err != nil {
		t.Fatal(err)
	}
	if n := e.sim.TokenRefreshes(); n != 2 {
		t.Fatalf("refreshes at 28 of 30 minutes = %d, want 2 (refreshed before expiry)", n)
	}
	for _, call := range e.sim.Calls() {
		if call.Status == 401 {
			t.Errorf("%s %s was answered 401: the token was not refreshed in time", call.Method, call.Path)
		}
	}
}

func TestOAuth_401RefreshesOnceAndRetries(t *testing.T) {
	t.Parallel()
	e := newOAuthEnv(t, hubspotsim.OAuthApp{})
	c := e.client(t)
	if err := listProps(t, c); err != nil {
		t.Fatal(err)
	}
	e.sim.ExpireAccessTokens() // HubSpot expired it early
	if err := listProps(t, c); err != nil {
		t.Fatalf("after an early expiry: %v", err)
	}
	if n := e.sim.TokenRefreshes(); n != 2 {
		t.Errorf("refreshes = %d, want 2", n)
	}
	var unauthorized int
	for _, call := range e.sim.Calls() {
		if call.Status == 401 {
			unauthorized++
		}
	}
	if unauthorized != 1 {
		t.Errorf("401 answers = %d, want 1 (one retry after one refresh)", unauthorized)
	}
}

func TestOAuth_ConcurrentRequestsShareOneRefresh(t *testing.T) {
	t.Parallel()
	e := newOAuthEnv(t, hubspotsim.OAuthApp{})
	c := e.client(t)
	var wg sync.WaitGroup
	errs := make(chan error, 16)
	for range 16 {
		wg.Add(1)
		go func() { defer wg.Done(); errs <- listProps(t, c) }()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Error(err)
		}
	}
	if n := e.sim.TokenRefreshes(); n != 1 {
		t.Fatalf("16 concurrent calls made %d refreshes, want 1", n)
	}
}

func TestOAuth_RevokedGrantIsPermanent(t *testing.T) {
	t.Parallel()
	e := newOAuthEnv(t, hubspotsim.OAuthApp{})
	c := e.client(t)
	e.sim.Revoke(testRefresh)
	err := listProps(t, c)
	var perm *synclayer.PermanentError
	if !errors.As(err, &perm) {
		t.Fatalf("err = %v, want a permanent error", err)
	}
	msg := err.Error()
	for _, want := range []string{"BAD_REFRESH_TOKEN", "reconnect the app", "destinations.hubspot.oauth.refresh_token"} {
		if !strings.Contains(msg, want) {
			t.Errorf("error %q does not say %q", msg, want)
		}
	}
	for _, secret := range []string{testRefresh, testClientSecret} {
		if strings.Contains(msg, secret) {
			t.Errorf("error %q carries a secret", msg)
		}
	}
	before := len(e.sim.Calls())
	if err := listProps(t, c); !errors.As(err, &perm) {
		t.Fatalf("second call: err = %v, want the same permanent error", err)
	}
	if n := len(e.sim.Calls()) - before; n != 0 {
		t.Errorf("a refused grant was tried again: %d more requests", n)
	}
}

func TestOAuth_TokensAreSealedAndSurviveARestart(t *testing.T) {
	t.Parallel()
	e := newOAuthEnv(t, hubspotsim.OAuthApp{RotateRefreshTokens: true})
	if err := listProps(t, e.client(t)); err != nil {
		t.Fatal(err)
	}
	live := e.sim.RefreshTokens()
	if len(live) != 1 || live[0] == testRefresh {
		t.Fatalf("live refresh tokens = %q, want one rotated token", live)
	}
	e.db.Close()
	file, err := os.ReadFile(e.dbPath)
	if err != nil {
		t.Fatal(err)
	}
	wal, _ := os.ReadFile(e.dbPath + "-wal")
	for _, secret := range []string{live[0], testRefresh, testClientSecret, "sim-at-"} {
		if bytes.Contains(file, []byte(secret)) || bytes.Contains(wal, []byte(secret)) {
			t.Errorf("the database file holds %q in plaintext", secret)
		}
	}
	e.db = nil
	e.open(t) // restart
	if err := listProps(t, e.client(t)); err != nil {
		t.Fatalf("after a restart: %v", err)
	}
	if n := e.sim.TokenRefreshes(); n != 1 {
		t.Errorf("refreshes after a restart = %d, want 1: the stored access token is reused", n)
	}
	e.clock.Advance(31 * time.Minute)
	e.db.Close()
	e.db = nil
	e.open(t)
	if err := listProps(t, e.client(t)); err != nil {
		t.Fatalf("after a restart past expiry: %v (the rotated refresh token was not kept)", err)
	}
	if n := e.sim.TokenRefreshes(); n != 2 {
		t.Errorf("refreshes = %d, want 2", n)
	}
}

func TestOAuth_WrongKeyRefusesToStart(t *testing.T) {
	t.Parallel()
	e := newOAuthEnv(t, hubspotsim.OAuthApp{})
	if err := listProps(t, e.client(t)); err != nil {
		t.Fatal(err)
	}
	_, err := hubspot.Open("hubspot", e.section(), synclayer.DestinationEnv{Tokens: e.tokens(t, newKey(t))})
	var fe *synclayer.Error
	if !errors.As(err, &fe) || fe.Field != "oauth" || !strings.Contains(err.Error(), secretbox.KeyID(e.key)) || !strings.Contains(err.Error(), "SYNCLAYER_ENCRYPTION_KEY") {
		t.Fatalf("err = %v, want an oauth error naming the key ID it was sealed with and SYNCLAYER_ENCRYPTION_KEY", err)
	}
}

func TestOAuth_NewSeedTakesOver(t *testing.T) {
	t.Parallel()
	e := newOAuthEnv(t, hubspotsim.OAuthApp{})
	if err := listProps(t, e.client(t)); err != nil {
		t.Fatal(err)
	}
	// The app is reinstalled: the old grant is revoked, a new one configured.
	e.sim.Revoke(testRefresh)
	e.sim.AddRefreshToken("rt-reconnected")
	e.clock.Advance(time.Hour)
	section := bytes.Replace(e.section(), []byte(testRefresh), []byte("rt-reconnected"), 1)
	d, err := hubspot.Open("hubspot", section, synclayer.DestinationEnv{Tokens: e.tokens(t, e.key)})
	if err != nil {
		t.Fatal(err)
	}
	c := d.(*hubspot.Destination).Client()
	c.SetNow(e.clock.Now)
	if err := listProps(t, c); err != nil {
		t.Fatalf("with the reconnected grant: %v", err)
	}
}

func TestOpen_OAuthSettings(t *testing.T) {
	t.Parallel()
	env := synclayer.DestinationEnv{Tokens: &secretbox.Tokens{}}
	for _, tc := range []struct{ name, section, field, want string }{
		{"BothAuths", `{"access_token":"pat-x","oauth":{"client_id":"c","client_secret":"s","refresh_token":"r"}}`, "oauth", "access_token"},
		{"NoClientSecret", `{"oauth":{"client_id":"c","refresh_token":"r"}}`, "oauth.client_secret", "not set"},
		{"UnknownKey", `{"oauth":{"client_id":"c","client_secret":"s","refresh":"r"}}`, "", "refresh"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := hubspot.Open("hubspot", json.RawMessage(tc.section), env)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err = %v, want %q", err, tc.want)
			}
			if tc.field == "" {
				return
			}
			var fe *synclayer.Error
			found := false
			for _, e := range unjoin(err) {
				if errors.As(e, &fe) && fe.Field == tc.field {
					found = true
				}
			}
			if !found {
				t.Errorf("err = %v, want a FieldError on %s", err, tc.field)
			}
		})
	}
	t.Run("NoStore", func(t *testing.T) {
		_, err := hubspot.Open("hubspot", json.RawMessage(`{"oauth":{"client_id":"c","client_secret":"s","refresh_token":"r"}}`), synclayer.DestinationEnv{})
		if err == nil || !strings.Contains(err.Error(), "synclayer serve") {
			t.Fatalf("err = %v, want OAuth refused without a store", err)
		}
	})
	if !strings.Contains(strings.Join(hubspot.Type.SecretKeys, " "), "oauth.client_secret") || hubspot.Type.SecretKeys[0] != "access_token" {
		t.Errorf("SecretKeys = %q", hubspot.Type.SecretKeys)
	}
}

func unjoin(err error) []error {
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		return j.Unwrap()
	}
	return []error{err}
}

// The simulator's token endpoint answers as HubSpot's v3 OAuth spec
// allows: the 200 AccessTokenResponse and the 400 Error alike.
func TestSimulator_TokenAnswersMatchTheSpec(t *testing.T) {
	t.Parallel()
	e := newOAuthEnv(t, hubspotsim.OAuthApp{})
	v := hubspotspec.Load(t)
	for _, tc := range []struct {
		name, refresh string
		status        int
	}{
		{"Granted", testRefresh, 200},
		{"BadRefreshToken", "rt-unknown", 400},
	} {
		t.Run(tc.name, func(t *testing.T) {
			form := url.Values{"grant_type": {"refresh_token"}, "client_id": {testClientID}, "client_secret": {testClientSecret}, "refresh_token": {tc.refresh}}
			req, _ := http.NewRequest("POST", e.url+hubspot.TokenPath, strings.NewReader(form.Encode()))
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != tc.status {
				t.Fatalf("status %d, want %d: %s", resp.StatusCode, tc.status, body)
			}
			req.URL.Path = hubspot.TokenPath
			if err := v.ValidateResponse(req, resp.StatusCode, resp.Header, body); err != nil {
				t.Errorf("the simulator's answer violates HubSpot's spec: %v\n%s", err, body)
			}
			if tc.status == 400 && !strings.Contains(string(body), `"status":"BAD_REFRESH_TOKEN"`) {
				t.Errorf("body %s does not say BAD_REFRESH_TOKEN", body)
			}
		})
	}
}

// Two instances on one database: the second takes the first's access
// token instead of refreshing, and after an early expiry takes the
// refresh the first made, rather than refreshing with a refresh token
// the first's refresh rotated away.
func TestOAuth_InstancesShareTheStoredGrant(t *testing.T) {
	t.Parallel()
	e := newOAuthEnv(t, hubspotsim.OAuthApp{RotateRefreshTokens: true})
	a, b := e.client(t), e.client(t)
	if err := listProps(t, a); err != nil {
		t.Fatal(err)
	}
	if err := listProps(t, b); err != nil {
		t.Fatal(err)
	}
	if n := e.sim.TokenRefreshes(); n != 1 {
		t.Fatalf("refreshes for two instances = %d, want 1", n)
	}
	e.sim.ExpireAccessTokens()
	if err := listProps(t, a); err != nil {
		t.Fatal(err)
	}
	if err := listProps(t, b); err != nil {
		t.Fatalf("the second instance after the first rotated the refresh token: %v", err)
	}
	if n := e.sim.TokenRefreshes(); n != 2 {
		t.Errorf("refreshes = %d, want 2", n)
	}
	e.clock.Advance(40 * time.Minute) // both expired; each refreshes in turn from the newest refresh token
	if err := listProps(t, b); err != nil {
		t.Fatal(err)
	}
	if err := listProps(t, a); err != nil {
		t.Fatalf("the first instance after the second rotated: %v", err)
	}
	if n := e.sim.TokenRefreshes(); n != 3 {
		t.Errorf("refreshes = %d, want 3", n)
	}
}
