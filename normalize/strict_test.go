package normalize_test

import (
	"encoding/json"
	"testing"

	"synclayer"
	"synclayer/normalize"
)

type strictOptions struct {
	ListID int64  `json:"list_id"`
	Mode   string `json:"sync_mode,omitempty"`
}

type strictConfig struct {
	Source  []string          `json:"source"`
	Mapping map[string]string `json:"field_mapping"`
	Options strictOptions     `json:"options"`
	Items   []strictOptions   `json:"items"`
	Data    json.RawMessage   `json:"data"`
}

func TestStrict(t *testing.T) {
	for _, tc := range []struct{ name, body, field string }{
		{"OK", `{"source":["a"],"field_mapping":{"email":"email"},"options":{"list_id":5},"data":{"anything":1}}`, ""},
		{"Empty", ``, "body"},
		{"Malformed", `{"source": [`, "body"},
		{"TwoValues", `{} {}`, "body"},
		{"UnknownTop", `{"sorce":["a"]}`, "sorce"},
		{"UnknownNested", `{"options":{"lis_id":5}}`, "options.lis_id"},
		{"UnknownInList", `{"items":[{"list_id":1},{"mode":"x"}]}`, "items[1].mode"},
		{"CaseMatters", `{"Source":["a"]}`, "Source"},
		{"WrongType", `{"options":{"list_id":"five"}}`, "options.list_id"},
		{"WrongTypeInList", `{"source":["a",2]}`, "source"},
		{"NotAnObject", `[1]`, "body"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var v strictConfig
			err := normalize.Strict("body", []byte(tc.body), &v)
			if tc.field == "" {
				if err != nil {
					t.Fatalf("error %v", err)
				}
				return
			}
			e, ok := err.(*synclayer.Error)
			if !ok || e.Code != synclayer.EINVALID || e.Field != tc.field {
				t.Errorf("error %#v, want EINVALID naming %q", err, tc.field)
			}
		})
	}
}

// FuzzStrict checks that any input decodes or fails with an EINVALID error
// naming a field, and never panics.
func FuzzStrict(f *testing.F) {
	for _, s := range []string{`{"options":{"list_id":5}}`, `{"items":[{"mode":1}]}`, `{"source":"a"}`, `[`, `null`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		var v strictConfig
		err := normalize.Strict("body", body, &v)
		if err == nil {
			return
		}
		if e, ok := err.(*synclayer.Error); !ok || e.Code != synclayer.EINVALID || e.Field == "" {
			t.Fatalf("error %#v for %q, want EINVALID naming a field", err, body)
		}
	})
}
