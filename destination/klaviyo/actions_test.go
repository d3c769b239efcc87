package klaviyo_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"synclayer"
	"synclayer/destination/klaviyo"
	"synclayer/destination/klaviyo/klaviyosim"
)

const actList = "Y6nRLr"

// actions is a Klaviyo destination on a simulator that validates every
// request against the spec (the cleanup fails the test on a violation),
// with list actList.
func actions(t *testing.T) (*klaviyosim.Server, *klaviyo.Destination) {
	t.Helper()
	e, d := commerce(t, klaviyosim.Options{Lists: []string{actList}})
	return e.sim, d
}

var ann = synclayer.ContactRef{ID: "01CONTACT1", Email: "ann@example.com"}

// putAnn stores ann's profile as customer-sync leaves it: subscribed,
// with a custom property, and returns its Klaviyo ID.
func putAnn(sim *klaviyosim.Server) string {
	return sim.PutProfile(klaviyosim.Profile{Email: ann.Email, ExternalID: ann.ID, EmailConsent: klaviyo.ConsentSubscribed,
		ConsentMethod: "API", ConsentAt: time.Now().Add(-time.Hour).UTC().Truncate(time.Second),
		Attributes: map[string]string{"first_name": "Annie", "last_name": "Lee"},
		Properties: map[string]any{"Keep": "kept", "Old": "to clear"}})
}

// consentOf is everything of p that is consent.
func consentOf(p klaviyosim.Profile) string {
	return fmt.Sprintf("consent=%s method=%s at=%s suppressions=%v list-suppressions=%v",
		p.EmailConsent, p.ConsentMethod, p.ConsentAt.Format(time.RFC3339), p.Suppressions, p.ListSuppressions)
}

func mustProfile(t *testing.T, sim *klaviyosim.Server, key string) klaviyosim.Profile {
	t.Helper()
	p, ok := sim.Profile(key)
	if !ok {
		t.Fatalf("no profile %s in the simulator", key)
	}
	return p
}

// wantRetryNotYet fails unless err asks for a retry in 30 s because the
// contact is not in Klaviyo yet.
func wantRetryNotYet(t *testing.T, err error) {
	t.Helper()
	var ra *synclayer.RetryAfterError
	if !errors.As(err, &ra) || ra.After != 30*time.Second || !strings.Contains(err.Error(), "not in Klaviyo yet") {
		t.Fatalf("err = %v (%s), want RetryAfter 30s: not in Klaviyo yet", err, kind(err))
	}
}

func TestActions_CheckAction(t *testing.T) {
	_, d := actions(t)
	long := strings.Repeat("é", 127)
	ok := []synclayer.ActionCheck{
		{Kind: "event", EventName: "VIP Reached"},
		{Kind: "brevo_event", EventName: "VIP Reached"},
		{Kind: "event", EventName: long},
		{Kind: "set_attribute", Fields: []string{"first_name", "last_name", "organization", "title", "image", "locale",
			"Loyalty Tier", "location.city", "location.latitude", "Email Opt Note"}},
		{Kind: "add_to_list", List: actList},
		{Kind: "remove_from_list", List: "abc123XYZ"},
	}
	for _, a := range ok {
		if err := d.CheckAction(a); err != nil {
			t.Errorf("CheckAction(%+v) = %v, want nil", a, err)
		}
	}
	refused := []struct {
		a    synclayer.ActionCheck
		want string // in the error
	}{
		{synclayer.ActionCheck{Kind: "event"}, "has no name"},
		{synclayer.ActionCheck{Kind: "event", EventName: "  "}, "has no name"},
		{synclayer.ActionCheck{Kind: "event", EventName: long + "é"}, "has 128 characters; Klaviyo takes metric names of at most 127"},
		{synclayer.ActionCheck{Kind: "brevo_event", EventName: strings.Repeat("x", 300)}, "shorten it"},
		{synclayer.ActionCheck{Kind: "event", EventName: "VIP "}, "ends with a space"},
		{synclayer.ActionCheck{Kind: "set_attribute"}, "sets no field"},
		{synclayer.ActionCheck{Kind: "set_attribute", Fields: []string{""}}, "a field name is empty"},
		{synclayer.ActionCheck{Kind: "set_attribute", Fields: []string{"email"}}, `"email" cannot be set`},
		{synclayer.ActionCheck{Kind: "set_attribute", Fields: []string{"phone_number"}}, `"phone_number" cannot be set`},
		{synclayer.ActionCheck{Kind: "set_attribute", Fields: []string{"external_id"}}, "synclayer contact ID"},
		{synclayer.ActionCheck{Kind: "set_attribute", Fields: []string{"id"}}, "Klaviyo's own profile ID"},
		{synclayer.ActionCheck{Kind: "set_attribute", Fields: []string{"subscriptions"}}, "consent"},
		{synclayer.ActionCheck{Kind: "set_attribute", Fields: []string{"$consent"}}, "drop the $"},
		{synclayer.ActionCheck{Kind: "set_attribute", Fields: []string{"location"}}, "set location.address1"},
		{synclayer.ActionCheck{Kind: "set_attribute", Fields: []string{"location.planet"}}, "no Klaviyo location field"},
		{synclayer.ActionCheck{Kind: "set_attribute", Fields: []string{"properties"}}, "by its own name"},
		{synclayer.ActionCheck{Kind: "set_attribute", Fields: []string{" Tier"}}, "starts or ends with a space"},
		{synclayer.ActionCheck{Kind: "add_to_list"}, `list "" is not a Klaviyo list ID`},
		{synclayer.ActionCheck{Kind: "add_to_list", List: "VIP customers"}, "not its name"},
		{synclayer.ActionCheck{Kind: "remove_from_list", List: "Y6-nRL"}, "letters and digits"},
		{synclayer.ActionCheck{Kind: "add_tag"}, `cannot carry out a "add_tag" action`},
	}
	for _, tt := range refused {
		err := d.CheckAction(tt.a)
		if err == nil || !strings.Contains(err.Error(), tt.want) || synclayer.ErrorCode(err) != synclayer.EINVALID {
			t.Errorf("CheckAction(%+v) = %v (code %s), want an invalid error saying %q", tt.a, err, synclayer.ErrorCode(err), tt.want)
		}
	}
	// Every bad field is named, not only the first.
	err := d.CheckAction(synclayer.ActionCheck{Kind: "set_attribute", Fields: []string{"email", "Tier", "external_id"}})
	if err == nil || !strings.Contains(err.Error(), `"email"`) || !strings.Contains(err.Error(), `"external_id"`) || strings.Contains(err.Error(), `"Tier"`) {
		t.Errorf("two bad fields: %v", err)
	}
}

func TestActions_SendContactEvent(t *testing.T) {
	sim, d := actions(t)
	id := putAnn(sim)
	before := consentOf(mustProfile(t, sim, id))
	at := time.Now().Add(-10 * time.Minute).UTC().Truncate(time.Second)
	ev := synclayer.ContactEvent{Name: "VIP Reached", At: at, Key: "rule1:trigger7", Properties: map[string]any{"Tier": "Gold", "Points": 120}}
	for range 2 { // a retry after a lost answer is recorded once
		if err := d.SendContactEvent(context.Background(), ann, ev); err != nil {
			t.Fatalf("SendContactEvent: %v", err)
		}
	}
	evs := sim.EventsNamed("VIP Reached")
	if len(evs) != 1 {
		t.Fatalf("%d events recorded, want 1: %+v", len(evs), sim.Events())
	}
	got := evs[0]
	if got.ProfileID != id || got.UniqueID != "rule1:trigger7" || !got.Time.Equal(at) || got.Properties["Tier"] != "Gold" || got.PropertyJSON("Points") != "120" {
		t.Errorf("event %+v, want on %s, unique_id rule1:trigger7, at %s, Tier Gold, Points 120", got, id, at)
	}
	if n := len(sim.Profiles()); n != 1 {
		t.Errorf("%d profiles, want 1", n)
	}
	if after := consentOf(mustProfile(t, sim, id)); after != before {
		t.Errorf("consent changed:\n%s\n%s", before, after)
	}
	// The request names the profile by email and external_id.
	var body struct {
		Data struct {
			Attributes struct {
				Profile struct {
					Data struct {
						Attributes map[string]any `json:"attributes"`
					} `json:"data"`
				} `json:"profile"`
				UniqueID string `json:"unique_id"`
				Time     string `json:"time"`
			} `json:"attributes"`
		} `json:"data"`
	}
	call := lastCall(t, sim, http.MethodPost, "/api/events")
	if err := json.Unmarshal(call.Body, &body); err != nil {
		t.Fatal(err)
	}
	a := body.Data.Attributes
	if pa := a.Profile.Data.Attributes; len(pa) != 2 || pa["email"] != ann.Email || pa["external_id"] != ann.ID || a.UniqueID != "rule1:trigger7" || a.Time != at.Format(time.RFC3339) {
		t.Errorf("event body %s", call.Body)
	}

	// No key and no time: Klaviyo's defaults (now, deduplicated by the
	// second); a bad name is refused before any request.
	if err := d.SendContactEvent(context.Background(), ann, synclayer.ContactEvent{Name: "Plain"}); err != nil {
		t.Fatal(err)
	}
	if b := string(lastCall(t, sim, http.MethodPost, "/api/events").Body); strings.Contains(b, "unique_id") || strings.Contains(b, `"time"`) {
		t.Errorf("event without key or time sent %s", b)
	}
	n := sim.CallCount("", "/api/events")
	if err := d.SendContactEvent(context.Background(), ann, synclayer.ContactEvent{Name: strings.Repeat("x", 128)}); kind(err) != "permanent" {
		t.Errorf("128-character name: %v (%s), want permanent", err, kind(err))
	}
	if sim.CallCount("", "/api/events") != n {
		t.Error("a refused event was sent")
	}
}

func lastCall(t *testing.T, sim *klaviyosim.Server, method, path string) klaviyosim.Call {
	t.Helper()
	calls := sim.Calls()
	for i := len(calls) - 1; i >= 0; i-- {
		if c := calls[i]; c.Method == method && strings.SplitN(c.Path, "?", 2)[0] == path {
			return c
		}
	}
	t.Fatalf("no %s %s call", method, path)
	return klaviyosim.Call{}
}

func TestActions_SetContactFields(t *testing.T) {
	sim, d := actions(t)
	id := putAnn(sim)
	before := consentOf(mustProfile(t, sim, id))
	fields := map[string]any{"first_name": "Ann", "title": 7, "Loyalty Tier": "Gold", "Points": 120,
		"location.city": "Paris", "location.latitude": 48.85, "Old": nil}
	if err := d.SetContactFields(context.Background(), ann, fields); err != nil {
		t.Fatalf("SetContactFields: %v", err)
	}
	p := mustProfile(t, sim, id)
	switch {
	case p.Attributes["first_name"] != "Ann" || p.Attributes["title"] != "7" || p.Attributes["last_name"] != "Lee":
		t.Errorf("standard attributes %v", p.Attributes)
	case p.Properties["Loyalty Tier"] != "Gold" || p.Properties["Points"] != float64(120) || p.Properties["Keep"] != "kept":
		t.Errorf("custom properties %v", p.Properties)
	case p.Properties["Old"] != nil || len(p.Properties) != 3:
		t.Errorf("Old not cleared: %v", p.Properties)
	case p.Location["city"] != "Paris" || p.Location["latitude"] != 48.85:
		t.Errorf("location %v", p.Location)
	case p.Email != ann.Email || p.ExternalID != ann.ID:
		t.Errorf("identifiers changed: %s %s", p.Email, p.ExternalID)
	}
	if after := consentOf(p); after != before {
		t.Errorf("consent changed:\n%s\n%s", before, after)
	}
	// One lookup by external_id, then one import by the profile's ID
	// with the fields only: no identifier, no subscriptions.
	if n, m := sim.CallCount(http.MethodGet, "/api/profiles"), sim.CallCount(http.MethodPost, "/api/profile-import"); n != 1 || m != 1 {
		t.Errorf("%d lookups and %d imports, want 1 and 1", n, m)
	}
	if q := lastCall(t, sim, http.MethodGet, "/api/profiles").Path; !strings.Contains(q, `equals(external_id,%2201CONTACT1%22)`) {
		t.Errorf("lookup %s, want by external_id", q)
	}
	var imp struct {
		Data struct {
			ID         string                     `json:"id"`
			Attributes map[string]json.RawMessage `json:"attributes"`
		} `json:"data"`
	}
	call := lastCall(t, sim, http.MethodPost, "/api/profile-import")
	if err := json.Unmarshal(call.Body, &imp); err != nil {
		t.Fatal(err)
	}
	if imp.Data.ID != id {
		t.Errorf("import for %q, want by ID %s", imp.Data.ID, id)
	}
	for _, k := range []string{"email", "phone_number", "external_id", "subscriptions"} {
		if _, ok := imp.Data.Attributes[k]; ok {
			t.Errorf("import sent %s: %s", k, call.Body)
		}
	}
	if len(sim.Profiles()) != 1 {
		t.Errorf("%d profiles, want 1", len(sim.Profiles()))
	}

	// A profile customer-sync has not tagged with external_id is found
	// by email.
	bob := synclayer.ContactRef{ID: "01CONTACT2", Email: "bob@example.com"}
	bobID := sim.PutProfile(klaviyosim.Profile{Email: bob.Email})
	if err := d.SetContactFields(context.Background(), bob, map[string]any{"Tier": "Silver"}); err != nil {
		t.Fatal(err)
	}
	if p := mustProfile(t, sim, bobID); p.Properties["Tier"] != "Silver" || p.ExternalID != "" {
		t.Errorf("bob's profile %+v", p)
	}

	// Not in Klaviyo yet: a retry, and no profile created.
	imports := sim.CallCount(http.MethodPost, "/api/profile-import")
	err := d.SetContactFields(context.Background(), synclayer.ContactRef{ID: "01NEW", Email: "new@example.com"}, map[string]any{"Tier": "Gold"})
	wantRetryNotYet(t, err)
	if _, ok := sim.Profile("new@example.com"); ok || sim.CallCount(http.MethodPost, "/api/profile-import") != imports {
		t.Error("SetContactFields created a profile customer-sync has not")
	}

	// Refused fields and values are permanent, before any request.
	calls := len(sim.Calls())
	for _, f := range []map[string]any{{"email": "x@example.com"}, {"subscriptions": map[string]any{}}, {"first_name": map[string]any{"a": 1}}, {"location.zip": []any{1}}} {
		if err := d.SetContactFields(context.Background(), ann, f); kind(err) != "permanent" {
			t.Errorf("SetContactFields(%v) = %v (%s), want permanent", f, err, kind(err))
		}
	}
	if len(sim.Calls()) != calls {
		t.Error("a refused SetContactFields made a request")
	}
	if err := d.SetContactFields(context.Background(), ann, nil); err != nil || len(sim.Calls()) != calls {
		t.Errorf("no fields: %v, %d calls", err, len(sim.Calls())-calls)
	}
}

func TestActions_EnsureContactFields(t *testing.T) {
	sim, d := actions(t)
	if err := d.EnsureContactFields(context.Background(), map[string]string{"Tier": "text", "Points": "float"}); err != nil {
		t.Fatal(err)
	}
	if n := len(sim.Calls()); n != 0 {
		t.Errorf("%d requests, want none", n)
	}
}

func TestActions_Lists(t *testing.T) {
	sim, d := actions(t)
	id := sim.PutProfile(klaviyosim.Profile{Email: ann.Email, ExternalID: ann.ID}) // NEVER_SUBSCRIBED
	before := consentOf(mustProfile(t, sim, id))
	ctx := context.Background()
	if err := d.AddContactToList(ctx, ann, actList); err != nil {
		t.Fatalf("AddContactToList: %v", err)
	}
	if m := sim.ListMembers(actList); len(m) != 1 || m[0] != id {
		t.Fatalf("list members %v, want [%s]", m, id)
	}
	if after := consentOf(mustProfile(t, sim, id)); after != before || len(sim.Jobs()) != 0 {
		t.Errorf("adding to a list changed consent:\n%s\n%s\njobs %v", before, after, sim.Jobs())
	}
	if err := d.AddContactToList(ctx, ann, actList); err != nil { // a repeat is harmless
		t.Fatal(err)
	}
	if err := d.RemoveContactFromList(ctx, ann, actList); err != nil {
		t.Fatalf("RemoveContactFromList: %v", err)
	}
	if m := sim.ListMembers(actList); len(m) != 0 {
		t.Fatalf("list members %v after remove", m)
	}
	if after := consentOf(mustProfile(t, sim, id)); after != before {
		t.Errorf("removing from a list changed consent:\n%s\n%s", before, after)
	}

	// Found by email when no profile has the external_id.
	bob := synclayer.ContactRef{ID: "01CONTACT2", Email: "bob@example.com"}
	bobID := sim.PutProfile(klaviyosim.Profile{Email: bob.Email})
	if err := d.AddContactToList(ctx, bob, actList); err != nil {
		t.Fatal(err)
	}
	if m := sim.ListMembers(actList); len(m) != 1 || m[0] != bobID {
		t.Errorf("list members %v, want [%s]", m, bobID)
	}

	// Not in Klaviyo yet: a retry, no list call.
	nobody := synclayer.ContactRef{ID: "01NEW", Email: "new@example.com"}
	members := sim.CallCount("", "/api/lists/"+actList+"/relationships")
	wantRetryNotYet(t, d.AddContactToList(ctx, nobody, actList))
	wantRetryNotYet(t, d.RemoveContactFromList(ctx, nobody, actList))
	if sim.CallCount("", "/api/lists/"+actList+"/relationships") != members || len(sim.Profiles()) != 2 {
		t.Error("a list action on a contact not in Klaviyo made a list call or a profile")
	}

	// A list ID that is no ID is permanent before any request; a list
	// the account lacks is permanent and names it.
	calls := len(sim.Calls())
	if err := d.AddContactToList(ctx, ann, "VIP customers"); kind(err) != "permanent" || len(sim.Calls()) != calls {
		t.Errorf("bad list ID: %v (%s)", err, kind(err))
	}
	if err := d.AddContactToList(ctx, ann, "Nope12"); kind(err) != "permanent" || !strings.Contains(err.Error(), "list Nope12") {
		t.Errorf("unknown list: %v (%s)", err, kind(err))
	}
}

// TestActions_NeverChangeConsent runs every action on a subscribed, an
// unsubscribed and a suppressed profile, and checks that none of them
// changes what Klaviyo holds as consent or sends a subscription job or a
// subscriptions attribute.
func TestActions_NeverChangeConsent(t *testing.T) {
	sim, d := actions(t)
	ctx := context.Background()
	refs := []synclayer.ContactRef{ann, {ID: "01CONTACT2", Email: "bob@example.com"}, {ID: "01CONTACT3", Email: "cy@example.com"}}
	putAnn(sim)
	sim.PutProfile(klaviyosim.Profile{Email: refs[1].Email, ExternalID: refs[1].ID, EmailConsent: klaviyo.ConsentSubscribed})
	sim.UnsubscribeInKlaviyo(refs[1].ID)
	sim.PutProfile(klaviyosim.Profile{Email: refs[2].Email, ExternalID: refs[2].ID, EmailConsent: klaviyo.ConsentSubscribed})
	sim.Suppress(refs[2].ID, "HARD_BOUNCE")
	before := map[string]string{}
	for _, r := range refs {
		before[r.ID] = consentOf(mustProfile(t, sim, r.ID))
	}
	for _, r := range refs {
		steps := []error{
			d.SendContactEvent(ctx, r, synclayer.ContactEvent{Name: "VIP Reached", Key: "k-" + r.ID, Properties: map[string]any{"subscriptions": "x", "$consent": "email"}}),
			d.SetContactFields(ctx, r, map[string]any{"Tier": "Gold", "first_name": "X"}),
			d.AddContactToList(ctx, r, actList),
			d.RemoveContactFromList(ctx, r, actList),
			d.AddContactToList(ctx, r, actList),
			d.EnsureContactFields(ctx, map[string]string{"Tier": "text"}),
		}
		for i, err := range steps {
			if err != nil {
				t.Errorf("%s step %d: %v", r.ID, i, err)
			}
		}
		// A field that would be consent is refused, not sent.
		if err := d.SetContactFields(ctx, r, map[string]any{"subscriptions": map[string]any{"email": "SUBSCRIBED"}}); kind(err) != "permanent" {
			t.Errorf("subscriptions field: %v", err)
		}
	}
	for _, r := range refs {
		if after := consentOf(mustProfile(t, sim, r.ID)); after != before[r.ID] {
			t.Errorf("%s consent changed:\n%s\n%s", r.ID, before[r.ID], after)
		}
	}
	if j := sim.Jobs(); len(j) != 0 {
		t.Errorf("subscription jobs sent: %+v", j)
	}
	for _, c := range sim.Calls() {
		if strings.Contains(c.Path, "subscription") || (c.Method == http.MethodPost && strings.HasPrefix(c.Path, "/api/profile-import") && strings.Contains(string(c.Body), "subscriptions")) {
			t.Errorf("%s %s sent %s", c.Method, c.Path, c.Body)
		}
	}
	if n := len(sim.Profiles()); n != 3 {
		t.Errorf("%d profiles, want 3", n)
	}
}
