package brevospec_test

import (
	"net/http"
	"strings"
	"testing"

	"synclayer/destination/brevo/brevospec"
)

// TestValidator_Errata checks the one correction made to the spec copy:
// a category ID need not be an email, while emails elsewhere still must be.
func TestValidator_Errata(t *testing.T) {
	t.Parallel()
	v := brevospec.Load(t)
	for _, tc := range []struct{ name, path, body, wantErr string }{
		{"CategoryID", "/v3/categories", `{"id":"woocommerce:15","name":"Shirts","updateEnabled":true}`, ""},
		{"CategoryBatchID", "/v3/categories/batch", `{"categories":[{"id":"15","name":"Shirts"}],"updateEnabled":true}`, ""},
		{"ContactEmailStillChecked", "/v3/contacts", `{"email":"woocommerce:15"}`, "email"},
		{"ProductNeedsName", "/v3/products", `{"id":"shopify:9"}`, "name"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r, _ := http.NewRequest("POST", "http://sim"+tc.path, strings.NewReader(tc.body))
			r.Header.Set("content-type", "application/json")
			r.Header.Set("api-key", "k")
			err := v.Validate(r, []byte(tc.body))
			switch {
			case tc.wantErr == "" && err != nil:
				t.Errorf("Validate = %v, want nil", err)
			case tc.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tc.wantErr)):
				t.Errorf("Validate = %v, want an error about %q", err, tc.wantErr)
			}
		})
	}
}
