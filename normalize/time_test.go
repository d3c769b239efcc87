package normalize_test

import (
	"strings"
	"testing"
	"time"

	"synclayer"
	"synclayer/normalize"
)

func TestTime(t *testing.T) {
	tests := []struct {
		in   string
		want string // RFC 3339 in UTC; "" means an error
	}{
		{"2024-10-02T09:24:09-05:00", "2024-10-02T14:24:09Z"},
		{"2024-10-02T14:24:09Z", "2024-10-02T14:24:09Z"},
		{"2024-10-02T14:24:09+02:00", "2024-10-02T12:24:09Z"},
		{"2023-03-29T18:00:27.877041743Z", "2023-03-29T18:00:27.877041743Z"},
		{"2017-03-21T19:09:28", "2017-03-21T19:09:28Z"},
		{"2017-03-21T19:09:28.5", "2017-03-21T19:09:28.5Z"},
		{" 2017-03-21T19:09:28 ", "2017-03-21T19:09:28Z"},
		{"", ""},
		{"yesterday", ""},
		{"2017-03-21", ""},
		{"2017-03-21 19:09:28", ""},
		{"1614265330", ""},
		{"2017-13-21T19:09:28Z", ""},
		{"2017-03-21T19:09:28+25:00", ""},
		{"0001-01-01T00:00:00+01:00", ""},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, err := normalize.Time(tt.in)
			if tt.want == "" {
				if err == nil {
					t.Fatalf("Time(%q) = %v, want an error", tt.in, got)
				}
				if synclayer.ErrorCode(err) != synclayer.EINVALID || !strings.Contains(err.Error(), "RFC 3339") && !strings.Contains(err.Error(), "range") {
					t.Fatalf("error = %v, want EINVALID saying what to send", err)
				}
				return
			}
			if err != nil {
				t.Fatalf("Time(%q): %v", tt.in, err)
			}
			if got.Location() != time.UTC {
				t.Errorf("location = %v, want UTC", got.Location())
			}
			if s := got.Format(time.RFC3339Nano); s != tt.want {
				t.Errorf("Time(%q) = %s, want %s", tt.in, s, tt.want)
			}
		})
	}
}

func FuzzTime(f *testing.F) {
	for _, s := range []string{"2024-10-02T09:24:09-05:00", "2017-03-21T19:09:28", "2023-03-29T18:00:27.877041743Z", "9999-12-31T23:59:59-01:00"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		got, err := normalize.Time(s)
		if err != nil {
			if synclayer.ErrorCode(err) != synclayer.EINVALID {
				t.Fatalf("Time(%q): error %v is not EINVALID", s, err)
			}
			return
		}
		if got.Location() != time.UTC {
			t.Fatalf("Time(%q) is in %v, want UTC", s, got.Location())
		}
		again, err := normalize.Time(got.Format(time.RFC3339Nano))
		if err != nil || !again.Equal(got) {
			t.Fatalf("Time(%q) = %v, which does not round-trip: %v, %v", s, got, again, err)
		}
	})
}
