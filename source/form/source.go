// Package form is the website-form source: a plain HTML form
// (application/x-www-form-urlencoded or multipart/form-data) or a
// script's fetch (JSON) posts to /forms/<name>, and each post becomes a
// form_submitted lead, its fields mapped to canonical ones.
//
// Nothing signs a browser's post, so the source guards it otherwise:
// origins: lists the pages whose scripts may post (CORS, answered by the
// api package), honeypot: names a field people never see (a post that
// fills it is answered as a success and dropped, so a bot learns
// nothing), and per_client caps posts per address a minute.
//
// The block's secret (every source has one) signs the confirmation links.
//
// Consent: with double_opt_in, the post's consent is not an opt-in. The
// lead's form_submitted view carries confirmUrl, a link signed with the
// source's secret, for a workflow to send (a Brevo event an automation
// emails, for example); the person opening it confirms on a page whose
// button posts the link back, since mail scanners open links, never
// press buttons. Only then is the opt-in recorded, dated when the
// person asked for it, so an opt-out made after the form stands however
// late an old link is used.
package form

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"io"
	"mime"
	"mime/multipart"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"synclayer"
	"synclayer/normalize"
)

// Settings are a form block's own keys.
type Settings struct {
	// Origins are the pages (scheme://host[:port]) whose scripts may post.
	Origins []string `json:"origins"`
	// Fields maps a form field's name to a canonical field (email,
	// firstName, lastName, phone); without it: email, first_name,
	// last_name and phone, in either spelling.
	Fields map[string]string `json:"fields"`
	// ConsentField is the checkbox that asks for marketing mail; default
	// "consent". Checked ("on", "true", "yes", "1") is an opt-in, or with
	// DoubleOptIn a request for one.
	ConsentField string `json:"consent_field"`
	Honeypot     string `json:"honeypot"`   // a hidden field that people leave empty
	PerClient    int    `json:"per_client"` // posts a minute per client address; default 10, -1 for no limit
	Redirect     string `json:"redirect"`   // the thank-you page a plain HTML form goes to
	DoubleOptIn  bool   `json:"double_opt_in"`
	// PublicURL is how people reach synclayer, for the confirmation link
	// (https://sync.example.com); needed with double_opt_in.
	PublicURL string `json:"public_url"`
	// ConfirmWithin is how long a confirmation link works; default 7 days.
	ConfirmWithin string `json:"confirm_within"` // a duration such as 72h
	Confirmed     string `json:"confirmed"`      // the page a confirmed person goes to
}

const settingNames = "form setting; the settings are origins, fields, consent_field, honeypot, per_client, redirect, double_opt_in, public_url, confirm_within and confirmed"

// Type is the website form in the program's registry of sources.
var Type = synclayer.SourceType{Type: "form", SecretPrefix: "form_", Open: open}

func open(secrets []string, st synclayer.SourceSettings) (synclayer.Source, error) {
	var s Settings
	if err := synclayer.DecodeSettings(st.Section, &s, settingNames); err != nil {
		return nil, err
	}
	src := &Source{name: st.Name, settings: s, within: 7 * 24 * time.Hour}
	var errs []error
	for i, o := range s.Origins {
		u, err := url.Parse(o)
		if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" || (u.Path != "" && u.Path != "/") {
			errs = append(errs, synclayer.FieldErrorf("origins["+strconv.Itoa(i)+"]", "%q is not an origin: write scheme://host[:port], such as https://shop.example.com", normalize.Clip(o)))
			continue
		}
		src.origins = append(src.origins, strings.ToLower(u.Scheme+"://"+u.Host))
	}
	src.fields = map[string]string{"email": synclayer.FieldEmail, "first_name": synclayer.FieldFirstName, "firstName": synclayer.FieldFirstName,
		"last_name": synclayer.FieldLastName, "lastName": synclayer.FieldLastName, "phone": synclayer.FieldPhone, "company": synclayer.FieldCompany}
	if len(s.Fields) > 0 {
		src.fields = map[string]string{}
		for k, v := range s.Fields {
			if !slices.Contains([]string{synclayer.FieldEmail, synclayer.FieldFirstName, synclayer.FieldLastName, synclayer.FieldPhone, synclayer.FieldCompany}, v) {
				errs = append(errs, synclayer.FieldErrorf("fields."+k, "%q is not a field a form fills: email, firstName, lastName, phone or company (every other form field reaches the rules as form.<name>)", v))
			}
			src.fields[k] = v
		}
		if !slices.Contains(mapsValues(src.fields), synclayer.FieldEmail) {
			errs = append(errs, synclayer.FieldErrorf("fields", "maps no form field to email: a lead needs one, such as fields: {email: email}"))
		}
	}
	src.consentField = s.ConsentField
	if src.consentField == "" {
		src.consentField = "consent"
	}
	switch {
	case s.PerClient == 0:
		src.perClient = 10
	case s.PerClient > 0:
		src.perClient = s.PerClient
	}
	for _, k := range []string{"redirect", "confirmed"} {
		v := s.Redirect
		if k == "confirmed" {
			v = s.Confirmed
		}
		if v == "" {
			continue
		}
		if u, err := url.Parse(v); err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
			errs = append(errs, synclayer.FieldErrorf(k, "must be an http:// or https:// URL of a page"))
		}
	}
	for _, secret := range secrets {
		if secret = strings.TrimSpace(secret); secret != "" {
			src.keys = append(src.keys, []byte(secret))
		}
	}
	if s.DoubleOptIn {
		if s.PublicURL == "" {
			errs = append(errs, synclayer.FieldErrorf("public_url", "is needed with double_opt_in: the confirmation link points at it, such as public_url: https://sync.example.com"))
		} else if u, err := url.Parse(s.PublicURL); err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" || u.RawQuery != "" {
			errs = append(errs, synclayer.FieldErrorf("public_url", "must be the http:// or https:// URL people reach synclayer at, such as https://sync.example.com"))
		} else {
			src.publicURL = strings.TrimRight(s.PublicURL, "/")
		}
		if s.ConfirmWithin != "" {
			d, err := time.ParseDuration(s.ConfirmWithin)
			if err != nil || d <= 0 {
				errs = append(errs, synclayer.FieldErrorf("confirm_within", "must be a duration such as 72h"))
			} else {
				src.within = d
			}
		}
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	return src, nil
}

func mapsValues(m map[string]string) []string {
	out := make([]string, 0, len(m))
	for _, v := range m {
		out = append(out, v)
	}
	return out
}

// Source is one configured form. It is safe for concurrent use.
type Source struct {
	name         string
	settings     Settings
	origins      []string
	fields       map[string]string
	consentField string
	perClient    int
	keys         [][]byte
	publicURL    string
	within       time.Duration
}

var _ synclayer.FormSource = (*Source)(nil)

// Name returns "form".
func (s *Source) Name() string { return "form" }

// AllowOrigin reports whether origin is one of origins:.
func (s *Source) AllowOrigin(origin string) bool {
	return slices.Contains(s.origins, strings.ToLower(strings.TrimRight(origin, "/")))
}

// Redirect is the thank-you page, or "".
func (s *Source) Redirect() string { return s.settings.Redirect }

// Confirmed is the page after a confirmation, or "".
func (s *Source) Confirmed() string { return s.settings.Confirmed }

// PerClient is the posts a minute one address may make; 0 is no limit.
func (s *Source) PerClient() int { return s.perClient }

// Parse reads one post. A filled honeypot gives no event and no error.
func (s *Source) Parse(h http.Header, body []byte, now time.Time) ([]*synclayer.Event, error) {
	values, err := readValues(h.Get("Content-Type"), body)
	if err != nil {
		return nil, err
	}
	if s.settings.Honeypot != "" && strings.TrimSpace(values.Get(s.settings.Honeypot)) != "" {
		return nil, nil
	}
	ch := &synclayer.CustomerChange{Fields: map[string]json.RawMessage{}}
	fields := map[string]json.RawMessage{}
	for _, k := range sortedKeys(values) {
		v := strings.TrimSpace(values.Get(k))
		if !utf8Valid(v) {
			return nil, synclayer.FieldErrorf(k, "is not valid UTF-8")
		}
		if k == s.settings.Honeypot {
			continue
		}
		raw, _ := json.Marshal(v)
		if to, ok := s.fields[k]; ok {
			if v != "" {
				ch.Fields[to] = raw
			}
			fields[to] = raw
			continue
		}
		fields[k] = raw
	}
	if normalize.IsNull(ch.Fields[synclayer.FieldEmail]) {
		return nil, synclayer.FieldErrorf(s.emailField(), "missing; the form must send the lead's email")
	}
	asked := checked(values.Get(s.consentField))
	if asked && !s.settings.DoubleOptIn {
		ch.EmailConsent = &synclayer.ConsentChange{State: synclayer.ConsentSubscribed, At: now.UTC()}
	}
	fields["form"], _ = json.Marshal(s.name)
	fields["doubleOptIn"], _ = json.Marshal(asked && s.settings.DoubleOptIn)
	if asked && s.settings.DoubleOptIn {
		if len(s.keys) == 0 {
			return nil, synclayer.FieldErrorf("secret", "is not set, and it signs the confirmation links: set sources.%s.secret", s.name)
		}
		var email string
		_ = json.Unmarshal(ch.Fields[synclayer.FieldEmail], &email)
		link := s.publicURL + "/forms/" + url.PathEscape(s.name) + "/confirm?t=" + s.token(email, now)
		fields["confirmUrl"], _ = json.Marshal(link)
	}
	// A double click posts the same body twice within seconds: keyed by
	// the body and the ten minutes it came in, it counts once.
	sum := sha256.Sum256(body)
	key := "post|" + hex.EncodeToString(sum[:16]) + "|" + strconv.FormatInt(now.Unix()/600, 10)
	return []*synclayer.Event{{Source: s.name, DedupeKey: key, Topic: "form", Type: synclayer.EventFormSubmitted,
		OccurredAt: now.UTC(), ReceivedAt: now.UTC(), Payload: body,
		Activity: &synclayer.Activity{Kind: synclayer.EventFormSubmitted, Fields: fields, Customer: ch}}}, nil
}

func (s *Source) emailField() string {
	for k, v := range s.fields {
		if v == synclayer.FieldEmail {
			return k
		}
	}
	return "email"
}

func checked(v string) bool {
	switch strings.ToLower(strings.TrimSpace(v)) {
	case "on", "true", "yes", "1", "checked", "subscribed":
		return true
	}
	return false
}

func utf8Valid(s string) bool { return strings.ToValidUTF8(s, "\uFFFD") == s }

func sortedKeys(v url.Values) []string {
	keys := make([]string, 0, len(v))
	for k := range v {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

// maxFields bounds a post: a form has a handful.
const maxFields = 100

// readValues reads a post's fields: urlencoded, multipart (files are
// refused) or a JSON object of strings.
func readValues(contentType string, body []byte) (url.Values, error) {
	mt, params, err := mime.ParseMediaType(contentType)
	if contentType == "" || err != nil {
		return nil, synclayer.FieldErrorf("Content-Type", "must be application/x-www-form-urlencoded, multipart/form-data or application/json")
	}
	var v url.Values
	switch mt {
	case "application/x-www-form-urlencoded":
		if v, err = url.ParseQuery(string(body)); err != nil {
			return nil, synclayer.FieldErrorf("body", "is not a URL-encoded form")
		}
	case "multipart/form-data":
		v = url.Values{}
		r := multipart.NewReader(bytes.NewReader(body), params["boundary"])
		for {
			p, err := r.NextPart()
			if err == io.EOF {
				break
			}
			if err != nil {
				return nil, synclayer.FieldErrorf("body", "is not a multipart form")
			}
			if p.FileName() != "" {
				return nil, synclayer.FieldErrorf(p.FormName(), "is a file; a form here takes text fields only")
			}
			b, err := io.ReadAll(io.LimitReader(p, 64<<10))
			if err != nil {
				return nil, synclayer.FieldErrorf("body", "is not a multipart form")
			}
			v.Add(p.FormName(), string(b))
		}
	case "application/json":
		obj, err := normalize.Object("body", body)
		if err != nil {
			return nil, err
		}
		v = url.Values{}
		for k, raw := range obj {
			var str string
			switch {
			case json.Unmarshal(raw, &str) == nil:
			case string(raw) == "true" || string(raw) == "false":
				str = string(raw)
			case normalize.IsNull(raw):
				continue
			default:
				return nil, synclayer.FieldErrorf(k, "must be a string or true/false, as a form field is")
			}
			v.Set(k, str)
		}
	default:
		return nil, synclayer.FieldErrorf("Content-Type", "%s is not a form: post application/x-www-form-urlencoded, multipart/form-data or application/json", normalize.Clip(mt))
	}
	n := 0
	for _, vs := range v {
		n += len(vs)
	}
	if n > maxFields {
		return nil, synclayer.FieldErrorf("body", "has %d fields; a form here takes at most %d", n, maxFields)
	}
	return v, nil
}

// token signs an email and the time it asked: base64url(JSON) "."
// base64url(HMAC-SHA256).
func (s *Source) token(email string, at time.Time) string {
	payload, _ := json.Marshal(struct {
		E string `json:"e"`
		T int64  `json:"t"`
	}{email, at.Unix()})
	p := base64.RawURLEncoding.EncodeToString(payload)
	mac := hmac.New(sha256.New, s.keys[0])
	mac.Write([]byte(s.name + "|" + p))
	return p + "." + base64.RawURLEncoding.EncodeToString(mac.Sum(nil))
}

// Confirm reads a confirmation link's t= and returns the opt-in it
// stands for, dated when the form asked for it.
func (s *Source) Confirm(q url.Values, now time.Time) ([]*synclayer.Event, error) {
	if !s.settings.DoubleOptIn {
		return nil, synclayer.Errorf(synclayer.ENOTFOUND, "this form does not ask for confirmations (double_opt_in is off)")
	}
	t := q.Get("t")
	p, sig, ok := strings.Cut(t, ".")
	got, err := base64.RawURLEncoding.DecodeString(sig)
	if !ok || err != nil {
		return nil, synclayer.FieldErrorf("t", "is not a confirmation link's token: open the link from the email as it was sent")
	}
	valid := false
	for _, k := range s.keys {
		mac := hmac.New(sha256.New, k)
		mac.Write([]byte(s.name + "|" + p))
		if hmac.Equal(mac.Sum(nil), got) {
			valid = true
			break
		}
	}
	if !valid {
		return nil, synclayer.FieldErrorf("t", "does not verify: the link was altered, or was made for another form or with a secret since replaced")
	}
	raw, err := base64.RawURLEncoding.DecodeString(p)
	var claim struct {
		E string `json:"e"`
		T int64  `json:"t"`
	}
	if err != nil || json.Unmarshal(raw, &claim) != nil || claim.E == "" || claim.T <= 0 {
		return nil, synclayer.FieldErrorf("t", "is not a confirmation link's token")
	}
	asked := time.Unix(claim.T, 0).UTC()
	if now.Sub(asked) > s.within {
		return nil, synclayer.FieldErrorf("t", "the link has expired (it works for %s): fill in the form again for a new one", s.within)
	}
	email, _ := json.Marshal(claim.E)
	sum := sha256.Sum256([]byte(t))
	return []*synclayer.Event{{Source: s.name, DedupeKey: "confirm|" + hex.EncodeToString(sum[:16]), Topic: "confirmation",
		Type: synclayer.EventCustomerUpdated, OccurredAt: asked, ReceivedAt: now.UTC(),
		Customer: &synclayer.CustomerChange{Fields: map[string]json.RawMessage{synclayer.FieldEmail: email},
			EmailConsent: &synclayer.ConsentChange{State: synclayer.ConsentSubscribed, At: asked}}}}, nil
}
