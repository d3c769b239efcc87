package synclayer_test

import (
	"encoding/json"
	"strings"
	"testing"

	"synclayer"
)

func stage(c *synclayer.Contact) string {
	var s string
	_ = json.Unmarshal(c.Value(synclayer.FieldLifecycleStage), &s)
	return s
}

func TestMerge_LifecycleStage(t *testing.T) {
	set := func(c *synclayer.Contact, source string, min int, value string, owners map[string][]string) synclayer.Decision {
		t.Helper()
		d, _ := synclayer.Merge(c, &synclayer.CustomerChange{Fields: fields(synclayer.FieldLifecycleStage, value)},
			synclayer.MergeContext{Source: source, At: at(min), FieldOwners: owners})
		if len(d) != 1 {
			t.Fatalf("decisions %+v, want one", d)
		}
		return d[0]
	}
	t.Run("ForwardOnly", func(t *testing.T) {
		c := &synclayer.Contact{}
		set(c, "shopify", 1, `"lead"`, nil)
		if d := set(c, "shopify", 2, `"Customer"`, nil); !d.Applied || stage(c) != "customer" {
			t.Fatalf("forward move: %+v, stage %q; want customer, lowercased", d, stage(c))
		}
		d := set(c, "hubspot", 3, `"lead"`, nil)
		if d.Applied || d.Rule != synclayer.RuleStageBackwards || stage(c) != "customer" {
			t.Fatalf("backwards move by a non-owner: %+v, stage %q; want %s, customer kept", d, stage(c), synclayer.RuleStageBackwards)
		}
		if !strings.Contains(d.Note, "lead is before customer") {
			t.Errorf("note %q does not say why", d.Note)
		}
	})
	t.Run("OwnerMovesBack", func(t *testing.T) {
		owners := map[string][]string{synclayer.FieldLifecycleStage: {"hubspot"}}
		c := &synclayer.Contact{}
		set(c, "hubspot", 1, `"customer"`, owners)
		if d := set(c, "hubspot", 2, `"opportunity"`, owners); !d.Applied || stage(c) != "opportunity" {
			t.Fatalf("the owner's backwards move: %+v, stage %q", d, stage(c))
		}
		if d := set(c, "order-events", 3, `"customer"`, owners); d.Applied || d.Rule != synclayer.RuleSourceOfTruth {
			t.Fatalf("a non-owner's forward move: %+v, want source_of_truth", d)
		}
	})
	t.Run("OtherIsOutsideTheFunnel", func(t *testing.T) {
		c := &synclayer.Contact{}
		set(c, "shopify", 1, `"customer"`, nil)
		if d := set(c, "hubspot", 2, `"other"`, nil); !d.Applied {
			t.Fatalf("customer → other: %+v, want applied", d)
		}
		if d := set(c, "hubspot", 3, `"lead"`, nil); !d.Applied || stage(c) != "lead" {
			t.Fatalf("other → lead: %+v, want applied", d)
		}
	})
	t.Run("UnknownRefused", func(t *testing.T) {
		c := &synclayer.Contact{}
		set(c, "shopify", 1, `"lead"`, nil)
		for _, v := range []string{`"prospect"`, `12`} {
			d := set(c, "custom", 2, v, nil)
			if d.Applied || d.Rule != synclayer.RuleInvalidValue || !strings.Contains(d.Note, "lifecycleStage") || stage(c) != "lead" {
				t.Errorf("%s: %+v, want invalid_value naming lifecycleStage", v, d)
			}
		}
	})
	t.Run("NullClears", func(t *testing.T) {
		c := &synclayer.Contact{}
		set(c, "shopify", 1, `"lead"`, nil)
		if d := set(c, "shopify", 2, `null`, nil); !d.Applied || c.Value(synclayer.FieldLifecycleStage) != nil {
			t.Fatalf("null: %+v", d)
		}
	})
}

func TestParseLifecycleStage(t *testing.T) {
	if s, err := synclayer.ParseLifecycleStage("x", json.RawMessage(`" SalesQualifiedLead "`)); err != nil || s != synclayer.StageSalesQualifiedLead {
		t.Errorf("got %q, %v", s, err)
	}
	_, err := synclayer.ParseLifecycleStage("[0].propertyValue", json.RawMessage(`"vip"`))
	if e, ok := err.(*synclayer.Error); !ok || e.Field != "[0].propertyValue" || e.Code != synclayer.EINVALID || !strings.Contains(e.Message, "subscriber, lead") {
		t.Errorf("err = %#v", err)
	}
	if synclayer.StageOther.Rank() != 0 || synclayer.StageLead.Rank() >= synclayer.StageCustomer.Rank() {
		t.Error("ranks out of order")
	}
}
