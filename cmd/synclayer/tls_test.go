package main

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"golang.org/x/crypto/acme/autocert"

	"synclayer/destination/brevo/brevosim"
)

// testCert is a self-signed certificate for 127.0.0.1 and localhost,
// written as PEM files, with a pool that trusts it.
type testCert struct {
	certFile, keyFile string
	pool              *x509.CertPool
	serial            *big.Int
}

func writeTestCert(t *testing.T, dir string) testCert {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	serial, _ := rand.Int(rand.Reader, big.NewInt(1<<62))
	tmpl := &x509.Certificate{
		SerialNumber: serial, Subject: pkix.Name{CommonName: "synclayer test"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		KeyUsage: x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true, IsCA: true,
		IPAddresses: []net.IP{net.ParseIP("127.0.0.1")}, DNSNames: []string{"localhost"},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	kder, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	c := testCert{certFile: filepath.Join(dir, "cert.pem"), keyFile: filepath.Join(dir, "key.pem"), pool: x509.NewCertPool(), serial: serial}
	if err := os.WriteFile(c.certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(c.keyFile, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: kder}), 0o600); err != nil {
		t.Fatal(err)
	}
	leaf, _ := x509.ParseCertificate(der)
	c.pool.AddCert(leaf)
	return c
}

func withTLS(c testCert) envOption {
	return func(cfg *Config) {
		cfg.Server.TLS = &TLSConfig{CertFile: c.certFile, KeyFile: c.keyFile, RedirectHTTP: "127.0.0.1:0"}
	}
}

// verifyingClient trusts the test certificate only, and follows no redirect.
func verifyingClient(pool *x509.CertPool) *http.Client {
	return &http.Client{
		Transport:     &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}, ForceAttemptHTTP2: true},
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
		Timeout:       10 * time.Second,
	}
}

func TestTLS_ServesHTTPS(t *testing.T) {
	t.Parallel()
	cert := writeTestCert(t, t.TempDir())
	e := startEnv(t, brevosim.Options{}, withTLS(cert))
	client := verifyingClient(cert.pool)
	base := "https://" + e.m.Addr

	t.Run("Healthz", func(t *testing.T) {
		resp, err := client.Get(base + "/healthz")
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK || resp.TLS == nil || resp.ProtoMajor != 2 {
			t.Fatalf("GET /healthz over HTTPS: %d, TLS %v, %s (want HTTP/2 negotiated)", resp.StatusCode, resp.TLS != nil, resp.Proto)
		}
		if got := resp.TLS.PeerCertificates[0].SerialNumber; got.Cmp(cert.serial) != 0 {
			t.Errorf("served certificate %v, want the configured one %v", got, cert.serial)
		}
	})
	t.Run("UntrustedClientRefused", func(t *testing.T) {
		resp, err := http.Get(base + "/healthz") // the system roots do not hold the test CA
		if err == nil {
			resp.Body.Close()
			t.Fatal("a client without the test CA verified the certificate")
		}
	})
	t.Run("SignedWebhook", func(t *testing.T) {
		body := mustMarshal(map[string]any{"id": 4242, "email": "tls@example.com", "updated_at": "2026-11-20T10:00:00Z",
			"email_marketing_consent": map[string]any{"state": "subscribed", "consent_updated_at": "2026-11-20T10:00:00Z"}})
		req, _ := http.NewRequest("POST", base+"/webhooks/shopify", bytes.NewReader(body))
		req.Header = shopifyHeaders("customers/create", "wh-tls-1", body, shopifySecret)
		resp, err := client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("signed webhook over HTTPS: %d", resp.StatusCode)
		}
		e.waitIdle(10 * time.Second)
		if _, ok := e.sim.ContactByEmail("tls@example.com"); !ok {
			t.Error("the webhook's contact did not reach Brevo")
		}
	})
	t.Run("PlainOnTLSPortRefused", func(t *testing.T) {
		resp, err := http.Get("http://" + e.m.Addr + "/healthz")
		if err == nil {
			defer resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				t.Fatal("plain HTTP on the HTTPS port was served")
			}
		}
	})
	t.Run("Redirect", func(t *testing.T) {
		if e.m.PlainAddr == "" {
			t.Fatal("no redirect listener with server.tls.redirect_http")
		}
		for method, want := range map[string]int{"GET": http.StatusMovedPermanently, "HEAD": http.StatusMovedPermanently, "POST": http.StatusPermanentRedirect} {
			req, _ := http.NewRequest(method, "http://"+e.m.PlainAddr+"/webhooks/shopify?x=1", strings.NewReader("{}"))
			resp, err := client.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if loc := resp.Header.Get("Location"); resp.StatusCode != want || loc != base+"/webhooks/shopify?x=1" {
				t.Errorf("%s on the redirect listener: %d to %q, want %d to %s", method, resp.StatusCode, loc, want, base+"/webhooks/shopify?x=1")
			}
		}
	})
}

// TestTLS_SimulatorUnderHTTPS runs the built-in Brevo simulator behind
// HTTPS: its client cannot call server.listen (it has no reason to trust
// the certificate), so it is reached on a loopback plain listener.
func TestTLS_SimulatorUnderHTTPS(t *testing.T) {
	t.Parallel()
	cert := writeTestCert(t, t.TempDir())
	e := startEnv(t, brevosim.Options{}, withTLS(cert), func(c *Config) {
		c.Destinations = map[string]*DestinationSection{"brevo": {Settings: map[string]any{}}}
	})
	if brevoSim(e.m) == nil {
		t.Fatal("no built-in simulator without an API key")
	}
	body := mustMarshal(map[string]any{"id": 77, "email": "sim@example.com", "updated_at": "2026-11-20T10:00:00Z",
		"email_marketing_consent": map[string]any{"state": "subscribed", "consent_updated_at": "2026-11-20T10:00:00Z"}})
	req, _ := http.NewRequest("POST", "https://"+e.m.Addr+"/webhooks/shopify", bytes.NewReader(body))
	req.Header = shopifyHeaders("customers/create", "wh-sim-1", body, shopifySecret)
	resp, err := verifyingClient(cert.pool).Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	e.waitIdle(10 * time.Second)
	if _, ok := brevoSim(e.m).ContactByEmail("sim@example.com"); !ok {
		t.Errorf("the contact did not reach the built-in simulator under HTTPS; log:\n%s", e.logs.String())
	}
}

// TestTLS_CertReload replaces the certificate files under a running
// server, as a renewal does, and expects the next handshake to present
// the new certificate without a restart.
func TestTLS_CertReload(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	first := writeTestCert(t, dir)
	e := startEnv(t, brevosim.Options{}, withTLS(first))
	serialOf := func(pool *x509.CertPool) *big.Int {
		t.Helper()
		conn, err := tls.Dial("tcp", e.m.Addr, &tls.Config{RootCAs: pool, ServerName: "localhost"})
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close()
		return conn.ConnectionState().PeerCertificates[0].SerialNumber
	}
	if got := serialOf(first.pool); got.Cmp(first.serial) != 0 {
		t.Fatalf("first certificate: serial %v", got)
	}
	second := writeTestCert(t, dir) // the same paths
	later := time.Now().Add(time.Minute)
	for _, f := range []string{second.certFile, second.keyFile} {
		if err := os.Chtimes(f, later, later); err != nil {
			t.Fatal(err)
		}
	}
	if got := serialOf(second.pool); got.Cmp(second.serial) != 0 {
		t.Errorf("after the files changed: serial %v, want the new %v", got, second.serial)
	}
}

func TestTLS_ConfigErrors(t *testing.T) {
	t.Parallel()
	cert := writeTestCert(t, t.TempDir())
	other := writeTestCert(t, t.TempDir())
	for _, tc := range []struct {
		name, yaml, want string
	}{
		{"KeyOnly", "server:\n  tls:\n    key_file: " + cert.keyFile + "\n", "line 3: server.tls.cert_file: is required with key_file"},
		{"CertOnly", "server:\n  tls:\n    cert_file: " + cert.certFile + "\n", "line 3: server.tls.key_file: is required with cert_file"},
		{"UnreadableCert", "server:\n  tls:\n    cert_file: /nonexistent/cert.pem\n    key_file: " + cert.keyFile + "\n", "line 3: server.tls.cert_file: cannot be loaded"},
		{"KeyOfAnotherCert", "server:\n  tls:\n    cert_file: " + cert.certFile + "\n    key_file: " + other.keyFile + "\n", "line 3: server.tls.cert_file: cannot be loaded with key_file: tls: private key does not match public key"},
		{"ACMEWithoutDomains", "server:\n  tls:\n    acme:\n      email: ops@example.com\n", "line 4: server.tls.acme.domains: give at least one domain"},
		{"ACMEWildcard", "server:\n  tls:\n    acme:\n      domains: [\"*.example.com\"]\n", "line 4: server.tls.acme.domains[0]: \"*.example.com\" is not a domain name"},
		{"Both", "server:\n  tls:\n    cert_file: " + cert.certFile + "\n    key_file: " + cert.keyFile + "\n    acme:\n      domains: [sync.example.com]\n", "line 6: server.tls.acme: cannot be used with cert_file and key_file"},
		{"Empty", "server:\n  tls: {}\n", "line 2: server.tls: needs cert_file and key_file, or acme"},
		{"HTTPListenWithFiles", "server:\n  tls:\n    cert_file: " + cert.certFile + "\n    key_file: " + cert.keyFile + "\n    http_listen: \":80\"\n", "line 5: server.tls.http_listen: is the ACME challenge listener"},
		{"BadRedirectAddr", "server:\n  tls:\n    cert_file: " + cert.certFile + "\n    key_file: " + cert.keyFile + "\n    redirect_http: \"80\"\n", "line 5: server.tls.redirect_http: must be an address such as :80"},
		{"PublicURLRelative", "server:\n  public_url: sync.example.com\n", "line 2: server.public_url: must be an absolute http:// or https:// URL"},
		{"PublicURLHTTPWithTLS", "server:\n  public_url: http://sync.example.com\n  tls:\n    acme: {domains: [sync.example.com]}\n", "line 2: server.public_url: is http:// but server.tls serves HTTPS"},
		{"TrustedProxyNotAnAddress", "server:\n  trusted_proxies: [10.0.0.0/8, proxy.internal]\n", "line 2: server.trusted_proxies[1]: \"proxy.internal\" is not an IP address or a CIDR range"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := ParseConfig([]byte(tc.yaml), "")
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("got %v\nwant an error containing %q", err, tc.want)
			}
		})
	}
	t.Run("Valid", func(t *testing.T) {
		doc := "server:\n  public_url: https://sync.example.com/\n  trusted_proxies: [10.0.0.0/8, 192.168.1.7, \"fd00::/8\"]\n  tls:\n    cert_file: " + cert.certFile + "\n    key_file: " + cert.keyFile + "\n"
		cfg, err := ParseConfig([]byte(doc), "")
		if err != nil {
			t.Fatal(err)
		}
		if cfg.Server.PublicURL != "https://sync.example.com" {
			t.Errorf("public_url %q, want the trailing slash trimmed", cfg.Server.PublicURL)
		}
		none, err := ParseConfig([]byte("server:\n  trusted_proxies: []\n"), "")
		if err != nil || none.Server.TrustedProxies == nil || len(none.Server.trustedProxies()) != 0 {
			t.Errorf("trusted_proxies: [] should trust no one, not fall back to loopback: %v", err)
		}
	})
}

// TestTLS_PublicURLFromEnv sets the environment, so it runs alone.
func TestTLS_PublicURLFromEnv(t *testing.T) {
	t.Setenv("SYNCLAYER_TEST_PUBLIC_URL", "https://env.example.com")
	cfg, err := ParseConfig([]byte("server:\n  public_url: \"${SYNCLAYER_TEST_PUBLIC_URL}\"\n"), "")
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Server.PublicURL != "https://env.example.com" {
		t.Errorf("public_url %q", cfg.Server.PublicURL)
	}
	v, err := cfg.versionYAML()
	if err != nil || !strings.Contains(v, "${SYNCLAYER_TEST_PUBLIC_URL}") {
		t.Errorf("the stored version should keep the reference: %v\n%s", err, v)
	}
}

// TestTLS_ACME checks the ACME wiring without a CA: the manager's cache
// and host policy, and that a running server refuses a handshake for a
// name it was not configured for before asking anyone, and answers the
// challenge path on its plain listener for configured names only.
func TestTLS_ACME(t *testing.T) {
	t.Parallel()
	cache := filepath.Join(t.TempDir(), "acme")
	doc := "server:\n  public_url: https://sync.example.com\n  tls:\n    acme:\n      email: ops@example.com\n      cache_dir: " + cache +
		"\n      directory_url: https://acme-staging-v02.api.letsencrypt.org/directory\n"
	cfg, err := ParseConfig([]byte(doc), "")
	if err != nil {
		t.Fatal(err)
	}
	a := cfg.Server.TLS.ACME
	if len(a.Domains) != 1 || a.Domains[0] != "sync.example.com" {
		t.Errorf("domains %v, want public_url's host", a.Domains)
	}
	if cfg.Server.TLS.HTTPListen != ":80" {
		t.Errorf("http_listen %q, want :80 by default", cfg.Server.TLS.HTTPListen)
	}
	mgr := a.manager()
	if dc, ok := mgr.Cache.(autocert.DirCache); !ok || string(dc) != cache {
		t.Errorf("cache %#v, want DirCache(%s)", mgr.Cache, cache)
	}
	if mgr.Email != "ops@example.com" || mgr.Client == nil || mgr.Client.DirectoryURL != a.DirectoryURL {
		t.Errorf("manager email %q, client %+v", mgr.Email, mgr.Client)
	}
	ctx := context.Background()
	if err := mgr.HostPolicy(ctx, "sync.example.com"); err != nil {
		t.Errorf("host policy refuses the configured domain: %v", err)
	}
	if err := mgr.HostPolicy(ctx, "evil.example"); err == nil {
		t.Error("host policy accepts a domain not configured")
	}
	if d, err := ParseConfig([]byte("server:\n  tls:\n    acme: {domains: [a.example.com]}\n"), ""); err != nil || d.Server.TLS.ACME.CacheDir != "data/acme" {
		t.Errorf("cache_dir does not default to data/acme: %v", err)
	}

	t.Run("Running", func(t *testing.T) {
		e := startEnv(t, brevosim.Options{}, func(c *Config) {
			c.Server.PublicURL = "https://sync.example.com"
			c.Server.TLS = &TLSConfig{HTTPListen: "127.0.0.1:0", ACME: &ACMEConfig{Domains: []string{"sync.example.com"}, CacheDir: cache,
				DirectoryURL: "http://127.0.0.1:1/directory"}} // never reached: nothing here asks for a configured name
		})
		if fi, err := os.Stat(cache); err != nil || !fi.IsDir() {
			t.Fatalf("cache_dir not created at start: %v", err)
		}
		conn, err := tls.Dial("tcp", e.m.Addr, &tls.Config{ServerName: "evil.example", InsecureSkipVerify: true})
		if err == nil {
			conn.Close()
			t.Fatal("a handshake for a name not in acme.domains succeeded")
		}
		client := verifyingClient(nil)
		req, _ := http.NewRequest("GET", "http://"+e.m.PlainAddr+"/.well-known/acme-challenge/token", nil)
		req.Host = "evil.example"
		resp, err := client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusForbidden {
			t.Errorf("challenge for a name not configured: %d, want 403", resp.StatusCode)
		}
		resp, err = client.Get("http://" + e.m.PlainAddr + "/ui/")
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if loc := resp.Header.Get("Location"); resp.StatusCode != http.StatusMovedPermanently || loc != "https://sync.example.com/ui/" {
			t.Errorf("plain GET on the ACME listener: %d to %q, want 301 to public_url", resp.StatusCode, loc)
		}
	})
}
