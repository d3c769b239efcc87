package main

import (
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"os"
	"strings"
	"sync"
	"time"

	"golang.org/x/crypto/acme"
	"golang.org/x/crypto/acme/autocert"
)

// TLSConfig is server.tls: HTTPS on server.listen, with the certificate
// from files (cert_file and key_file) or from an ACME CA such as Let's
// Encrypt (acme). Without it synclayer serves plain HTTP, for a reverse
// proxy in front of it or a run on one machine.
type TLSConfig struct {
	CertFile string      `yaml:"cert_file,omitempty"` // PEM, the chain after the leaf; read again when it changes
	KeyFile  string      `yaml:"key_file,omitempty"`  // PEM
	ACME     *ACMEConfig `yaml:"acme,omitempty"`
	// HTTPListen is, with acme, the plain listener that answers the CA's
	// HTTP-01 challenges and redirects everything else to HTTPS. The CA
	// only ever connects to port 80, so it defaults to ":80"; "off" leaves
	// only the TLS-ALPN-01 challenge, which needs server.listen on :443.
	HTTPListen string `yaml:"http_listen,omitempty"`
	// RedirectHTTP is, with cert files, an optional plain listener, such
	// as ":80", that redirects every request to HTTPS.
	RedirectHTTP string `yaml:"redirect_http,omitempty"`
}

// ACMEConfig is server.tls.acme: certificates obtained and renewed
// automatically. Configuring it accepts the CA's terms of service.
type ACMEConfig struct {
	Domains []string `yaml:"domains"`         // default: server.public_url's host
	Email   string   `yaml:"email,omitempty"` // the CA's contact for the account
	// CacheDir keeps the account key and the certificates across
	// restarts, so a restart does not ask the CA again (Let's Encrypt
	// limits how many certificates a domain gets a week).
	CacheDir string `yaml:"cache_dir,omitempty"` // default data/acme
	// DirectoryURL is the CA; default Let's Encrypt's production one.
	// Let's Encrypt's staging directory is for trying a setup out.
	DirectoryURL string `yaml:"directory_url,omitempty"`
}

// finishServer checks server.public_url, server.trusted_proxies and
// server.tls, and fills in the TLS defaults. The certificate files are
// read here, so that config validate catches a wrong path or a key that
// is not the certificate's before a deploy does.
func (c *Config) finishServer(e *configErrors) {
	s := &c.Server
	if s.PublicURL != "" {
		u, err := url.Parse(s.PublicURL)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.RawQuery != "" || u.Fragment != "" {
			e.add("server.public_url", "must be an absolute http:// or https:// URL where the outside world reaches synclayer, such as https://sync.example.com")
		} else {
			s.PublicURL = strings.TrimRight(s.PublicURL, "/")
			if s.TLS != nil && u.Scheme != "https" {
				e.add("server.public_url", "is http:// but server.tls serves HTTPS: write https://%s", u.Host)
			}
		}
	}
	for i, p := range s.TrustedProxies {
		if _, err := parseProxy(p); err != nil {
			e.add(fmt.Sprintf("server.trusted_proxies[%d]", i), "%q is not an IP address or a CIDR range such as 10.0.0.0/8", p)
		}
	}
	t := s.TLS
	if t == nil {
		return
	}
	const key = "server.tls"
	files := t.CertFile != "" || t.KeyFile != ""
	switch {
	case files && t.ACME != nil:
		e.add(key+".acme", "cannot be used with cert_file and key_file: choose certificate files or ACME")
	case t.CertFile != "" && t.KeyFile == "":
		e.add(key+".key_file", "is required with cert_file: the certificate's private key, PEM")
	case t.KeyFile != "" && t.CertFile == "":
		e.add(key+".cert_file", "is required with key_file: the certificate, PEM, with its chain")
	case files:
		if _, err := tls.LoadX509KeyPair(t.CertFile, t.KeyFile); err != nil {
			e.add(key+".cert_file", "cannot be loaded with key_file: %v; give the PEM certificate (chain after it) and its own key, readable by synclayer", err)
		}
	case t.ACME == nil:
		e.add(key, "needs cert_file and key_file, or acme with the domains to get certificates for")
	}
	if t.HTTPListen != "" && t.ACME == nil {
		e.add(key+".http_listen", "is the ACME challenge listener; with certificate files use redirect_http")
	}
	if t.RedirectHTTP != "" && t.ACME != nil {
		e.add(key+".redirect_http", "is for certificate files; with acme, http_listen (default :80) already redirects")
	}
	for _, k := range []struct{ key, addr string }{{key + ".http_listen", t.HTTPListen}, {key + ".redirect_http", t.RedirectHTTP}} {
		if k.addr != "" && k.addr != "off" {
			if _, _, err := net.SplitHostPort(k.addr); err != nil {
				e.add(k.key, "must be an address such as :80, not %q", k.addr)
			}
		}
	}
	if a := t.ACME; a != nil {
		c.finishACME(e, a)
		if t.HTTPListen == "" {
			t.HTTPListen = ":80"
		}
	}
}

func (c *Config) finishACME(e *configErrors, a *ACMEConfig) {
	const key = "server.tls.acme"
	if len(a.Domains) == 0 && c.Server.PublicURL != "" {
		if u, err := url.Parse(c.Server.PublicURL); err == nil && u.Hostname() != "" {
			a.Domains = []string{u.Hostname()}
		}
	}
	if len(a.Domains) == 0 {
		e.add(key+".domains", "give at least one domain to get a certificate for, e.g. domains: [sync.example.com] (or set server.public_url)")
	}
	for i, d := range a.Domains {
		if d == "" || strings.ContainsAny(d, "/:*@ ") || net.ParseIP(d) != nil {
			e.add(fmt.Sprintf("%s.domains[%d]", key, i), "%q is not a domain name: give the bare name, such as sync.example.com (no scheme, port or wildcard)", d)
		}
	}
	if a.CacheDir == "" {
		a.CacheDir = "data/acme"
	}
	if a.DirectoryURL != "" {
		if u, err := url.Parse(a.DirectoryURL); err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
			e.add(key+".directory_url", "must be the CA's ACME directory URL, such as https://acme-staging-v02.api.letsencrypt.org/directory")
		}
	}
}

// manager is the autocert manager for the config: certificates for the
// listed domains only (any other name in a TLS handshake is refused
// before the CA is asked), kept in CacheDir.
func (a *ACMEConfig) manager() *autocert.Manager {
	m := &autocert.Manager{
		Prompt:     autocert.AcceptTOS,
		Cache:      autocert.DirCache(a.CacheDir),
		HostPolicy: autocert.HostWhitelist(a.Domains...),
		Email:      a.Email,
	}
	if a.DirectoryURL != "" {
		m.Client = &acme.Client{DirectoryURL: a.DirectoryURL}
	}
	return m
}

// listen opens server.listen: HTTPS when server.tls is set, plain HTTP
// otherwise. With TLS it also starts the plain listener beside it (the
// ACME challenges and the redirect), which Close stops. Each error names
// the key whose value failed.
func (m *Main) listen() (net.Listener, error) {
	s := m.Config.Server
	ln, err := net.Listen("tcp", s.Listen)
	if err != nil {
		return nil, fmt.Errorf("listen on %s (server.listen): %w", s.Listen, err)
	}
	m.addCancel(func() { ln.Close() }) // if Run fails before the server takes it over
	t := s.TLS
	if t == nil {
		return ln, nil
	}
	_, tlsPort, _ := net.SplitHostPort(ln.Addr().String())
	conf, plain, plainKey, redirect, err := m.tlsSetup(t, redirectHandler(s.PublicURL, tlsPort))
	if err != nil {
		ln.Close()
		return nil, err
	}
	if plain != "" && plain != "off" {
		pln, err := net.Listen("tcp", plain)
		if err != nil {
			ln.Close()
			return nil, fmt.Errorf("listen on %s (%s): %w", plain, plainKey, err)
		}
		m.PlainAddr = pln.Addr().String()
		m.servePlain(pln, redirect)
	}
	m.joined = joinListeners(tls.NewListener(ln, conf))
	m.addCancel(func() { m.joined.Close() })
	return m.joined, nil
}

// tlsSetup builds the TLS config, and says which plain listener to start
// (and the key it comes from) and what it serves: the redirect, and with
// ACME the CA's HTTP-01 challenges before it.
func (m *Main) tlsSetup(t *TLSConfig, redirect http.Handler) (conf *tls.Config, plain, plainKey string, h http.Handler, err error) {
	if a := t.ACME; a != nil {
		if err := os.MkdirAll(a.CacheDir, 0o700); err != nil {
			return nil, "", "", nil, fmt.Errorf("server.tls.acme.cache_dir: %w; give a directory synclayer can write", err)
		}
		mgr := a.manager()
		conf = mgr.TLSConfig() // h2, http/1.1 and acme-tls/1, for TLS-ALPN-01
		conf.MinVersion = tls.VersionTLS12
		return conf, t.HTTPListen, "server.tls.http_listen", mgr.HTTPHandler(redirect), nil
	}
	cf := &certFiles{cert: t.CertFile, key: t.KeyFile, log: m.Logger}
	if err := cf.load(); err != nil {
		return nil, "", "", nil, fmt.Errorf("server.tls.cert_file: %w", err)
	}
	conf = &tls.Config{MinVersion: tls.VersionTLS12, GetCertificate: cf.get, NextProtos: []string{"h2", "http/1.1"}}
	return conf, t.RedirectHTTP, "server.tls.redirect_http", redirect, nil
}

// servePlain serves h on ln until Close.
func (m *Main) servePlain(ln net.Listener, h http.Handler) {
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 5 * time.Second, ReadTimeout: 15 * time.Second,
		WriteTimeout: 15 * time.Second, IdleTimeout: time.Minute, MaxHeaderBytes: 64 << 10,
		ErrorLog: slog.NewLogLogger(m.Logger.Handler(), slog.LevelWarn)}
	m.addCancel(func() { _ = srv.Close() })
	m.wg.Add(1)
	go func() {
		defer m.wg.Done()
		if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			m.Logger.Error("plain HTTP listener stopped", "addr", ln.Addr().String(), "err", err)
		}
	}()
}

// redirectHandler sends a plain HTTP request to the same path over HTTPS:
// to public's host when it is an https:// URL, otherwise to the host the
// client asked for, on the HTTPS port. GET and HEAD get 301; anything else
// gets 308, so the client sends the body again rather than turning a
// webhook's POST into a GET.
func redirectHandler(public, tlsPort string) http.Handler {
	var base string
	if u, err := url.Parse(public); err == nil && u.Scheme == "https" {
		base = "https://" + u.Host
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		target := base
		if target == "" {
			host := r.Host
			if h, _, err := net.SplitHostPort(host); err == nil {
				host = h
			}
			if host == "" {
				http.Error(w, "use https://", http.StatusBadRequest)
				return
			}
			if tlsPort != "443" {
				host = net.JoinHostPort(host, tlsPort)
			} else if strings.Contains(host, ":") {
				host = "[" + host + "]"
			}
			target = "https://" + host
		}
		status := http.StatusPermanentRedirect
		if r.Method == http.MethodGet || r.Method == http.MethodHead {
			status = http.StatusMovedPermanently
		}
		http.Redirect(w, r, target+r.URL.RequestURI(), status)
	})
}

// certFiles serves the certificate in cert_file and key_file, read again
// when either file changes, so that a renewal (certbot, a rotated mounted
// secret) takes effect without a restart. A change that does not load,
// such as a certificate written before its new key, keeps the previous
// certificate in service and is logged once.
type certFiles struct {
	cert, key string
	log       *slog.Logger

	mu      sync.Mutex
	current *tls.Certificate
	stamp   string // the files' sizes and times when current was read
	failed  string // the stamp last logged as not loading
}

// load reads the pair; its error says what to fix.
func (c *certFiles) load() error {
	stamp := c.stampOf()
	pair, err := tls.LoadX509KeyPair(c.cert, c.key)
	if err != nil {
		return fmt.Errorf("load %s with server.tls.key_file: %w", c.cert, err)
	}
	c.current, c.stamp = &pair, stamp
	return nil
}

// stampOf identifies the files' current contents without reading them;
// "" when either cannot be read.
func (c *certFiles) stampOf() string {
	var b strings.Builder
	for _, p := range []string{c.cert, c.key} {
		fi, err := os.Stat(p)
		if err != nil {
			return ""
		}
		fmt.Fprintf(&b, "%d/%d;", fi.Size(), fi.ModTime().UnixNano())
	}
	return b.String()
}

func (c *certFiles) get(*tls.ClientHelloInfo) (*tls.Certificate, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if s := c.stampOf(); s != "" && s != c.stamp && s != c.failed {
		pair, err := tls.LoadX509KeyPair(c.cert, c.key)
		if err != nil {
			c.failed = s
			c.log.Warn("the changed certificate does not load; still serving the previous one", "cert_file", c.cert, "err", err)
		} else {
			c.current, c.stamp = &pair, s
			c.log.Info("certificate reloaded", "cert_file", c.cert)
		}
	}
	return c.current, nil
}

// selfURL is the base URL synclayer's own built-in simulators are called
// on. With HTTPS that cannot be server.listen, whose certificate the
// destinations' clients have no reason to trust, so a loopback plain
// listener joins it, opened the first time a simulator is mounted.
func (m *Main) selfURL() string {
	if m.joined == nil {
		return "http://" + m.Addr
	}
	addr, err := m.joined.loopback()
	if err != nil {
		m.Logger.Error("no loopback listener for the built-in simulators; they cannot be reached", "err", err)
		return "http://" + m.Addr
	}
	return "http://" + addr
}

// joinedListener accepts on several listeners as one, so that one
// http.Server serves HTTPS on server.listen and, for the simulators, plain
// HTTP on a loopback address; closing it closes them all.
type joinedListener struct {
	net.Listener // the first; its Addr is the joined listener's
	conns        chan net.Conn
	done         chan struct{}
	once         sync.Once

	mu       sync.Mutex
	all      []net.Listener
	loopAddr string
}

func joinListeners(first net.Listener) *joinedListener {
	j := &joinedListener{Listener: first, conns: make(chan net.Conn), done: make(chan struct{})}
	j.add(first)
	return j
}

func (j *joinedListener) add(ln net.Listener) {
	j.mu.Lock()
	j.all = append(j.all, ln)
	j.mu.Unlock()
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				select {
				case <-j.done:
					return
				case <-time.After(50 * time.Millisecond): // too many open files: try again, as http.Server would
				}
				continue
			}
			select {
			case j.conns <- c:
			case <-j.done:
				c.Close()
				return
			}
		}
	}()
}

// loopback returns the plain loopback address, opening it the first time.
func (j *joinedListener) loopback() (string, error) {
	j.mu.Lock()
	addr := j.loopAddr
	j.mu.Unlock()
	if addr != "" {
		return addr, nil
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	j.mu.Lock()
	j.loopAddr = ln.Addr().String()
	j.mu.Unlock()
	j.add(ln)
	return ln.Addr().String(), nil
}

func (j *joinedListener) Accept() (net.Conn, error) {
	select {
	case c := <-j.conns:
		return c, nil
	case <-j.done:
		return nil, net.ErrClosed
	}
}

func (j *joinedListener) Close() error {
	j.once.Do(func() {
		close(j.done)
		j.mu.Lock()
		defer j.mu.Unlock()
		for _, ln := range j.all {
			ln.Close()
		}
	})
	return nil
}
