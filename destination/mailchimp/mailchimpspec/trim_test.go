package mailchimpspec

import (
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"
)

// EnvTrimSource names the full spec to trim: set it to regenerate
// testdata/openapi/marketing.json (see testdata/openapi/SOURCE.md):
//
//	MAILCHIMP_SPEC_SOURCE=/path/to/openapi.yaml go test ./destination/mailchimp/mailchimpspec -run TestTrim
const EnvTrimSource = "MAILCHIMP_SPEC_SOURCE"

// kept are the operations synclayer uses; everything else is dropped.
var kept = map[string][]string{
	"/lists/{list_id}/members/{subscriber_hash}":                               {"get", "put", "patch", "delete"},
	"/lists/{list_id}/members/{subscriber_hash}/actions/delete-permanent":      {"post"},
	"/lists/{list_id}/members/{subscriber_hash}/tags":                          {"get", "post"},
	"/lists/{list_id}/members/{subscriber_hash}/events":                        {"post"},
	"/lists/{list_id}/merge-fields":                                            {"get", "post"},
	"/lists/{list_id}":                                                         {"get"},
	"/lists/{list_id}/webhooks":                                                {"get", "post"},
	"/lists/{list_id}/webhooks/{webhook_id}":                                   {"get", "patch"},
	"/batches":                                                                 {"post"},
	"/batches/{batch_id}":                                                      {"get"},
	"/ecommerce/stores":                                                        {"post"},
	"/ecommerce/stores/{store_id}":                                             {"get"},
	"/ecommerce/stores/{store_id}/orders":                                      {"post"},
	"/ecommerce/stores/{store_id}/orders/{order_id}":                           {"get", "patch"},
	"/ecommerce/stores/{store_id}/orders/{order_id}/lines/{line_id}":           {"delete"},
	"/ecommerce/stores/{store_id}/products":                                    {"post"},
	"/ecommerce/stores/{store_id}/products/{product_id}":                       {"get", "patch", "delete"},
	"/ecommerce/stores/{store_id}/products/{product_id}/variants/{variant_id}": {"get", "put", "delete"},
	"/ecommerce/stores/{store_id}/carts":                                       {"post"},
	"/ecommerce/stores/{store_id}/carts/{cart_id}":                             {"get", "patch", "delete"},
	"/ecommerce/stores/{store_id}/carts/{cart_id}/lines/{line_id}":             {"delete"},
}

func TestTrim(t *testing.T) {
	src := os.Getenv(EnvTrimSource)
	if src == "" {
		t.Skip("set $" + EnvTrimSource + " to regenerate the trimmed spec")
	}
	doc, err := openapi3.NewLoader().LoadFromFile(src)
	if err != nil {
		t.Fatal(err)
	}
	raw, err := json.Marshal(doc)
	if err != nil {
		t.Fatal(err)
	}
	var full map[string]any
	if err := json.Unmarshal(raw, &full); err != nil {
		t.Fatal(err)
	}
	out := trim(full)
	data, err := json.MarshalIndent(out, "", " ")
	if err != nil {
		t.Fatal(err)
	}
	dst := filepath.Join("..", "testdata", "openapi", "marketing.json")
	if err := os.WriteFile(dst, append(data, '\n'), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := openapi3.NewLoader().LoadFromFile(dst); err != nil {
		t.Fatalf("trimmed spec does not load: %v", err)
	}
}

// trim keeps the kept operations, the component schemas they reference
// (transitively), the security scheme, and drops examples.
func trim(full map[string]any) map[string]any {
	paths := map[string]any{}
	for p, methods := range kept {
		item, _ := full["paths"].(map[string]any)[p].(map[string]any)
		keep := map[string]any{}
		for k, v := range item {
			if slices.Contains(methods, k) || k == "parameters" {
				keep[k] = v
			}
		}
		paths[p] = keep
	}
	comps := full["components"].(map[string]any)
	schemas := comps["schemas"].(map[string]any)
	used := map[string]any{}
	var walk func(v any)
	walk = func(v any) {
		switch x := v.(type) {
		case map[string]any:
			delete(x, "example")
			delete(x, "examples")
			if ref, ok := x["$ref"].(string); ok {
				name, found := strings.CutPrefix(ref, "#/components/schemas/")
				if found {
					if _, done := used[name]; !done {
						used[name] = schemas[name]
						walk(schemas[name])
					}
				}
			}
			for _, e := range x {
				walk(e)
			}
		case []any:
			for _, e := range x {
				walk(e)
			}
		}
	}
	walk(paths)
	out := map[string]any{
		"openapi":  full["openapi"],
		"info":     full["info"],
		"servers":  full["servers"],
		"security": full["security"],
		"paths":    paths,
		"components": map[string]any{
			"schemas":         used,
			"securitySchemes": comps["securitySchemes"],
		},
	}
	return out
}
