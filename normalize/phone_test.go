package normalize_test

import (
	"strings"
	"testing"

	"synclayer"
	"synclayer/normalize"
)

func TestPhone(t *testing.T) {
	tests := []struct {
		in, region, want string
		err              string
	}{
		{in: "+1 415-555-2671", want: "+14155552671"},
		{in: "+14155552671", region: "GB", want: "+14155552671"},
		{in: "(415) 555-2671", region: "US", want: "+14155552671"},
		{in: "(415) 555-2671", region: "us", want: "+14155552671"},
		{in: "020 7946 0958", region: "GB", want: "+442079460958"},
		{in: "+44 20 7946 0958", want: "+442079460958"},
		{in: "06 12 34 56 78", region: "FR", want: "+33612345678"},
		{in: " +49 30 901820 ", want: "+4930901820"},
		{in: "", err: "empty"},
		{in: "  ", region: "US", err: "empty"},
		{in: "(415) 555-2671", err: "configure a default region"},
		{in: "hello", region: "US", err: "not a valid phone number"},
		{in: "+1 234", err: "not a valid phone number"},
		{in: "+1234567890", err: "not a valid phone number"},
		{in: "+999 1234567", err: "country code"},
		{in: "1", region: "US", err: "not a valid phone number"},
	}
	for _, tt := range tests {
		t.Run(tt.in+"/"+tt.region, func(t *testing.T) {
			got, err := normalize.Phone(tt.in, tt.region)
			if tt.err == "" {
				if err != nil || got != tt.want {
					t.Fatalf("Phone(%q, %q) = %q, %v; want %q", tt.in, tt.region, got, err, tt.want)
				}
				return
			}
			if err == nil {
				t.Fatalf("Phone(%q, %q) = %q, want an error containing %q", tt.in, tt.region, got, tt.err)
			}
			if code := synclayer.ErrorCode(err); code != synclayer.EINVALID {
				t.Errorf("code = %q, want %q", code, synclayer.EINVALID)
			}
			if !strings.Contains(err.Error(), tt.err) || !strings.HasPrefix(err.Error(), "phone: ") {
				t.Errorf("error = %q, want it to name the field and contain %q", err, tt.err)
			}
		})
	}
}

func FuzzPhone(f *testing.F) {
	f.Add("+1 415-555-2671", "")
	f.Add("(415) 555-2671", "US")
	f.Add("020 7946 0958", "GB")
	f.Add("+44 (0) 20 7946 0958 ext. 12", "GB")
	f.Add("tel:+1-415-555-2671;phone-context=x", "ZZ")
	f.Fuzz(func(t *testing.T, s, region string) {
		got, err := normalize.Phone(s, region)
		if err != nil {
			if synclayer.ErrorCode(err) != synclayer.EINVALID {
				t.Fatalf("Phone(%q, %q): error %v is not EINVALID", s, region, err)
			}
			return
		}
		if !strings.HasPrefix(got, "+") || strings.Trim(got[1:], "0123456789") != "" {
			t.Fatalf("Phone(%q, %q) = %q, not E.164", s, region, got)
		}
		again, err := normalize.Phone(got, "")
		if err != nil || again != got {
			t.Fatalf("Phone(%q, %q) = %q, but Phone(%q) = %q, %v; want it idempotent", s, region, got, got, again, err)
		}
	})
}
