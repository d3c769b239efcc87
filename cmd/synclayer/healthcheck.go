package main

import (
	"context"
	"crypto/tls"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"time"
)

// cmdHealthcheck is synclayer healthcheck: GET /healthz on the server this
// config runs, and fail unless it answers 200. It is for a container's
// HEALTHCHECK, since the image has no shell and no curl.
func cmdHealthcheck(ctx context.Context, args []string, stdout io.Writer) error {
	var target string
	var timeout time.Duration
	fs, src, pos, err := parseFlags("healthcheck", args, func(fs *flag.FlagSet) {
		fs.StringVar(&target, "url", "", "check `URL` instead of /healthz on server.listen")
		fs.DurationVar(&timeout, "timeout", 5*time.Second, "give up after `DURATION`")
	})
	if err != nil {
		return err
	}
	if err := wantArgs(fs, pos); err != nil {
		return err
	}
	if target == "" {
		cfg, err := src.load()
		if err != nil {
			return err
		}
		target = healthURL(cfg.Server)
	}
	u, err := url.Parse(target)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return usageErrorf(fs, "--url %q is not an http:// or https:// URL", target)
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, target, nil)
	if err != nil {
		return err
	}
	resp, err := healthClient(u).Do(req)
	if err != nil {
		return fmt.Errorf("health check: %w; is synclayer serve running?", err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("health check: %s answered %s", target, resp.Status)
	}
	_, err = fmt.Fprintln(stdout, "ok")
	return err
}

// healthURL is /healthz on server.listen, reached over loopback when it
// listens on every address.
func healthURL(s ServerConfig) string {
	host, port, err := net.SplitHostPort(s.Listen)
	if err != nil {
		host, port = "127.0.0.1", "8080"
	}
	if ip := net.ParseIP(host); host == "" || ip != nil && ip.IsUnspecified() {
		host = "127.0.0.1"
	}
	scheme := "http"
	if s.TLS != nil {
		scheme = "https"
	}
	return scheme + "://" + net.JoinHostPort(host, port) + "/healthz"
}

// healthClient does not verify the certificate of a loopback address: the
// check asks whether the process on this machine answers, and a certificate
// for the public name never matches 127.0.0.1. Anything else is verified.
func healthClient(u *url.URL) *http.Client {
	c := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	ip := net.ParseIP(u.Hostname())
	if u.Hostname() == "localhost" || ip != nil && ip.IsLoopback() {
		c.Transport = &http.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: true}} //nolint:gosec // loopback only, see above
	}
	return c
}
