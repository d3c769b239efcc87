package brevo_test

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"synclayer"
	"synclayer/destination/brevo"
	"synclayer/destination/brevo/brevosim"
	"synclayer/destination/brevo/brevospec"
)

// TestApply_NeverLiftsTheBlockOfABrevoUnsubscribe: synclayer blocked two
// contacts itself (a store's opt-out), and a newer explicit opt-in asks
// to lift both blocks. One of them had meanwhile unsubscribed through a
// Brevo campaign's link (Brevo's report reached synclayer late, or never):
// before lifting, the contact's opt-outs are read from Brevo, and that
// block stays, recorded as Brevo's; the other is lifted.
func TestApply_NeverLiftsTheBlockOfABrevoUnsubscribe(t *testing.T) {
	ctx := context.Background()
	sim := brevosim.New(brevosim.Options{APIKey: testKey, Validate: brevospec.Load(t).Validate})
	srv := httptest.NewServer(sim)
	t.Cleanup(srv.Close)
	cl := brevo.New(brevo.Config{APIKey: testKey, BaseURL: srv.URL + "/v3"})
	s := &brevo.ContactSync{Client: cl, ListID: 5, FieldMapping: map[string]string{"email": "email"}}
	at := time.Date(2026, 11, 1, 10, 0, 0, 0, time.UTC)
	for _, id := range []string{"ct_own", "ct_brevo"} {
		if _, err := cl.CreateContact(ctx, brevo.CreateContactRequest{Email: id + "@example.com", ExtID: id, EmailBlacklisted: ptr(true)}); err != nil {
			t.Fatal(err)
		}
	}
	if err := sim.UnsubscribeSilently("ct_brevo@example.com"); err != nil {
		t.Fatal(err)
	}
	lift := func(id string) (string, *synclayer.Plan) {
		t.Helper()
		c := &synclayer.Contact{ID: id}
		synclayer.Merge(c, &synclayer.CustomerChange{Fields: map[string]json.RawMessage{"email": json.RawMessage(`"` + id + `@example.com"`)},
			EmailConsent: &synclayer.ConsentChange{State: synclayer.ConsentSubscribed, At: at}}, synclayer.MergeContext{Source: "shopify", At: at})
		held := json.RawMessage(`{"email":"` + id + `@example.com","emailBlacklisted":true,"emailBlockedByUs":true}`)
		p, err := s.Plan(c, held)
		if err != nil {
			t.Fatal(err)
		}
		summary, err := s.Apply(ctx, c, p)
		if err != nil {
			t.Fatal(err)
		}
		return summary, p
	}
	summary, p := lift("ct_brevo")
	if c, _ := sim.ContactByEmail("ct_brevo@example.com"); !c.EmailBlacklisted || !strings.Contains(summary, "block stays") {
		t.Errorf("the block of a Brevo unsubscribe: %q, Brevo holds %+v; want it kept", summary, c)
	}
	if !bytes.Contains(p.Next, []byte(`"emailBlacklisted":true`)) || bytes.Contains(p.Next, []byte(`emailBlockedByUs`)) {
		t.Errorf("the state recorded %s; want the block kept, as Brevo's", p.Next)
	}
	if summary, _ := lift("ct_own"); !strings.Contains(summary, "PUT") {
		t.Errorf("synclayer's own block: %q, want it lifted", summary)
	}
	if c, _ := sim.ContactByEmail("ct_own@example.com"); c.EmailBlacklisted {
		t.Errorf("synclayer's own block was not lifted by a newer explicit opt-in: %+v", c)
	}
}
