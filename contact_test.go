package synclayer_test

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"synclayer"
)

var t0 = time.Date(2026, 11, 20, 10, 0, 0, 0, time.UTC)

func at(min int) time.Time { return t0.Add(time.Duration(min) * time.Minute) }

func fields(kv ...string) map[string]json.RawMessage {
	m := map[string]json.RawMessage{}
	for i := 0; i < len(kv); i += 2 {
		m[kv[i]] = json.RawMessage(kv[i+1])
	}
	return m
}

func merge(c *synclayer.Contact, source string, when time.Time, ch *synclayer.CustomerChange) []synclayer.Decision {
	d, _ := synclayer.Merge(c, ch, synclayer.MergeContext{Source: source, At: when, ConsentSources: []string{"shopify"}})
	return d
}

func TestMerge_NewerWins(t *testing.T) {
	c := &synclayer.Contact{}
	merge(c, "shopify", at(10), &synclayer.CustomerChange{Fields: fields("firstName", `"New"`, "email", `"a@x.com"`)})
	d := merge(c, "shopify", at(5), &synclayer.CustomerChange{Fields: fields("firstName", `"Old"`)})
	if got := string(c.Value("firstName")); got != `"New"` {
		t.Errorf("firstName = %s after an older event, want \"New\"", got)
	}
	if len(d) != 1 || d[0].Rule != synclayer.RuleStale || d[0].Applied {
		t.Errorf("decision %+v, want stale_ignored", d)
	}
	merge(c, "woocommerce", at(20), &synclayer.CustomerChange{Fields: fields("firstName", `"Newest"`)})
	if got := string(c.Value("firstName")); got != `"Newest"` {
		t.Errorf("firstName = %s, want the newest value from any source", got)
	}
	if c.Email != "a@x.com" {
		t.Errorf("Email = %q", c.Email)
	}
}

func TestMerge_NullClearsAndUnchangedIsNotAChange(t *testing.T) {
	c := &synclayer.Contact{}
	merge(c, "custom", at(1), &synclayer.CustomerChange{Fields: fields("customerTier", `"gold"`)})
	if _, changed := synclayer.Merge(c, &synclayer.CustomerChange{Fields: fields("customerTier", `"gold"`)}, synclayer.MergeContext{Source: "custom", At: at(2)}); changed {
		t.Error("the same value reported as a change")
	}
	merge(c, "custom", at(3), &synclayer.CustomerChange{Fields: fields("customerTier", `null`)})
	if c.Value("customerTier") != nil {
		t.Errorf("null did not clear the field: %s", c.Value("customerTier"))
	}
}

func TestMerge_OldValueMismatchIsRecorded(t *testing.T) {
	c := &synclayer.Contact{}
	merge(c, "custom", at(1), &synclayer.CustomerChange{Fields: fields("phone", `"+14155550100"`)})
	d := merge(c, "custom", at(2), &synclayer.CustomerChange{Fields: fields("phone", `"+14155550199"`), Old: fields("phone", `null`)})
	if len(d) != 2 || d[0].Rule != synclayer.RuleOldMismatch || d[1].Rule != synclayer.RuleNewerWins {
		t.Fatalf("decisions %+v, want old_value_mismatch then newer_wins", d)
	}
	if string(c.Value("phone")) != `"+14155550199"` {
		t.Errorf("the newer change did not apply: %s", c.Value("phone"))
	}
}

func TestMerge_FieldOwner(t *testing.T) {
	c := &synclayer.Contact{}
	mc := synclayer.MergeContext{Source: "shopify", At: at(1), FieldOwners: map[string][]string{"totalOrders": {"order-events"}}}
	d, _ := synclayer.Merge(c, &synclayer.CustomerChange{Fields: fields("totalOrders", `7`)}, mc)
	if c.Value("totalOrders") != nil || d[0].Rule != synclayer.RuleSourceOfTruth {
		t.Errorf("a non-owner set an owned field: %+v", d)
	}
}

// TestMerge_SeveralOwners: a field two systems own takes either's newer
// change, and no one else's, however new.
func TestMerge_SeveralOwners(t *testing.T) {
	c := &synclayer.Contact{}
	owners := map[string][]string{"phone": {"shopify", "brevo"}}
	merge := func(source string, min int, phone string) synclayer.Decision {
		d, _ := synclayer.Merge(c, &synclayer.CustomerChange{Fields: fields("phone", `"`+phone+`"`)},
			synclayer.MergeContext{Source: source, At: at(min), FieldOwners: owners})
		return d[0]
	}
	merge("shopify", 1, "+14155550101")
	if d := merge("brevo", 2, "+14155550102"); !d.Applied || string(c.Value("phone")) != `"+14155550102"` {
		t.Errorf("the second owner's newer change: %+v, held %s", d, c.Value("phone"))
	}
	if d := merge("woocommerce", 3, "+14155550103"); d.Applied || d.Rule != synclayer.RuleSourceOfTruth || !strings.Contains(d.Note, "shopify and brevo") {
		t.Errorf("a non-owner's change: %+v", d)
	}
	if d := merge("shopify", 1, "+14155550104"); d.Applied {
		t.Errorf("an owner's stale change applied: %+v", d)
	}
	if string(c.Value("phone")) != `"+14155550102"` {
		t.Errorf("held %s", c.Value("phone"))
	}
}

func consent(state synclayer.ConsentState, min int) *synclayer.ConsentChange {
	return &synclayer.ConsentChange{State: state, At: at(min)}
}

func TestMerge_Consent(t *testing.T) {
	for _, tc := range []struct {
		name  string
		steps []struct {
			source string
			c      *synclayer.ConsentChange
		}
		want synclayer.ConsentState
	}{
		{"OwnerOptIn", steps(st("shopify", consent(synclayer.ConsentSubscribed, 1))), synclayer.ConsentSubscribed},
		{"NonOwnerOptInIgnored", steps(st("woocommerce", consent(synclayer.ConsentSubscribed, 1))), synclayer.ConsentUnknown},
		{"OptOutFromAnySourceStands", steps(st("shopify", consent(synclayer.ConsentSubscribed, 1)), st("woocommerce", consent(synclayer.ConsentUnsubscribed, 2))), synclayer.ConsentUnsubscribed},
		{"StaleOptInAfterOptOut", steps(st("shopify", consent(synclayer.ConsentUnsubscribed, 5)), st("shopify", consent(synclayer.ConsentSubscribed, 3))), synclayer.ConsentUnsubscribed},
		{"SameTimeOptInAfterOptOut", steps(st("shopify", consent(synclayer.ConsentUnsubscribed, 5)), st("shopify", consent(synclayer.ConsentSubscribed, 5))), synclayer.ConsentUnsubscribed},
		{"NewerOwnerOptInLifts", steps(st("shopify", consent(synclayer.ConsentUnsubscribed, 5)), st("shopify", consent(synclayer.ConsentSubscribed, 6))), synclayer.ConsentSubscribed},
		{"NotSubscribedNeverLiftsOptOut", steps(st("shopify", consent(synclayer.ConsentUnsubscribed, 5)), st("shopify", consent(synclayer.ConsentNone, 9))), synclayer.ConsentUnsubscribed},
		{"OwnerWithdrawsToNone", steps(st("shopify", consent(synclayer.ConsentSubscribed, 1)), st("shopify", consent(synclayer.ConsentNone, 2))), synclayer.ConsentNone},
		{"NonOwnerCannotWithdrawToNone", steps(st("shopify", consent(synclayer.ConsentSubscribed, 1)), st("custom", consent(synclayer.ConsentNone, 2))), synclayer.ConsentSubscribed},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := &synclayer.Contact{}
			for _, s := range tc.steps {
				merge(c, s.source, s.c.At, &synclayer.CustomerChange{EmailConsent: s.c})
			}
			if c.EmailConsent.State != tc.want {
				t.Errorf("consent %q, want %q", c.EmailConsent.State, tc.want)
			}
		})
	}
}

type step = struct {
	source string
	c      *synclayer.ConsentChange
}

func st(source string, c *synclayer.ConsentChange) step { return step{source, c} }
func steps(s ...step) []step                            { return s }

func TestMerge_Delete(t *testing.T) {
	c := &synclayer.Contact{}
	merge(c, "shopify", at(1), &synclayer.CustomerChange{Fields: fields("email", `"d@x.com"`)})
	merge(c, "shopify", at(5), &synclayer.CustomerChange{Delete: true})
	if !c.Deleted {
		t.Fatal("not deleted")
	}
	d := merge(c, "shopify", at(6), &synclayer.CustomerChange{Fields: fields("firstName", `"Zombie"`)})
	if c.Value("firstName") != nil || d[0].Rule != synclayer.RuleIgnoredDeleted {
		t.Errorf("an update changed a deleted contact: %+v", d)
	}
	_, changed := synclayer.Merge(c, &synclayer.CustomerChange{Fields: fields("firstName", `"Back"`)}, synclayer.MergeContext{Source: "shopify", At: at(7), Create: true})
	if !changed || c.Deleted || string(c.Value("firstName")) != `"Back"` {
		t.Errorf("a newer creation did not restore the contact: %+v", c)
	}
	stale := &synclayer.Contact{}
	merge(stale, "shopify", at(10), &synclayer.CustomerChange{Fields: fields("email", `"s@x.com"`)})
	merge(stale, "shopify", at(5), &synclayer.CustomerChange{Delete: true})
	if stale.Deleted {
		t.Error("a delete older than the held values was applied")
	}
}
