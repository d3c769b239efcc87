package main

import (
	"testing"

	"synclayer/destination/brevo/brevosim"
)

// TestWebhook_SourceRateLimitEndToEnd: a source with rate_limit answers
// 429 with Retry-After above it, naming the key; within it every webhook
// is taken, and the OpenAPI document describes both.
func TestWebhook_SourceRateLimitEndToEnd(t *testing.T) {
	t.Parallel()
	e := startEnv(t, brevosim.Options{}, func(c *Config) { c.Sources["shopify"].RateLimit = 0.01 }) // a burst of 1
	if status, reply := e.shopify("customers/create", shopifyCustomer(9201, "first@example.com", "F", 1, "", 0)); status != 200 {
		t.Fatalf("first webhook: %d %v", status, reply)
	}
	status, reply := e.shopify("customers/create", shopifyCustomer(9202, "second@example.com", "S", 1, "", 0))
	if status != 429 {
		t.Fatalf("second at once: %d %v, want 429", status, reply)
	}
	if errBody, _ := reply["error"].(map[string]any); errBody["field"] != "sources.shopify.rate_limit" {
		t.Errorf("429 body %v, want field sources.shopify.rate_limit", reply)
	}
}
