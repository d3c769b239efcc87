package custom_test

import (
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"synclayer"
	"synclayer/source/custom"
)

// checkActivity fails unless ev is a complete activity event: its kind
// is its type, it names a person, every value is valid JSON, and a
// ticket has the id that keys it.
func checkActivity(t *testing.T, ev *synclayer.Event) {
	t.Helper()
	a := ev.Activity
	if a.Kind != ev.Type || ev.OccurredAt.IsZero() || ev.OccurredAt.Location() != time.UTC {
		t.Fatalf("incomplete activity event %+v", ev)
	}
	if a.Customer == nil || !a.Customer.Identifies() {
		t.Fatalf("%s names nobody: %+v", a.Kind, a.Customer)
	}
	if a.Kind == synclayer.EventTicketCreated && a.ID == "" {
		t.Fatalf("ticket without an id: %+v", a)
	}
	for _, m := range []map[string]json.RawMessage{a.Fields, a.Customer.Fields} {
		for k, v := range m {
			if !json.Valid(v) {
				t.Fatalf("%s field %s = %q is not valid JSON", a.Kind, k, v)
			}
		}
	}
	if a.Kind == synclayer.EventLoyaltyTierChanged {
		var tier string
		if json.Unmarshal(a.Customer.Fields[synclayer.FieldCustomerTier], &tier) != nil || tier == "" {
			t.Fatalf("loyalty event without a tier: %s", a.Customer.Fields[synclayer.FieldCustomerTier])
		}
	}
}

// FuzzParseActivity feeds ticket, loyalty and form bodies, from the
// testdata cases and with their data replaced by the fuzzer's, to
// ParseEvent: each gives a complete activity event or an EINVALID error
// naming a field, never a panic.
func FuzzParseActivity(f *testing.F) {
	entries, _ := os.ReadDir("testdata")
	for _, e := range entries {
		name := e.Name()
		if !strings.HasPrefix(name, "ticket-") && !strings.HasPrefix(name, "loyalty-") && !strings.HasPrefix(name, "form-") {
			continue
		}
		if body, err := os.ReadFile(filepath.Join("testdata", name, "body.json")); err == nil {
			var top struct {
				Event string          `json:"event"`
				Data  json.RawMessage `json:"data"`
			}
			if json.Unmarshal(body, &top) == nil {
				f.Add(top.Event, []byte(top.Data))
			}
		}
	}
	f.Fuzz(func(t *testing.T, event string, data []byte) {
		switch event {
		case "ticket_created", "loyalty_tier_changed", "form_submitted":
		default:
			event = "ticket_created"
		}
		body := []byte(`{"event":"` + event + `","timestamp":"2024-10-02T14:24:09Z","data":` + string(data) + `}`)
		ev, err := custom.ParseEvent(body, now)
		if err != nil {
			var e *synclayer.Error
			if !errors.As(err, &e) || e.Code != synclayer.EINVALID || e.Message == "" || e.Field == "" {
				t.Fatalf("error %#v is not an EINVALID *synclayer.Error naming a field", err)
			}
			return
		}
		if ev.Activity == nil {
			t.Fatalf("%s gave no activity: %+v", event, ev)
		}
		checkActivity(t, ev)
	})
}

// TestParseEvent_WorkflowTagsAttribute: the tags add_tag gives a contact
// are kept in a field of their own, which a custom event must not set as
// an attribute: a later, newer customer_updated would drop them.
func TestParseEvent_WorkflowTagsAttribute(t *testing.T) {
	t.Parallel()
	body := `{"event":"customer_updated","timestamp":"2026-11-20T10:00:00Z","data":{"id":"c-1","email":"a@example.com","attributes":{"workflowTags":[]}}}`
	_, err := custom.ParseEvent([]byte(body), time.Date(2026, 11, 20, 10, 0, 0, 0, time.UTC))
	var fe *synclayer.Error
	if !errors.As(err, &fe) || fe.Field != "data.attributes.workflowTags" {
		t.Errorf("err %v, want a field error at data.attributes.workflowTags", err)
	}
}
