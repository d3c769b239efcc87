package main

import (
	"bytes"
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"synclayer/destination/brevo/brevosim"
)

func TestServe_TrustedProxies(t *testing.T) {
	t.Parallel()
	type seen struct{ remote, proto, xff string }
	run := func(t *testing.T, srv ServerConfig, peer string, h http.Header) (seen, *httptest.ResponseRecorder) {
		t.Helper()
		var got seen
		m := &Main{Config: &Config{Server: srv}}
		handler := m.behindProxies(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			got = seen{r.RemoteAddr, r.Header.Get("X-Forwarded-Proto"), r.Header.Get("X-Forwarded-For")}
		}))
		req := httptest.NewRequest("GET", "/ui/?window=1h", nil)
		req.RemoteAddr = peer
		for k, v := range h {
			req.Header[k] = v
		}
		rec := httptest.NewRecorder()
		handler.ServeHTTP(rec, req)
		return got, rec
	}
	fwd := func(xff, proto string) http.Header {
		return http.Header{"X-Forwarded-For": {xff}, "X-Forwarded-Proto": {proto}}
	}

	t.Run("LoopbackTrustedByDefault", func(t *testing.T) {
		got, _ := run(t, ServerConfig{}, "127.0.0.1:5000", fwd("203.0.113.9", "https"))
		if got.remote != "203.0.113.9:0" || got.proto != "https" {
			t.Errorf("through a local proxy: %+v, want the client's address and the proxy's proto", got)
		}
	})
	t.Run("UntrustedPeerHeadersDropped", func(t *testing.T) {
		got, _ := run(t, ServerConfig{}, "198.51.100.7:4000", fwd("203.0.113.9", "https"))
		if got.remote != "198.51.100.7:4000" || got.proto != "" || got.xff != "" {
			t.Errorf("from a peer not trusted: %+v, want its own address and no forwarding headers", got)
		}
	})
	t.Run("SpoofedLeftEntriesIgnored", func(t *testing.T) {
		srv := ServerConfig{TrustedProxies: []string{"10.0.0.0/8"}}
		got, _ := run(t, srv, "10.0.0.2:80", fwd("6.6.6.6, 203.0.113.9, 10.0.0.3", "https"))
		if got.remote != "203.0.113.9:0" {
			t.Errorf("client %q, want the rightmost address that is not a proxy", got.remote)
		}
	})
	t.Run("EmptyListTrustsNone", func(t *testing.T) {
		got, _ := run(t, ServerConfig{TrustedProxies: []string{}}, "127.0.0.1:5000", fwd("203.0.113.9", "https"))
		if got.remote != "127.0.0.1:5000" || got.proto != "" {
			t.Errorf("trusted_proxies: []: %+v, want nothing trusted", got)
		}
	})
	t.Run("PlainThroughProxyRedirected", func(t *testing.T) {
		srv := ServerConfig{PublicURL: "https://sync.example.com"}
		_, rec := run(t, srv, "127.0.0.1:5000", fwd("203.0.113.9", "http"))
		if loc := rec.Header().Get("Location"); rec.Code != http.StatusMovedPermanently || loc != "https://sync.example.com/ui/?window=1h" {
			t.Errorf("plain HTTP said by a trusted proxy: %d to %q, want 301 to public_url", rec.Code, loc)
		}
		got, rec := run(t, srv, "198.51.100.7:4000", fwd("203.0.113.9", "http"))
		if rec.Code != http.StatusOK || got.remote == "" {
			t.Errorf("the same claim from a peer not trusted was acted on: %d", rec.Code)
		}
	})
}

func TestServe_PublicURLLogged(t *testing.T) {
	t.Parallel()
	e := startEnv(t, brevosim.Options{}, func(c *Config) { c.Server.PublicURL = "https://sync.example.com" })
	log := e.logs.String()
	for _, want := range []string{"public_url=https://sync.example.com", "webhook_urls=https://sync.example.com/webhooks/custom,https://sync.example.com/webhooks/shopify,"} {
		if !strings.Contains(log, want) {
			t.Errorf("the serving log line does not say %s:\n%s", want, log)
		}
	}
}

func TestServe_Healthcheck(t *testing.T) {
	t.Parallel()
	cert := writeTestCert(t, t.TempDir())
	e := startEnv(t, brevosim.Options{}, withTLS(cert))
	var out, stderr bytes.Buffer
	if err := runIO(context.Background(), []string{"healthcheck", "--url", "https://" + e.m.Addr + "/healthz"}, &out, &stderr); err != nil || out.String() != "ok\n" {
		t.Errorf("healthcheck of a running HTTPS server: %v, %q", err, out.String())
	}
	err := runIO(context.Background(), []string{"healthcheck", "--url", "http://" + e.m.PlainAddr + "/healthz"}, &out, &stderr)
	if err == nil || exitCode(err) != 1 || !strings.Contains(err.Error(), "301") {
		t.Errorf("healthcheck answered by a redirect: %v, want a failure naming the status", err)
	}
	err = runIO(context.Background(), []string{"healthcheck", "--url", "sync.example.com"}, &out, &stderr)
	if exitCode(err) != 2 {
		t.Errorf("healthcheck --url without a scheme: %v, want a usage error", err)
	}
	for _, tc := range []struct {
		srv  ServerConfig
		want string
	}{
		{ServerConfig{Listen: "127.0.0.1:8080"}, "http://127.0.0.1:8080/healthz"},
		{ServerConfig{Listen: ":8443", TLS: &TLSConfig{}}, "https://127.0.0.1:8443/healthz"},
		{ServerConfig{Listen: "0.0.0.0:80"}, "http://127.0.0.1:80/healthz"},
		{ServerConfig{Listen: "[::]:8080"}, "http://127.0.0.1:8080/healthz"},
		{ServerConfig{Listen: "10.1.2.3:8080"}, "http://10.1.2.3:8080/healthz"},
	} {
		if got := healthURL(tc.srv); got != tc.want {
			t.Errorf("healthURL(%q): %s, want %s", tc.srv.Listen, got, tc.want)
		}
	}
}
