package custom_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"synclayer"
	"synclayer/source/custom"
	"synclayer/source/sourcetest"
)

var update = flag.Bool("update", false, "rewrite the golden want.json files")

// The official Standard Webhooks vectors: A from the Go, JavaScript, Python,
// PHP, Ruby and C# libraries' tests, B from the Rust library's.
var (
	vectorA = vector{
		secret: "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", id: "msg_p5jXN8AQM9LWM0D4loKWxJek", ts: 1614265330,
		body: `{"test": 2432232314}`, sig: "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=",
	}
	vectorB = vector{
		secret: "whsec_C2FVsBQIhrscChlQIMV+b5sSYspob7oD", id: "msg_27UH4WbU6Z5A5EzD8u03UvzRbpk", ts: 1649367553,
		body: `{"email":"test@example.com","username":"test_user"}`, sig: "v1,tZ1I4/hDygAJgO5TYxiSd6Sd0kDW6hPenDe+bTa3Kkw=",
	}
)

type vector struct {
	secret, id string
	ts         int64
	body, sig  string
}

func (v vector) headers() http.Header {
	h := http.Header{}
	h.Set("webhook-id", v.id)
	h.Set("webhook-timestamp", strconv.FormatInt(v.ts, 10))
	h.Set("webhook-signature", v.sig)
	return h
}

func TestSign(t *testing.T) {
	for _, v := range []vector{vectorA, vectorB} {
		for _, secret := range []string{v.secret, strings.TrimPrefix(v.secret, "whsec_")} {
			got, err := custom.Sign(secret, v.id, time.Unix(v.ts, 0), []byte(v.body))
			if err != nil || got != v.sig {
				t.Errorf("Sign(%s) = %q, %v; want %q", secret, got, err, v.sig)
			}
		}
	}
	// 23 bytes: padded base64 ends in "=", unpadded is the same key.
	padded, unpadded := "whsec_AAECAwQFBgcICQoLDA0ODxAREhMUFRY=", "whsec_AAECAwQFBgcICQoLDA0ODxAREhMUFRY"
	a, errA := custom.Sign(padded, "msg_1", time.Unix(1, 0), nil)
	b, errB := custom.Sign(unpadded, "msg_1", time.Unix(1, 0), nil)
	if errA != nil || errB != nil || a != b {
		t.Errorf("padded %q, %v; unpadded %q, %v; want the same signature", a, errA, b, errB)
	}
	for _, secret := range []string{"", "whsec_", "  ", "whsec_not base64!", "whsk_AAAA"} {
		if _, err := custom.Sign(secret, "msg_1", time.Unix(1, 0), nil); synclayer.ErrorCode(err) != synclayer.EINVALID {
			t.Errorf("Sign(%q) error = %v, want EINVALID", secret, err)
		}
	}
}

// TestSource_Verify runs the Standard Webhooks libraries' positive and
// negative cases through Parse. The vectors' bodies are not customer
// events, so a delivery that verifies fails later, on the "event" field.
func TestSource_Verify(t *testing.T) {
	verified := func(e *synclayer.Error) bool { return e.Code == synclayer.EINVALID && e.Field == "event" }
	tests := []struct {
		name    string
		v       vector
		secrets []string // nil means {v.secret}
		tol     time.Duration
		now     int64 // offset from v.ts in seconds
		body    *string
		edit    func(http.Header)
		field   string // "" means the delivery verifies
	}{
		{name: "VectorA", v: vectorA},
		{name: "VectorB", v: vectorB},
		{name: "SecretWithoutPrefix", v: vectorA, secrets: []string{"MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"}},
		{name: "RotationOldSecret", v: vectorA, secrets: []string{vectorB.secret, vectorA.secret}},
		{name: "SeveralSignatures", v: vectorA, edit: func(h http.Header) {
			h.Set("webhook-signature", "v1,Ceo5qEr07ixe2NLpvHk3FH9bwy/WavXrAFQ/9tdO6mc= v2,Ceo5qEr07ixe2NLpvHk3FH9bwy/WavXrAFQ/9tdO6mc= "+
				vectorA.sig+" v1,Ceo5qEr07ixe2NLpvHk3FH9bwy/WavXrAFQ/9tdO6mc=")
		}},
		{name: "SignatureHeaderTwice", v: vectorA, edit: func(h http.Header) {
			h.Set("webhook-signature", "v1,Ceo5qEr07ixe2NLpvHk3FH9bwy/WavXrAFQ/9tdO6mc=")
			h.Add("webhook-signature", vectorA.sig)
		}},
		{name: "LowercaseHeaderNames", v: vectorA, edit: func(h http.Header) { recase(h, strings.ToLower) }},
		{name: "UppercaseHeaderNames", v: vectorA, edit: func(h http.Header) { recase(h, strings.ToUpper) }},
		{name: "AtToleranceEdge", v: vectorA, now: 300},
		{name: "AtToleranceEdgeEarly", v: vectorA, now: -300},

		{name: "MissingID", v: vectorA, edit: func(h http.Header) { h.Del("webhook-id") }, field: "webhook-id"},
		{name: "MissingTimestamp", v: vectorA, edit: func(h http.Header) { h.Del("webhook-timestamp") }, field: "webhook-timestamp"},
		{name: "MissingSignature", v: vectorA, edit: func(h http.Header) { h.Del("webhook-signature") }, field: "webhook-signature"},
		{name: "WrongSignature", v: vectorA, edit: setSig("v1,Ceo5qEr07ixe2NLpvHk3FH9bwy/WavXrAFQ/9tdO6mc="), field: "webhook-signature"},
		{name: "EmptySignature", v: vectorA, edit: setSig("v1,"), field: "webhook-signature"},
		{name: "GarbageSignature", v: vectorA, edit: setSig("v1,dawfeoifkpqwoekfpqoekf"), field: "webhook-signature"},
		{name: "TruncatedSignature", v: vectorA, edit: setSig(vectorA.sig[:len(vectorA.sig)-4]), field: "webhook-signature"},
		{name: "UnversionedSignature", v: vectorA, edit: setSig(strings.TrimPrefix(vectorA.sig, "v1,")), field: "webhook-signature"},
		{name: "OnlyOtherVersions", v: vectorA, edit: setSig("v2," + strings.TrimPrefix(vectorA.sig, "v1,")), field: "webhook-signature"},
		{name: "OtherBody", v: vectorA, body: ptr(`{"test": 2432232315}`), field: "webhook-signature"},
		{name: "OtherID", v: vectorA, edit: func(h http.Header) { h.Set("webhook-id", "msg_other") }, field: "webhook-signature"},
		{name: "WrongSecret", v: vectorA, secrets: []string{vectorB.secret}, field: "webhook-signature"},
		{name: "TimestampNotANumber", v: vectorA, edit: func(h http.Header) { h.Set("webhook-timestamp", "hello") }, field: "webhook-timestamp"},
		{name: "TooOld", v: vectorA, now: 301, field: "webhook-timestamp"},
		{name: "TooNew", v: vectorA, now: -301, field: "webhook-timestamp"},
		{name: "OutsideCustomTolerance", v: vectorA, tol: time.Minute, now: 120, field: "webhook-timestamp"},
		{name: "EmptySecret", v: vectorA, secrets: []string{""}, field: "-"},
		{name: "EmptyPrefixedSecret", v: vectorA, secrets: []string{"whsec_"}, field: "-"},
		{name: "NoSecret", v: vectorA, secrets: []string{}, field: "-"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			secrets := tt.secrets
			if secrets == nil {
				secrets = []string{tt.v.secret}
			}
			h := tt.v.headers()
			if tt.edit != nil {
				tt.edit(h)
			}
			body := tt.v.body
			if tt.body != nil {
				body = *tt.body
			}
			src := custom.New(custom.Config{Secrets: secrets, Tolerance: tt.tol})
			_, err := src.Parse(h, []byte(body), time.Unix(tt.v.ts+tt.now, 0))
			e := sourcetest.AsError(t, err)
			switch tt.field {
			case "":
				if !verified(e) {
					t.Fatalf("error = %#v, want the delivery to verify", e)
				}
			case "-":
				if e.Code != synclayer.EUNAUTHORIZED || !strings.Contains(e.Message, "secret configured for source custom") {
					t.Fatalf("error = %#v, want EUNAUTHORIZED about the missing secret", e)
				}
			default:
				if e.Code != synclayer.EUNAUTHORIZED || e.Field != tt.field || !strings.Contains(e.Message, tt.field) {
					t.Fatalf("error = %#v, want EUNAUTHORIZED naming %s", e, tt.field)
				}
			}
		})
	}
}

func TestSource_VerifyEmptyBody(t *testing.T) {
	now := time.Unix(vectorA.ts, 0)
	sig, err := custom.Sign(vectorA.secret, vectorA.id, now, nil)
	if err != nil {
		t.Fatal(err)
	}
	h := vectorA.headers()
	h.Set("webhook-signature", sig)
	_, err = custom.New(custom.Config{Secrets: []string{vectorA.secret}}).Parse(h, nil, now)
	if e := sourcetest.AsError(t, err); e.Code != synclayer.EINVALID || e.Field != "body" {
		t.Fatalf("error = %#v, want the empty body to verify and then fail as EINVALID body", e)
	}
}

func TestSource_ToleranceMessage(t *testing.T) {
	_, err := custom.New(custom.Config{Secrets: []string{vectorA.secret}}).Parse(vectorA.headers(), []byte(vectorA.body), time.Unix(vectorA.ts+3600, 0))
	if e := sourcetest.AsError(t, err); !strings.Contains(e.Message, "outside the tolerance of 5m0s") {
		t.Errorf("message = %q", e.Message)
	}
}

func TestConfig_Validate(t *testing.T) {
	if err := (custom.Config{Secrets: []string{vectorA.secret, "MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaS"}}).Validate(); err != nil {
		t.Errorf("Validate: %v", err)
	}
	for _, tt := range []struct {
		secrets []string
		field   string
	}{
		{nil, "secrets"},
		{[]string{vectorA.secret, ""}, "secrets[1]"},
		{[]string{"whsec_"}, "secrets[0]"},
		{[]string{"whsec_%%%"}, "secrets[0]"},
	} {
		err := custom.Config{Secrets: tt.secrets}.Validate()
		if e := sourcetest.AsError(t, err); e.Code != synclayer.EINVALID || e.Field != tt.field {
			t.Errorf("Validate(%q) = %#v, want EINVALID on %s", tt.secrets, e, tt.field)
		}
	}
}

func TestSource_Name(t *testing.T) {
	var src synclayer.Source = custom.New(custom.Config{})
	if src.Name() != "custom" {
		t.Errorf("Name() = %q", src.Name())
	}
}

const testSecret = "whsec_dGhpcy1pcy1hLXRlc3Qtc2VjcmV0LWZvci1zeW5jbGF5ZXI="

var now = time.Unix(1727879049, 0) // 2024-10-02T14:24:09Z, the fixtures' webhook-timestamp

// TestSource_Parse runs each testdata case through Parse, signed with
// testSecret, and compares the events with want.json. It also checks that
// ParseEvent gives the same event without the signature and dedupe key.
func TestSource_Parse(t *testing.T) {
	entries, err := os.ReadDir("testdata")
	if err != nil {
		t.Fatal(err)
	}
	src := custom.New(custom.Config{Secrets: []string{testSecret}})
	for _, e := range entries {
		if !e.IsDir() || e.Name() == "fuzz" {
			continue
		}
		t.Run(e.Name(), func(t *testing.T) {
			t.Parallel()
			dir := filepath.Join("testdata", e.Name())
			body := sourcetest.MustRead(t, filepath.Join(dir, "body.json"))
			h := sourcetest.MustReadHeaders(t, filepath.Join(dir, "headers"), false)
			ts, _ := strconv.ParseInt(h.Get("webhook-timestamp"), 10, 64)
			sig, err := custom.Sign(testSecret, h.Get("webhook-id"), time.Unix(ts, 0), body)
			if err != nil {
				t.Fatal(err)
			}
			h.Set("webhook-signature", sig)
			events, err := src.Parse(h, body, now)
			sourcetest.CheckGolden(t, filepath.Join(dir, "want.json"), events, err, *update)

			ev, err2 := custom.ParseEvent(body, now)
			if (err == nil) != (err2 == nil) || err != nil && err.Error() != err2.Error() {
				t.Fatalf("ParseEvent error %v, Parse error %v", err2, err)
			}
			if err != nil {
				return
			}
			if ev.DedupeKey != "" || events[0].DedupeKey != h.Get("webhook-id") {
				t.Errorf("DedupeKey: ParseEvent %q, Parse %q; want \"\" and the webhook-id", ev.DedupeKey, events[0].DedupeKey)
			}
			if !bytes.Equal(ev.Payload, body) {
				t.Errorf("Payload is not the raw body")
			}
			ev.DedupeKey = events[0].DedupeKey
			a, _ := json.Marshal(ev)
			b, _ := json.Marshal(events[0])
			if !bytes.Equal(a, b) {
				t.Errorf("ParseEvent = %s\nParse = %s", a, b)
			}
		})
	}
}

// FuzzParse signs whatever body it is given, so every input reaches
// ParseEvent. A signed delivery must give an event or an EINVALID *Error,
// never a panic, and every field value must be valid JSON.
func FuzzParse(f *testing.F) {
	entries, _ := os.ReadDir("testdata")
	for _, e := range entries {
		if body, err := os.ReadFile(filepath.Join("testdata", e.Name(), "body.json")); err == nil {
			f.Add(body)
		}
	}
	src := custom.New(custom.Config{Secrets: []string{testSecret}})
	f.Fuzz(func(t *testing.T, body []byte) {
		h := http.Header{}
		h.Set("webhook-id", "msg_fuzz")
		h.Set("webhook-timestamp", strconv.FormatInt(now.Unix(), 10))
		h.Set("webhook-signature", "v1,Ceo5qEr07ixe2NLpvHk3FH9bwy/WavXrAFQ/9tdO6mc=")
		if _, err := src.Parse(h, body, now); synclayer.ErrorCode(err) != synclayer.EUNAUTHORIZED {
			t.Fatalf("badly signed delivery: error %v, want EUNAUTHORIZED", err)
		}
		sig, err := custom.Sign(testSecret, "msg_fuzz", now, body)
		if err != nil {
			t.Fatal(err)
		}
		h.Set("webhook-signature", sig)
		events, err := src.Parse(h, body, now)
		if err != nil {
			var e *synclayer.Error
			if !errors.As(err, &e) || e.Code != synclayer.EINVALID || e.Message == "" {
				t.Fatalf("error %#v is not an EINVALID *synclayer.Error", err)
			}
			return
		}
		if len(events) != 1 {
			t.Fatalf("got %d events, want 1", len(events))
		}
		ev := events[0]
		if ev.Activity != nil {
			checkActivity(t, ev) // activity_test.go
			return
		}
		if ev.Order != nil || ev.Product != nil || ev.Cart != nil {
			if ev.DedupeKey != "msg_fuzz" || ev.OccurredAt.IsZero() || ev.OccurredAt.Location() != time.UTC {
				t.Fatalf("incomplete event %+v", ev)
			}
			sourcetest.CheckCommerce(t, ev)
			return
		}
		if ev.Customer == nil || !ev.Customer.Identifies() || ev.DedupeKey != "msg_fuzz" || ev.OccurredAt.Location() != time.UTC {
			t.Fatalf("incomplete event %+v", ev)
		}
		for _, m := range []map[string]json.RawMessage{ev.Customer.Fields, ev.Customer.Old} {
			for k, v := range m {
				if !json.Valid(v) {
					t.Fatalf("field %s = %q is not valid JSON", k, v)
				}
			}
		}
	})
}

func setSig(sig string) func(http.Header) {
	return func(h http.Header) { h.Set("webhook-signature", sig) }
}

// recase rewrites the header names with f, bypassing canonicalization, as
// a hand-built or HTTP/2 header map may hold them.
func recase(h http.Header, f func(string) string) {
	for k, vs := range h {
		delete(h, k)
		h[f(k)] = vs
	}
}

func ptr(s string) *string { return &s }
