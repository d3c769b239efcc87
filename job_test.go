package synclayer_test

import (
	"testing"

	"synclayer"
)

func TestQueueParts(t *testing.T) {
	for q, want := range map[string][3]any{
		"customer-sync":               {"customer-sync", "brevo", false},
		"customer-sync@klaviyo":       {"customer-sync", "klaviyo", false},
		"customer-sync@klaviyo:batch": {"customer-sync", "klaviyo", true},
		"order-events:batch":          {"order-events", "brevo", true},
	} {
		s, d, b := synclayer.QueueParts(q)
		if s != want[0] || d != want[1] || b != want[2] {
			t.Errorf("QueueParts(%q) = %q, %q, %v; want %v", q, s, d, b, want)
		}
		if !b && synclayer.Queue(s, d) != q {
			t.Errorf("Queue(%q, %q) = %q, want %q back", s, d, synclayer.Queue(s, d), q)
		}
	}
}
