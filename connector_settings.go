package synclayer

import (
	"bytes"
	"encoding/json"
	"errors"
	"net"
	"net/url"
	"strings"
	"time"
)

// DecodeSettings decodes a connector's config block (or a skill's
// options), given as JSON, into v, refusing a key v does not have with an
// error naming it: "is not a <what>". A type mismatch names its field
// too, and a nested block whose UnmarshalJSON returns an *Error keeps its
// field. Empty or null raw decodes nothing. The program prefixes each
// field with the block's own key (sources.shopify-eu.), so the user sees
// where to look.
func DecodeSettings(raw json.RawMessage, v any, what string) error {
	if t := bytes.TrimSpace(raw); len(t) == 0 || string(t) == "null" {
		return nil
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	err := dec.Decode(v)
	if err == nil {
		return nil
	}
	var se *Error
	if errors.As(err, &se) {
		return se
	}
	var te *json.UnmarshalTypeError
	if errors.As(err, &te) {
		return FieldErrorf(te.Field, "must be a %s, not a %s", te.Type.Kind(), te.Value)
	}
	if key, ok := strings.CutPrefix(err.Error(), "json: unknown field "); ok {
		return FieldErrorf(strings.Trim(key, `"`), "is not a %s", what)
	}
	return Errorf(EINVALID, "%s", err.Error())
}

// DecodeBlock is DecodeSettings for a block nested in a section
// (webhook:, admin:, api:): its errors name the key under the block
// (webhook.secret), or the block itself, so the program points at the
// line as it does for the section's own keys.
func DecodeBlock(raw json.RawMessage, v any, block, what string) error {
	err := DecodeSettings(raw, v, what)
	var se *Error
	if errors.As(err, &se) {
		prefixed := *se
		prefixed.Field = block
		if se.Field != "" {
			prefixed.Field = block + "." + se.Field
		}
		return &prefixed
	}
	return err
}

// PublicURL checks a webhook block's public_url, the address a platform
// calls synclayer at (synclayer appends /webhooks/<name>): https, or http
// for this machine only (the built-in simulators, local tests), since the
// platform would otherwise send credential (the webhook's token or
// secret, named by its key) in clear text; no user, query or fragment.
// It returns the URL without a trailing slash; errors are at
// webhook.public_url.
func PublicURL(raw, platform, credential string) (string, error) {
	bad := func(format string, args ...any) (string, error) {
		return "", FieldErrorf("webhook.public_url", format, args...)
	}
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" || u.Opaque != "" || (u.Scheme != "https" && u.Scheme != "http") {
		return bad("must be an https URL where %s reaches synclayer, such as https://sync.example.com", platform)
	}
	if u.Scheme == "http" && !loopback(u.Hostname()) {
		return bad("must be https: over http %s would send %s in clear text (http is allowed only for localhost and 127.0.0.1)", platform, credential)
	}
	if u.User != nil {
		return bad("must not hold a user name or password: the webhook authenticates with %s", credential)
	}
	if u.RawQuery != "" || u.Fragment != "" || u.ForceQuery {
		return bad("must not have a query or fragment: synclayer appends /webhooks/<destination name> to it")
	}
	return strings.TrimRight(u.String(), "/"), nil
}

func loopback(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// Interval is a reconciliation's interval setting (reconcile_interval),
// written like 15m or 1h, or off (also 0, and false, which YAML 1.1 reads
// off as) for none.
type Interval time.Duration

// UnmarshalJSON reads a Go duration string, "off", "0", 0 or false. Any
// other value is an EINVALID *synclayer.Error naming reconcile_interval.
func (iv *Interval) UnmarshalJSON(b []byte) error {
	const how = "write it like 15m or 1h, or off to turn reconciliation off"
	bad := func(format string, args ...any) error {
		return FieldErrorf("reconcile_interval", format+": "+how, args...)
	}
	var v any
	if err := json.Unmarshal(b, &v); err != nil {
		return bad("is not a duration")
	}
	switch v := v.(type) {
	case bool:
		if v {
			return bad("true is not a duration")
		}
		*iv = 0
	case float64:
		if v != 0 {
			return bad("%v has no unit", v)
		}
		*iv = 0
	case string:
		s := strings.TrimSpace(v)
		if strings.EqualFold(s, "off") || s == "0" {
			*iv = 0
			return nil
		}
		d, err := time.ParseDuration(s)
		if err != nil {
			return bad("%q is not a duration", s)
		}
		if d < 0 {
			return bad("%q is negative", s)
		}
		*iv = Interval(d)
	default:
		return bad("is not a duration")
	}
	return nil
}
