package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"synclayer"
	"synclayer/destination/hubspot"
	"synclayer/destination/hubspot/hubspotsim"
	"synclayer/destination/hubspot/hubspotspec"
	"synclayer/secretbox"
)

const (
	oauthClientSecret = "hs-client-secret-e2e"
	oauthSeed         = "hs-refresh-seed-e2e"
)

// oauthEnv is a HubSpot simulator with an OAuth app installed, and the
// config of a server delivering customer-sync to it with that app.
type oauthEnv struct {
	sim *hubspotsim.Server
	cfg func() *Config // a fresh config on the same storage
	key []byte
}

func newEncryptionKey(t *testing.T) []byte {
	t.Helper()
	k := make([]byte, 32)
	rand.Read(k)
	return k
}

func newOAuthEnv(t *testing.T, storage envOption) *oauthEnv {
	t.Helper()
	sim := hubspotsim.New(hubspotsim.Options{Validate: hubspotspec.Load(t).Validate,
		OAuth: &hubspotsim.OAuthApp{ClientID: "hs-client-e2e", ClientSecret: oauthClientSecret, RefreshToken: oauthSeed}})
	hs := httptest.NewServer(sim)
	t.Cleanup(func() {
		hs.Close()
		for _, v := range sim.Violations() {
			t.Errorf("request violates HubSpot's spec: %s", v)
		}
	})
	dsn := filepath.Join(t.TempDir(), "synclayer.db")
	var st StorageConfig
	if storage != nil {
		c := &Config{}
		storage(c)
		st = c.Storage
	} else {
		st = StorageConfig{Driver: "sqlite", DSN: dsn}
	}
	conf := simTarget(sim)
	return &oauthEnv{sim: sim, key: newEncryptionKey(t), cfg: func() *Config {
		return &Config{
			Server:  ServerConfig{Listen: "127.0.0.1:0"},
			Storage: st,
			Sources: map[string]*SourceConfig{"shopify": {Secret: shopifySecret}},
			Destinations: map[string]*DestinationSection{"hubspot": {Settings: map[string]any{
				"base_url": hs.URL + "/simulator/hubspot",
				"oauth":    map[string]any{"client_id": "hs-client-e2e", "client_secret": oauthClientSecret, "refresh_token": oauthSeed},
			}}},
			Skills: SkillsConfig{CustomerSync: &CustomerSyncConfig{Enabled: true, Source: StringList{"shopify"},
				Destination: "hubspot", FieldMapping: conf.mapping, Options: CustomerSyncOptions{Extra: conf.options}}},
			Queue: QueueConfig{Poll: 50 * time.Millisecond},
			Log:   LogConfig{Level: "debug"}, // every request logged, and still no secret
		}
	}}
}

type simConf struct {
	mapping map[string]string
	options map[string]any
}

// simTarget is the mapping and options the conformance suite uses on
// HubSpot's simulator.
func simTarget(sim *hubspotsim.Server) simConf {
	return simConf{
		mapping: map[string]string{"email": "email", "firstName": "firstname", "lastName": "lastname"},
		options: map[string]any{"subscription_id": hubspotsim.DefaultSubscription, "legal_basis": "CONSENT_WITH_NOTICE",
			"legal_basis_explanation": "opted in to email marketing at the store"},
	}
}

// start runs a server on e's storage with key; it is closed at the end
// of the test unless the test closes it first.
func (e *oauthEnv) start(t *testing.T, key []byte) (*env, error) {
	t.Helper()
	cfg := e.cfg()
	if err := cfg.finish(nil); err != nil {
		t.Fatal(err)
	}
	var logs bytes.Buffer
	sw := &syncWriter{w: &logs}
	m := &Main{Config: cfg, Stderr: sw, EncryptionKey: key}
	if err := m.Run(context.Background()); err != nil {
		return nil, err
	}
	t.Cleanup(func() {
		m.Close()
		if t.Failed() {
			t.Logf("server log:\n%s", logs.String())
		}
	})
	return &env{t: t, m: m, base: "http://" + m.Addr, logs: sw}, nil
}

func (e *oauthEnv) mustStart(t *testing.T, key []byte) *env {
	t.Helper()
	s, err := e.start(t, key)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func (e *oauthEnv) firstName(t *testing.T, email string) string {
	t.Helper()
	c, ok := e.sim.Contact(email)
	if !ok {
		t.Fatalf("%s is not in HubSpot", email)
	}
	return c.Properties["firstname"]
}

func refusedTokenCalls(sim *hubspotsim.Server) int {
	n := 0
	for _, c := range sim.Calls() {
		if strings.Contains(c.Path, "/oauth/") && c.Status != 200 {
			n++
		}
	}
	return n
}

func deadJobs(t *testing.T, s *env) []*synclayer.Job {
	t.Helper()
	jobs, err := s.m.DB.FindJobs(context.Background(), synclayer.JobFilter{State: synclayer.JobDead})
	if err != nil {
		t.Fatal(err)
	}
	return jobs
}

// An access token that expired between two deliveries is refreshed, and
// the delivery that met the 401 is made, not lost; a restart reuses the
// stored tokens instead of refreshing.
func testOAuthExpiredToken(t *testing.T, storage envOption) {
	e := newOAuthEnv(t, storage)
	s := e.mustStart(t, e.key)
	if st, reply := s.shopify("customers/update", shopifyCustomer(1, "ada@example.com", "Ada", 1, "subscribed", 1)); st != 200 {
		t.Fatalf("webhook: %d %v", st, reply)
	}
	s.waitIdle(20 * time.Second)
	if got := e.firstName(t, "ada@example.com"); got != "Ada" {
		t.Fatalf("firstname = %q", got)
	}
	if n := e.sim.TokenRefreshes(); n != 1 {
		t.Fatalf("refreshes = %d, want 1", n)
	}

	e.sim.ExpireAccessTokens()
	if st, _ := s.shopify("customers/update", shopifyCustomer(1, "ada@example.com", "Augusta", 2, "subscribed", 1)); st != 200 {
		t.Fatal("webhook refused")
	}
	s.waitIdle(20 * time.Second)
	if got := e.firstName(t, "ada@example.com"); got != "Augusta" {
		t.Fatalf("after the access token expired: firstname = %q, want the delivery made", got)
	}
	if n := e.sim.TokenRefreshes(); n != 2 {
		t.Errorf("refreshes = %d, want 2", n)
	}
	if dead := deadJobs(t, s); len(dead) != 0 {
		t.Errorf("dead-lettered: %v", dead[0].LastError)
	}

	s.m.Close()
	s = e.mustStart(t, e.key) // restart: the stored access token is still live
	s.n.Store(100)            // webhook IDs the first run did not see
	if st, _ := s.shopify("customers/update", shopifyCustomer(1, "ada@example.com", "Ada L.", 3, "subscribed", 1)); st != 200 {
		t.Fatal("webhook refused")
	}
	s.waitIdle(20 * time.Second)
	if got := e.firstName(t, "ada@example.com"); got != "Ada L." {
		t.Fatalf("after a restart: firstname = %q", got)
	}
	if n := e.sim.TokenRefreshes(); n != 2 {
		t.Errorf("refreshes after a restart = %d, want still 2: the stored token is reused", n)
	}
	if !strings.Contains(s.logs.String(), "hubspot request") {
		t.Error("no debug line of HubSpot's requests: the log check below checks nothing")
	}
	for _, secret := range []string{oauthSeed, oauthClientSecret, "sim-at-"} {
		if strings.Contains(s.logs.String(), secret) {
			t.Errorf("the log holds %q", secret)
		}
	}
}

func TestHubSpotOAuth_ExpiredAccessTokenIsRefreshed(t *testing.T) {
	t.Parallel()
	testOAuthExpiredToken(t, nil)
}

func TestHubSpotOAuth_ExpiredAccessTokenIsRefreshed_Postgres(t *testing.T) {
	t.Parallel()
	testOAuthExpiredToken(t, withPostgres(t))
}

// A grant revoked in HubSpot dead-letters the delivery at its first
// attempt, saying to reconnect the app, and the refused refresh token
// is not tried again.
func TestHubSpotOAuth_RevokedGrantDeadLetters(t *testing.T) {
	t.Parallel()
	e := newOAuthEnv(t, nil)
	s := e.mustStart(t, e.key)
	// The app is uninstalled: the refresh token is revoked, and the access
	// token the server got at start runs out.
	e.sim.Revoke(oauthSeed)
	e.sim.ExpireAccessTokens()
	for i, email := range []string{"ada@example.com", "grace@example.com"} {
		if st, _ := s.shopify("customers/update", shopifyCustomer(int64(i+1), email, "X", 1, "subscribed", 1)); st != 200 {
			t.Fatal("webhook refused")
		}
	}
	s.waitIdle(20 * time.Second)
	dead := deadJobs(t, s)
	if len(dead) != 2 {
		counts, _ := s.m.DB.CountJobs(context.Background())
		t.Fatalf("dead jobs = %d, want 2; jobs %v", len(dead), counts)
	}
	t.Logf("dead-letter reason: %s", dead[0].LastError)
	for _, j := range dead {
		if j.Attempts != 1 {
			t.Errorf("job %d dead after %d attempts, want 1: a revoked grant is permanent", j.ID, j.Attempts)
		}
		for _, want := range []string{"BAD_REFRESH_TOKEN", "reconnect the app", "destinations.hubspot.oauth.refresh_token"} {
			if !strings.Contains(j.LastError, want) {
				t.Errorf("reason %q does not say %q", j.LastError, want)
			}
		}
		if strings.Contains(j.LastError, oauthSeed) || strings.Contains(j.LastError, oauthClientSecret) {
			t.Errorf("reason %q carries a secret", j.LastError)
		}
	}
	if n := refusedTokenCalls(e.sim); n != 1 {
		t.Errorf("refused token requests = %d, want 1: a refused grant is not tried again", n)
	}
	if _, ok := e.sim.Contact("ada@example.com"); ok {
		t.Error("a contact reached HubSpot without a token")
	}
	if logs := s.logs.String(); !strings.Contains(logs, "hubspot token refresh") {
		t.Error("no debug line of the token refresh: the log check below checks nothing")
	} else if strings.Contains(logs, oauthSeed) || strings.Contains(logs, oauthClientSecret) || strings.Contains(logs, "sim-at-") {
		t.Error("the log holds a secret")
	}
}

// The database holds the tokens sealed: neither refresh token nor
// access token appears in the SQLite file.
func TestHubSpotOAuth_TokensAreNotInPlaintext(t *testing.T) {
	t.Parallel()
	e := newOAuthEnv(t, nil)
	s := e.mustStart(t, e.key)
	if st, _ := s.shopify("customers/update", shopifyCustomer(1, "ada@example.com", "Ada", 1, "subscribed", 1)); st != 200 {
		t.Fatal("webhook refused")
	}
	s.waitIdle(20 * time.Second)
	s.m.Close()
	dsn := s.m.Config.Storage.DSN
	var data []byte
	for _, f := range []string{dsn, dsn + "-wal"} {
		b, _ := os.ReadFile(f)
		data = append(data, b...)
	}
	if !bytes.Contains(data, []byte("sb1."+secretbox.KeyID(e.key)+".")) {
		t.Fatal("no sealed token in the database file")
	}
	for _, secret := range append(e.sim.RefreshTokens(), oauthSeed, oauthClientSecret, "sim-at-") {
		if bytes.Contains(data, []byte(secret)) {
			t.Errorf("the database file holds %q in plaintext", secret)
		}
	}
}

// Without a key the server refuses the OAuth config saying how to make
// one; with another key than the tokens were sealed with, it refuses
// naming both keys' IDs.
func TestHubSpotOAuth_EncryptionKeyErrors(t *testing.T) {
	t.Setenv(secretbox.KeyVar, "")
	t.Setenv(secretbox.KeyFileVar, "")
	e := newOAuthEnv(t, nil)
	_, err := e.start(t, nil)
	if err == nil || !strings.Contains(err.Error(), "destinations.hubspot") || !strings.Contains(err.Error(), "openssl rand -base64 32") {
		t.Fatalf("no key: err = %v, want destinations.hubspot refused with how to create a key", err)
	}
	t.Logf("without a key: %v", err)

	s := e.mustStart(t, e.key)
	if st, _ := s.shopify("customers/update", shopifyCustomer(1, "ada@example.com", "Ada", 1, "subscribed", 1)); st != 200 {
		t.Fatal("webhook refused")
	}
	s.waitIdle(20 * time.Second)
	s.m.Close()
	other := newEncryptionKey(t)
	_, err = e.start(t, other)
	if err == nil || !strings.Contains(err.Error(), secretbox.KeyID(e.key)) || !strings.Contains(err.Error(), secretbox.KeyVar) {
		t.Fatalf("wrong key: err = %v, want the key ID the token was sealed with and %s", err, secretbox.KeyVar)
	}
	t.Logf("with another key: %v", err)
	if strings.Contains(err.Error(), oauthSeed) {
		t.Errorf("err %v carries the refresh token", err)
	}
}

// The oauth block's secrets are secrets like any other: written as they
// are, they are warned about with the variable to use, and the config
// history keeps them redacted.
func TestHubSpotOAuth_SecretsInTheConfig(t *testing.T) {
	t.Setenv("HS_SECRET_FOR_TEST", "hs-secret-from-env")
	cfg, err := ParseConfig([]byte(`destinations:
  hubspot:
    oauth:
      client_id: app-123
      client_secret: "${HS_SECRET_FOR_TEST}"
      refresh_token: rt-literal-in-file
`), "")
	if err != nil {
		t.Fatal(err)
	}
	got := strings.Join(cfg.warnings, "\n")
	if !strings.Contains(got, "destinations.hubspot.oauth.refresh_token is written in the config file as it is") || strings.Contains(got, "client_secret") {
		t.Errorf("warnings = %s; want oauth.refresh_token warned about and the ${VAR} client_secret not", got)
	}
	if strings.Contains(got, "rt-literal-in-file") {
		t.Errorf("a warning repeats the secret:\n%s", got)
	}
	y, err := cfg.versionYAML()
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(y, "rt-literal-in-file") || strings.Contains(y, "hs-secret-from-env") || !strings.Contains(y, "${HS_SECRET_FOR_TEST}") {
		t.Errorf("config history holds a secret or lost the reference:\n%s", y)
	}
	if secrets := strings.Join(cfg.destinationSecrets(), " "); !strings.Contains(secrets, "rt-literal-in-file") || !strings.Contains(secrets, "hs-secret-from-env") {
		t.Errorf("the log's redaction does not know the oauth secrets: %q", secrets)
	}
	if !strings.HasPrefix(hubspot.TokenPath, "/oauth/v3/") {
		t.Errorf("TokenPath = %s", hubspot.TokenPath)
	}
}
