package main

import (
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"strings"
)

// defaultTrustedProxies are trusted when server.trusted_proxies is unset:
// a reverse proxy on the same machine, the usual small setup. Anything
// else must be listed.
var defaultTrustedProxies = []string{"127.0.0.0/8", "::1/128"}

// forwardingHeaders are what a reverse proxy says about the client's
// connection. From a peer that is not a trusted proxy they are only the
// client's claims, and are removed.
var forwardingHeaders = []string{"X-Forwarded-For", "X-Forwarded-Proto", "X-Forwarded-Host", "Forwarded"}

// parseProxy reads one server.trusted_proxies entry: a CIDR range, or one
// address standing for itself.
func parseProxy(s string) (netip.Prefix, error) {
	if strings.Contains(s, "/") {
		p, err := netip.ParsePrefix(s)
		return p.Masked(), err
	}
	a, err := netip.ParseAddr(s)
	if err != nil {
		return netip.Prefix{}, err
	}
	return netip.PrefixFrom(a, a.BitLen()), nil
}

// trustedProxies is server.trusted_proxies parsed (finishServer checked
// every entry): unset means loopback, and an empty list means none.
func (s ServerConfig) trustedProxies() []netip.Prefix {
	list := s.TrustedProxies
	if list == nil {
		list = defaultTrustedProxies
	}
	var out []netip.Prefix
	for _, p := range list {
		if pfx, err := parseProxy(p); err == nil {
			out = append(out, pfx)
		}
	}
	return out
}

// behindProxies wraps h for requests that come through a reverse proxy.
// From a trusted proxy, the client's address is taken from
// X-Forwarded-For into r.RemoteAddr (what logs show), and with an https://
// server.public_url a request the proxy says arrived over plain HTTP is
// redirected there, as the redirect listener does for direct clients.
// From any other peer the forwarding headers are dropped, so nothing
// downstream (the dashboard's Secure cookie) believes a client about its
// own connection.
func (m *Main) behindProxies(h http.Handler) http.Handler {
	trusted := m.Config.Server.trustedProxies()
	var redirect http.Handler
	if u, err := url.Parse(m.Config.Server.PublicURL); err == nil && u.Scheme == "https" {
		redirect = redirectHandler(m.Config.Server.PublicURL, "443")
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !isTrusted(peerAddr(r.RemoteAddr), trusted) {
			for _, k := range forwardingHeaders {
				r.Header.Del(k)
			}
			h.ServeHTTP(w, r)
			return
		}
		if redirect != nil && strings.EqualFold(strings.TrimSpace(r.Header.Get("X-Forwarded-Proto")), "http") {
			redirect.ServeHTTP(w, r)
			return
		}
		if ip := clientIP(r.Header.Values("X-Forwarded-For"), trusted); ip.IsValid() {
			r = r.WithContext(r.Context()) // a shallow copy, to change RemoteAddr in
			r.RemoteAddr = net.JoinHostPort(ip.String(), "0")
		}
		h.ServeHTTP(w, r)
	})
}

// clientIP is the first address, from the right of X-Forwarded-For, that
// is not a trusted proxy: entries to its left were written by the client
// and prove nothing. The zero Addr when the header holds none.
func clientIP(values []string, trusted []netip.Prefix) netip.Addr {
	var hops []string
	for _, v := range values {
		hops = append(hops, strings.Split(v, ",")...)
	}
	var last netip.Addr
	for i := len(hops) - 1; i >= 0; i-- {
		a := peerAddr(strings.TrimSpace(hops[i]))
		if !a.IsValid() {
			break
		}
		last = a
		if !isTrusted(a, trusted) {
			return a
		}
	}
	return last
}

// peerAddr reads "ip:port" or a bare ip; the zero Addr when it is neither.
func peerAddr(s string) netip.Addr {
	if ap, err := netip.ParseAddrPort(s); err == nil {
		return ap.Addr().Unmap()
	}
	a, _ := netip.ParseAddr(strings.Trim(s, "[]"))
	return a.Unmap()
}

func isTrusted(a netip.Addr, trusted []netip.Prefix) bool {
	if !a.IsValid() {
		return false
	}
	for _, p := range trusted {
		if p.Contains(a) {
			return true
		}
	}
	return false
}

// servingAttrs are the serving log line's plain redirect listener, when
// there is one, and server.public_url with each source's webhook URL
// under it: the addresses to give the platforms (Shopify's webhook
// subscriptions, WooCommerce's delivery URL). Without public_url no URL is
// suggested, since the listen address is rarely what the outside reaches.
func (m *Main) servingAttrs(secrets map[string][]string) []any {
	var out []any
	if m.PlainAddr != "" {
		out = append(out, "redirect_addr", m.PlainAddr)
	}
	u := m.Config.Server.PublicURL
	if u == "" {
		return out
	}
	var hooks []string
	for _, name := range sortedNames(secrets) {
		hooks = append(hooks, u+"/webhooks/"+name)
	}
	return append(out, "public_url", u, "webhook_urls", strings.Join(hooks, ","))
}
