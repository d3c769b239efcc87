package normalize_test

import (
	"strings"
	"testing"

	"synclayer"
	"synclayer/normalize"
)

func TestEmail(t *testing.T) {
	long := strings.Repeat("a", 64) + "@" + strings.Repeat("b", 185) + ".com" // 254
	tests := []struct {
		in, want string
		err      string // substring of the message; "" means valid
	}{
		{in: "john.doe@example.com", want: "john.doe@example.com"},
		{in: "  John.Doe@Example.COM \n", want: "john.doe@example.com"},
		{in: "a+tag@sub.example.co.uk", want: "a+tag@sub.example.co.uk"},
		{in: "o'brien@example.ie", want: "o'brien@example.ie"},
		{in: long, want: long},
		{in: "", err: "empty"},
		{in: "   ", err: "empty"},
		{in: "john.example.com", err: "has no @"},
		{in: "john@@example.com", err: "more than one @"},
		{in: "jo@hn@example.com", err: "more than one @"},
		{in: "@example.com", err: "nothing comes before the @"},
		{in: "john@", err: "nothing comes after the @"},
		{in: "john@localhost", err: "no dot"},
		{in: "john@.example.com", err: "empty label"},
		{in: "john@example..com", err: "empty label"},
		{in: "john@example.com.", err: "empty label"},
		{in: "john doe@example.com", err: "contains a space"},
		{in: "john@exa\tmple.com", err: "contains a space"},
		{in: "John <john@example.com>", err: "contains a space"},
		{in: "<john@example.com>", err: "bare address"},
		{in: `"john"@example.com`, err: "bare address"},
		{in: "john..doe@example.com", err: "not a valid email address"},
		{in: "john(comment)@example.com", err: "not a valid email address"},
		{in: "a" + long, err: "longer than 254"},
		{in: strings.Repeat("a", 65) + "@example.com", err: "longer than 64"},
		{in: "jo\xffhn@example.com", err: "UTF-8"},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, err := normalize.Email(tt.in)
			if tt.err == "" {
				if err != nil || got != tt.want {
					t.Fatalf("Email(%q) = %q, %v; want %q", tt.in, got, err, tt.want)
				}
				return
			}
			if err == nil {
				t.Fatalf("Email(%q) = %q, want an error containing %q", tt.in, got, tt.err)
			}
			if code := synclayer.ErrorCode(err); code != synclayer.EINVALID {
				t.Errorf("code = %q, want %q", code, synclayer.EINVALID)
			}
			if !strings.Contains(err.Error(), tt.err) || !strings.HasPrefix(err.Error(), "email: ") {
				t.Errorf("error = %q, want it to name the field and contain %q", err, tt.err)
			}
		})
	}
}

func FuzzEmail(f *testing.F) {
	for _, s := range []string{"john.doe@example.com", " A@B.CO ", "a@b", "\"a b\"@c.com", "<a@b.com>", "a@b@c.d", "é@ü.de", "İ@x.tr"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		got, err := normalize.Email(s)
		if err != nil {
			if synclayer.ErrorCode(err) != synclayer.EINVALID {
				t.Fatalf("Email(%q): error %v is not EINVALID", s, err)
			}
			return
		}
		if len(got) > 254 || strings.Count(got, "@") != 1 || strings.ContainsAny(got, " \t\r\n<>") {
			t.Fatalf("Email(%q) = %q, which breaks the rules", s, got)
		}
		again, err := normalize.Email(got)
		if err != nil || again != got {
			t.Fatalf("Email(%q) = %q, but Email(%q) = %q, %v; want it idempotent", s, got, got, again, err)
		}
	})
}
