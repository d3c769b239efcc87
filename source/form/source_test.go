package form_test

import (
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"synclayer"
	"synclayer/source/form"
	"synclayer/source/sourcetest"
)

var now = time.Date(2026, 11, 20, 10, 0, 0, 0, time.UTC)

func open(t *testing.T, section string, secrets ...string) synclayer.FormSource {
	t.Helper()
	src, err := form.Type.Open(secrets, synclayer.SourceSettings{Name: "newsletter", Section: json.RawMessage(section)})
	if err != nil {
		t.Fatal(err)
	}
	return src.(synclayer.FormSource)
}

func post(ct, body string) http.Header {
	h := http.Header{}
	h.Set("Content-Type", ct)
	return h
}

// TestParse: a plain form, a multipart form and a fetch's JSON give the
// same lead, mapped to canonical fields, with every other field kept for
// the rules; a checked consent box is an opt-in.
func TestParse(t *testing.T) {
	src := open(t, `{"honeypot": "website"}`)
	for _, c := range []struct{ ct, body string }{
		{"application/x-www-form-urlencoded", "email=Ann%40Example.com&first_name=Ann&consent=on&plan=pro&website="},
		{"multipart/form-data; boundary=XX", "--XX\r\nContent-Disposition: form-data; name=\"email\"\r\n\r\nAnn@Example.com\r\n--XX\r\nContent-Disposition: form-data; name=\"first_name\"\r\n\r\nAnn\r\n--XX\r\nContent-Disposition: form-data; name=\"consent\"\r\n\r\non\r\n--XX\r\nContent-Disposition: form-data; name=\"plan\"\r\n\r\npro\r\n--XX--\r\n"},
		{"application/json", `{"email": "Ann@Example.com", "first_name": "Ann", "consent": true, "plan": "pro"}`},
	} {
		evs, err := src.Parse(post(c.ct, c.body), []byte(c.body), now)
		if err != nil || len(evs) != 1 {
			t.Fatalf("%s: %v, %v", c.ct, evs, err)
		}
		a := evs[0].Activity
		if a.Kind != synclayer.EventFormSubmitted || string(a.Customer.Fields["email"]) != `"Ann@Example.com"` || string(a.Customer.Fields["firstName"]) != `"Ann"` ||
			a.Customer.EmailConsent == nil || a.Customer.EmailConsent.State != synclayer.ConsentSubscribed || string(a.Fields["plan"]) != `"pro"` || string(a.Fields["form"]) != `"newsletter"` {
			t.Errorf("%s: lead %+v %+v", c.ct, a.Customer, a.Fields)
		}
		sourcetest.CheckFuzzResult(t, []*synclayer.Event{{DedupeKey: evs[0].DedupeKey, OccurredAt: evs[0].OccurredAt, Customer: a.Customer}}, nil)
	}
	// A filled honeypot is dropped without an error, so a bot learns nothing.
	if evs, err := src.Parse(post("application/x-www-form-urlencoded", ""), []byte("email=bot%40x.com&website=http://spam"), now); evs != nil || err != nil {
		t.Errorf("honeypot: %v, %v", evs, err)
	}
	for _, c := range []struct{ ct, body, field string }{
		{"application/x-www-form-urlencoded", "first_name=Ann", "email"},
		{"text/plain", "email=a@b.c", "Content-Type"},
		{"multipart/form-data; boundary=XX", "--XX\r\nContent-Disposition: form-data; name=\"cv\"; filename=\"cv.pdf\"\r\n\r\n%PDF\r\n--XX--\r\n", "cv"},
		{"application/json", `{"email": {"a": 1}}`, "email"},
		{"application/x-www-form-urlencoded", "email=" + strings.Repeat("x", 3) + "&" + strings.Repeat("a=1&", 150), "body"},
	} {
		_, err := src.Parse(post(c.ct, c.body), []byte(c.body), now)
		if e := sourcetest.AsError(t, err); e.Code != synclayer.EINVALID || e.Field != c.field {
			t.Errorf("%s %.40q: %v, want EINVALID on %s", c.ct, c.body, err, c.field)
		}
	}
}

// TestDoubleOptIn: with double_opt_in, a checked box is no opt-in; the
// lead carries a confirmation link whose token gives the opt-in, dated
// when the form asked; an altered, foreign or expired token is refused.
func TestDoubleOptIn(t *testing.T) {
	src := open(t, `{"double_opt_in": true, "public_url": "https://sync.example.com", "confirm_within": "72h"}`, "form_secret_1")
	evs, err := src.Parse(post("application/x-www-form-urlencoded", ""), []byte("email=ann%40example.com&consent=on"), now)
	if err != nil {
		t.Fatal(err)
	}
	a := evs[0].Activity
	var link string
	_ = json.Unmarshal(a.Fields["confirmUrl"], &link)
	if a.Customer.EmailConsent != nil || !strings.HasPrefix(link, "https://sync.example.com/forms/newsletter/confirm?t=") {
		t.Fatalf("double opt-in post: consent %+v, link %q", a.Customer.EmailConsent, link)
	}
	u, _ := url.Parse(link)
	got, err := src.Confirm(u.Query(), now.Add(time.Hour))
	if err != nil || len(got) != 1 || got[0].Customer.EmailConsent.State != synclayer.ConsentSubscribed || !got[0].Customer.EmailConsent.At.Equal(now) {
		t.Fatalf("confirm: %v, %v; want an opt-in dated when the form asked", got, err)
	}
	tok := u.Query().Get("t")
	for name, q := range map[string]url.Values{
		"altered":  {"t": {"x" + tok}},
		"no token": {},
	} {
		if _, err := src.Confirm(q, now); synclayer.ErrorCode(err) != synclayer.EINVALID {
			t.Errorf("%s: %v, want EINVALID", name, err)
		}
	}
	if _, err := src.Confirm(u.Query(), now.Add(73*time.Hour)); err == nil || !strings.Contains(err.Error(), "expired") {
		t.Errorf("expired: %v", err)
	}
	other := open(t, `{"double_opt_in": true, "public_url": "https://sync.example.com"}`, "form_secret_2")
	if _, err := other.Confirm(u.Query(), now); synclayer.ErrorCode(err) != synclayer.EINVALID {
		t.Errorf("a token of another secret: %v, want EINVALID", err)
	}
}

func TestSettings(t *testing.T) {
	for section, field := range map[string]string{
		`{"origins": ["shop.example.com"]}`:    "origins[0]",
		`{"double_opt_in": true}`:              "public_url",
		`{"fields": {"mail": "emailAddress"}}`: "fields.mail",
		`{"redirect": "/thanks"}`:              "redirect",
		`{"colour": "red"}`:                    "colour",
	} {
		_, err := form.Type.Open(nil, synclayer.SourceSettings{Name: "f", Section: json.RawMessage(section)})
		if err == nil || !strings.Contains(err.Error(), field) {
			t.Errorf("%s: %v, want an error naming %s", section, err, field)
		}
	}
	src := open(t, `{"origins": ["https://Shop.example.com/"]}`)
	if !src.AllowOrigin("https://shop.example.com") || src.AllowOrigin("https://evil.example.com") {
		t.Error("origins")
	}
}

// FuzzParse: any body under any content type gives a lead or an
// EINVALID error, never a panic.
func FuzzParse(f *testing.F) {
	f.Add("application/x-www-form-urlencoded", []byte("email=a%40b.co&consent=on"))
	f.Add("application/json", []byte(`{"email":"a@b.co"}`))
	f.Add("multipart/form-data; boundary=XX", []byte("--XX\r\nContent-Disposition: form-data; name=\"email\"\r\n\r\na@b.co\r\n--XX--\r\n"))
	src, err := form.Type.Open([]string{"s"}, synclayer.SourceSettings{Name: "f", Section: json.RawMessage(`{"honeypot":"hp"}`)})
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, ct string, body []byte) {
		evs, err := src.Parse(post(ct, ""), body, now)
		if err == nil && len(evs) == 0 {
			return
		}
		if err != nil {
			sourcetest.CheckFuzzResult(t, nil, err)
			return
		}
		a := evs[0].Activity
		sourcetest.CheckFuzzResult(t, []*synclayer.Event{{DedupeKey: evs[0].DedupeKey, OccurredAt: evs[0].OccurredAt, Customer: a.Customer}}, nil)
	})
}
