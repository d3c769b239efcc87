package magento

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha1"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"hash"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"time"
)

// No small, maintained OAuth 1.0a package is served to this project
// (docs/platforms/magento.md), and the signing is short: RFC 5849 §3.4
// with HMAC-SHA256, the method Magento 2.4 requires of integrations.

// OAuthParams are the protocol parameters of one signed request.
type OAuthParams struct {
	ConsumerKey, Token, Nonce string
	Timestamp                 time.Time
	Method                    string // "HMAC-SHA256"; "HMAC-SHA1" for RFC 5849's own examples
}

// Encode percent-encodes s as RFC 5849 §3.6 requires: every byte but the
// unreserved characters, with upper-case hex.
func Encode(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-' || c == '.' || c == '_' || c == '~' {
			b.WriteByte(c)
			continue
		}
		b.WriteString("%" + strings.ToUpper(hex.EncodeToString([]byte{c})))
	}
	return b.String()
}

func (p OAuthParams) values() map[string]string {
	m := map[string]string{
		"oauth_consumer_key":     p.ConsumerKey,
		"oauth_nonce":            p.Nonce,
		"oauth_signature_method": p.Method,
		"oauth_timestamp":        strconv.FormatInt(p.Timestamp.Unix(), 10),
		"oauth_version":          "1.0",
	}
	if p.Token != "" {
		m["oauth_token"] = p.Token
	}
	return m
}

// BaseString is RFC 5849 §3.4.1's signature base string of a request to
// u (its query included) with extra parameters (a form body's), and the
// protocol parameters given as oauth (without oauth_signature).
func BaseString(method string, u *url.URL, extra url.Values, oauth map[string]string) string {
	type pair struct{ k, v string }
	var pairs []pair
	q, _ := url.ParseQuery(u.RawQuery)
	for _, vs := range []url.Values{q, extra} {
		for k, list := range vs {
			for _, v := range list {
				pairs = append(pairs, pair{Encode(k), Encode(v)})
			}
		}
	}
	for k, v := range oauth {
		pairs = append(pairs, pair{Encode(k), Encode(v)})
	}
	sort.Slice(pairs, func(i, j int) bool {
		if pairs[i].k != pairs[j].k {
			return pairs[i].k < pairs[j].k
		}
		return pairs[i].v < pairs[j].v
	})
	parts := make([]string, len(pairs))
	for i, p := range pairs {
		parts[i] = p.k + "=" + p.v
	}
	host := strings.ToLower(u.Host)
	if h, port, ok := strings.Cut(host, ":"); ok && (u.Scheme == "http" && port == "80" || u.Scheme == "https" && port == "443") {
		host = h
	}
	base := strings.ToLower(u.Scheme) + "://" + host + u.EscapedPath()
	return strings.ToUpper(method) + "&" + Encode(base) + "&" + Encode(strings.Join(parts, "&"))
}

// Sign returns the base64 HMAC signature of base keyed with the consumer
// and token secrets (RFC 5849 §3.4.2).
func Sign(method, base, consumerSecret, tokenSecret string) string {
	h := sha256.New
	if method == "HMAC-SHA1" {
		h = func() hash.Hash { return sha1.New() }
	}
	mac := hmac.New(h, []byte(Encode(consumerSecret)+"&"+Encode(tokenSecret)))
	mac.Write([]byte(base))
	return base64.StdEncoding.EncodeToString(mac.Sum(nil))
}

// Authorization is the Authorization header of a GET of u signed with
// the integration's credentials.
func Authorization(method string, u *url.URL, o OAuth, p OAuthParams) string {
	p.ConsumerKey, p.Token = o.ConsumerKey, o.AccessToken
	if p.Method == "" {
		p.Method = "HMAC-SHA256"
	}
	vals := p.values()
	vals["oauth_signature"] = Sign(p.Method, BaseString(method, u, nil, vals), o.ConsumerSecret, o.AccessTokenSecret)
	keys := make([]string, 0, len(vals))
	for k := range vals {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = k + `="` + Encode(vals[k]) + `"`
	}
	return "OAuth " + strings.Join(parts, ",")
}

func randomNonce() string {
	b := make([]byte, 16)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}
