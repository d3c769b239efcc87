package normalize_test

import (
	"encoding/json"
	"strings"
	"testing"

	"synclayer"
	"synclayer/normalize"
)

func TestObject(t *testing.T) {
	m, err := normalize.Object("body", []byte(` {"a": 1, "b": {"c": null}} `))
	if err != nil || len(m) != 2 || string(m["b"]) != `{"c": null}` {
		t.Fatalf("Object = %v, %v", m, err)
	}
	for _, tt := range []struct{ in, err string }{
		{``, "body: is empty"},
		{`{"a": 1,}`, "body: malformed JSON at byte offset 9"},
		{`{"a": 1} x`, "body: malformed JSON at byte offset 10"},
		{`[1]`, "body: must be a JSON object, not an array"},
		{`"x"`, "body: must be a JSON object, not a string"},
		{`null`, "body: must be a JSON object, not null"},
		{`webhook_id=1`, "body: malformed JSON at byte offset 1"},
	} {
		_, err := normalize.Object("body", []byte(tt.in))
		if err == nil || synclayer.ErrorCode(err) != synclayer.EINVALID || !strings.HasPrefix(err.Error(), tt.err) {
			t.Errorf("Object(%q) error = %v, want prefix %q", tt.in, err, tt.err)
		}
	}
}

func TestValue(t *testing.T) {
	type conv func(field string, raw json.RawMessage) (json.RawMessage, error)
	date := func(field string, raw json.RawMessage) (json.RawMessage, error) {
		v, _, err := normalize.Date(field, raw)
		return v, err
	}
	tests := []struct {
		name string
		fn   conv
		in   string
		want string // "" means an error
		err  string
	}{
		{"Text", normalize.Text, `"  Bob "`, `"Bob"`, ""},
		{"Text", normalize.Text, `"Léon <x> & y"`, `"Léon \u003cx\u003e \u0026 y"`, ""},
		{"Text", normalize.Text, `""`, `null`, ""},
		{"Text", normalize.Text, `null`, `null`, ""},
		{"Text", normalize.Text, `5`, "", "f: must be a string or null, not a number"},
		{"Text", normalize.Text, `{}`, "", "f: must be a string or null, not an object"},
		{"Integer", normalize.Integer, `12`, `12`, ""},
		{"Integer", normalize.Integer, `"12"`, `12`, ""},
		{"Integer", normalize.Integer, `"007"`, `7`, ""},
		{"Integer", normalize.Integer, `null`, `null`, ""},
		{"Integer", normalize.Integer, `1.5`, "", "f: must be a whole number"},
		{"Integer", normalize.Integer, `"many"`, "", `f: "many" is not a whole number`},
		{"Integer", normalize.Integer, `true`, "", "f: must be a whole number or null, not a boolean"},
		{"Decimal", normalize.Decimal, `"199.65"`, `199.65`, ""},
		{"Decimal", normalize.Decimal, `"0.00"`, `0.00`, ""},
		{"Decimal", normalize.Decimal, `"12345678901234567890.123456789"`, `12345678901234567890.123456789`, ""},
		{"Decimal", normalize.Decimal, `499.99`, `499.99`, ""},
		{"Decimal", normalize.Decimal, `""`, `null`, ""},
		{"Decimal", normalize.Decimal, `"1,234.50"`, "", "is not a decimal number"},
		{"Decimal", normalize.Decimal, `"+5"`, "", "is not a decimal number"},
		{"Decimal", normalize.Decimal, `"5 "`, `5`, ""},
		{"Decimal", normalize.Decimal, `"NaN"`, "", "is not a decimal number"},
		{"Decimal", normalize.Decimal, `[]`, "", "f: must be a decimal number or null, not an array"},
		{"Tags", normalize.Tags, `"Léon, Noël"`, `["Léon","Noël"]`, ""},
		{"Tags", normalize.Tags, `" vip ,, wholesale ,"`, `["vip","wholesale"]`, ""},
		{"Tags", normalize.Tags, `""`, `[]`, ""},
		{"Tags", normalize.Tags, `[" vip", "", "b2b"]`, `["vip","b2b"]`, ""},
		{"Tags", normalize.Tags, `null`, `null`, ""},
		{"Tags", normalize.Tags, `["vip", 3]`, "", "f[1]: must be a string, not a number"},
		{"Tags", normalize.Tags, `{}`, "", "f: must be a comma-separated string or an array of strings"},
		{"Date", date, `"2024-10-02T09:24:09-05:00"`, `"2024-10-02T14:24:09Z"`, ""},
		{"Date", date, `"2017-03-21T19:09:28"`, `"2017-03-21T19:09:28Z"`, ""},
		{"Date", date, `null`, `null`, ""},
		{"Date", date, `"last week"`, "", `f: "last week" is not a timestamp`},
		{"Date", date, `1614265330`, "", "f: must be an RFC 3339 timestamp string or null, not a number"},
		{"Raw", normalize.Raw, `{ "a" : [1, 2] }`, `{"a":[1,2]}`, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name+"/"+tt.in, func(t *testing.T) {
			got, err := tt.fn("f", json.RawMessage(tt.in))
			if tt.want != "" {
				if err != nil || string(got) != tt.want {
					t.Fatalf("%s(%s) = %s, %v; want %s", tt.name, tt.in, got, err, tt.want)
				}
				return
			}
			if err == nil || synclayer.ErrorCode(err) != synclayer.EINVALID || !strings.Contains(err.Error(), tt.err) {
				t.Fatalf("%s(%s) = %s, %v; want EINVALID containing %q", tt.name, tt.in, got, err, tt.err)
			}
		})
	}
}

func TestID(t *testing.T) {
	for _, tt := range []struct{ in, want, err string }{
		{`706405506930370084`, "706405506930370084", ""},
		{`99999999999999999999`, "99999999999999999999", ""},
		{`" cust_12345 "`, "cust_12345", ""},
		{`null`, "", ""},
		{`1.5`, "", "must be a string or a whole number"},
		{`1e3`, "", "must be a string or a whole number"},
		{`{}`, "", "must be a string or a whole number, not an object"},
	} {
		got, err := normalize.ID("id", json.RawMessage(tt.in))
		if tt.err == "" && (err != nil || got != tt.want) {
			t.Errorf("ID(%s) = %q, %v; want %q", tt.in, got, err, tt.want)
		}
		if tt.err != "" && (err == nil || !strings.Contains(err.Error(), tt.err)) {
			t.Errorf("ID(%s) = %q, %v; want error %q", tt.in, got, err, tt.err)
		}
	}
}

func TestBool(t *testing.T) {
	if b, ok, err := normalize.Bool("f", json.RawMessage(`true`)); !b || !ok || err != nil {
		t.Errorf("Bool(true) = %v, %v, %v", b, ok, err)
	}
	if _, ok, err := normalize.Bool("f", json.RawMessage(`null`)); ok || err != nil {
		t.Errorf("Bool(null) = %v, %v", ok, err)
	}
	if _, _, err := normalize.Bool("f", json.RawMessage(`"yes"`)); err == nil || err.Error() != "f: must be true, false or null, not a string" {
		t.Errorf("Bool(\"yes\") error = %v", err)
	}
}
