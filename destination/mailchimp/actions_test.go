package mailchimp_test

import (
	"context"
	"encoding/json"
	"maps"
	"slices"
	"strings"
	"testing"
	"time"

	"synclayer"
	"synclayer/destination/mailchimp"
)

// actionDest is a destination on e's simulator (every request checked
// against the spec) whose workflow actions act on audienceID.
func actionDest(t *testing.T, e *env, audienceID string) *mailchimp.Destination {
	t.Helper()
	settings := map[string]any{"api_key": e.key, "base_url": e.base}
	if audienceID != "" {
		settings["audience_id"] = audienceID
	}
	d, err := mailchimp.Open("mc", raw(settings), synclayer.DestinationEnv{})
	if err != nil {
		t.Fatal(err)
	}
	return d.(*mailchimp.Destination)
}

func ref(email string) synclayer.ContactRef {
	return synclayer.ContactRef{ID: "cus_" + email, Email: email}
}

// bodyKeys returns the top-level keys of a JSON body.
func bodyKeys(t *testing.T, body []byte) []string {
	t.Helper()
	var m map[string]json.RawMessage
	if err := json.Unmarshal(body, &m); err != nil {
		t.Fatalf("body %s: %v", body, err)
	}
	return slices.Sorted(maps.Keys(m))
}

func wantNotYet(t *testing.T, err error) {
	t.Helper()
	after, ok := retryAfter(err)
	if !ok || after != 30*time.Second || !strings.Contains(err.Error(), "not in Mailchimp yet") {
		t.Fatalf("err = %v, want RetryAfter 30s: the contact is not in Mailchimp yet", err)
	}
}

func TestActions_SendContactEvent(t *testing.T) {
	e := mustEnv(t, mailchimpOptions(), mailchimp.Config{})
	d := actionDest(t, e, audience)
	ctx := context.Background()
	e.sim.SignUp(audience, "Ev@Example.com", "subscribed")
	at := time.Date(2026, 1, 2, 3, 4, 5, 0, time.FixedZone("CET", 3600))
	err := d.SendContactEvent(ctx, ref("ev@example.com"), synclayer.ContactEvent{Name: "order_shipped", At: at, Key: "k1",
		Properties: map[string]any{"order": "A-1", "total": 12.5, "count": 3, "gift": true, "none": nil, "items": []any{"x", "y"}}})
	if err != nil {
		t.Fatal(err)
	}
	calls := e.sim.CallsTo("POST", "/lists/"+audience+"/members/"+mailchimp.SubscriberHash("ev@example.com")+"/events")
	if len(calls) != 1 {
		t.Fatalf("event calls = %d, want 1 by the MD5 of the lowercased email", len(calls))
	}
	m, _ := e.sim.MemberOf(audience, "ev@example.com")
	if len(m.Events) != 1 {
		t.Fatalf("events = %+v", m.Events)
	}
	ev := m.Events[0]
	want := map[string]string{"order": "A-1", "total": "12.5", "count": "3", "gift": "true", "items": `["x","y"]`}
	if ev.Name != "order_shipped" || !maps.Equal(ev.Properties, want) || ev.OccurredAt != "2026-01-02T02:04:05Z" || ev.IsSyncing {
		t.Fatalf("event = %+v", ev)
	}
	if m.Status != "subscribed" {
		t.Fatalf("status = %s", m.Status)
	}

	t.Run("ZeroAtIsNow", func(t *testing.T) {
		before := time.Now().Add(-time.Second)
		if err := d.SendContactEvent(ctx, ref("ev@example.com"), synclayer.ContactEvent{Name: "visited"}); err != nil {
			t.Fatal(err)
		}
		m, _ := e.sim.MemberOf(audience, "ev@example.com")
		got, err := time.Parse(time.RFC3339, m.Events[1].OccurredAt)
		if err != nil || got.Before(before.Truncate(time.Second)) || m.Events[1].Properties != nil {
			t.Fatalf("event = %+v (%v)", m.Events[1], err)
		}
	})
	t.Run("NotYetInMailchimp", func(t *testing.T) {
		wantNotYet(t, d.SendContactEvent(ctx, ref("later@example.com"), synclayer.ContactEvent{Name: "visited"}))
	})
	t.Run("MissingAudienceIsPermanent", func(t *testing.T) {
		err := actionDest(t, e, "nosuchlist").SendContactEvent(ctx, ref("ev@example.com"), synclayer.ContactEvent{Name: "visited"})
		if _, retry := retryAfter(err); retry || !isPermanent(err) || !strings.Contains(err.Error(), "audience_id") {
			t.Fatalf("err = %v, want permanent naming audience_id", err)
		}
	})
	t.Run("BadNameNotSent", func(t *testing.T) {
		n := len(e.sim.Calls())
		err := d.SendContactEvent(ctx, ref("ev@example.com"), synclayer.ContactEvent{Name: "has space"})
		if !isPermanent(err) || len(e.sim.Calls()) != n {
			t.Fatalf("err = %v, calls %d → %d", err, n, len(e.sim.Calls()))
		}
	})
}

func TestActions_SetContactFields(t *testing.T) {
	e := mustEnv(t, mailchimpOptions(), mailchimp.Config{})
	d := actionDest(t, e, audience)
	ctx := context.Background()
	e.sim.SignUp(audience, "f@example.com", "subscribed")
	e.sim.UnsubscribeInMailchimp(audience, "f@example.com")
	err := d.SetContactFields(ctx, ref("f@example.com"), map[string]any{"FNAME": "Flo", "ORDERS": 4, "TIER": true,
		"LASTORDER": time.Date(2026, 3, 4, 23, 0, 0, 0, time.UTC)})
	if err != nil {
		t.Fatal(err)
	}
	patches := e.sim.CallsTo("PATCH", "/lists/"+audience+"/members/")
	if len(patches) != 1 {
		t.Fatalf("patches = %d", len(patches))
	}
	if keys := bodyKeys(t, patches[0].Body); !slices.Equal(keys, []string{"merge_fields"}) {
		t.Fatalf("PATCH body keys = %v, want merge_fields only", keys)
	}
	m, _ := e.sim.MemberOf(audience, "f@example.com")
	if m.Status != "unsubscribed" || m.MergeFields["FNAME"] != "Flo" || m.MergeFields["ORDERS"] != float64(4) ||
		m.MergeFields["TIER"] != "true" || m.MergeFields["LASTORDER"] != "2026-03-04" {
		t.Fatalf("member = %+v", m)
	}
	t.Run("NotYetInMailchimp", func(t *testing.T) {
		wantNotYet(t, d.SetContactFields(ctx, ref("later@example.com"), map[string]any{"FNAME": "L"}))
		if _, ok := e.sim.MemberOf(audience, "later@example.com"); ok {
			t.Fatal("a PATCH created the member")
		}
	})
	t.Run("UnknownFieldIsPermanent", func(t *testing.T) {
		// The simulator refuses merge tags the audience lacks: what
		// EnsureContactFields is for.
		if err := d.SetContactFields(ctx, ref("f@example.com"), map[string]any{"NOPE": "x"}); !isPermanent(err) {
			t.Fatalf("err = %v", err)
		}
	})
}

func TestActions_EnsureContactFields(t *testing.T) {
	e := mustEnv(t, mailchimpOptions(), mailchimp.Config{})
	d := actionDest(t, e, audience)
	ctx := context.Background()
	fields := map[string]string{"VIP": "boolean", "SCORE": "float", "POINTS": "number", "BDAY2": "date", "NOTE": "text", "FNAME": "text"}
	if err := d.EnsureContactFields(ctx, fields); err != nil {
		t.Fatal(err)
	}
	types := map[string]string{}
	for _, f := range e.sim.MergeFields(audience) {
		types[f.Tag] = f.Type
	}
	for tag, typ := range map[string]string{"VIP": "text", "SCORE": "number", "POINTS": "number", "BDAY2": "date", "NOTE": "text", "FNAME": "text"} {
		if types[tag] != typ {
			t.Errorf("merge field %s is %q, want %q", tag, types[tag], typ)
		}
	}
	if n := len(e.sim.CallsTo("POST", "/lists/"+audience+"/merge-fields")); n != 5 {
		t.Fatalf("created %d merge fields, want 5 (FNAME exists)", n)
	}
	if err := d.EnsureContactFields(ctx, fields); err != nil {
		t.Fatal(err)
	}
	if n := len(e.sim.CallsTo("POST", "/lists/"+audience+"/merge-fields")); n != 5 {
		t.Fatalf("second run created more: %d", n)
	}
	if err := d.EnsureContactFields(ctx, map[string]string{"fname": "text", "GEO": "point"}); synclayer.ErrorCode(err) != synclayer.EINVALID ||
		!strings.Contains(err.Error(), "FNAME") || !strings.Contains(err.Error(), "point") {
		t.Fatalf("err = %v", err)
	}
}

func TestActions_Lists(t *testing.T) {
	e := mustEnv(t, mailchimpOptions(), mailchimp.Config{})
	d := actionDest(t, e, audience)
	ctx := context.Background()
	e.sim.SignUp(audience, "l@example.com", "subscribed")
	e.sim.UnsubscribeInMailchimp(audience, "l@example.com")
	if err := d.AddContactToList(ctx, ref("l@example.com"), "VIP customers"); err != nil {
		t.Fatal(err)
	}
	if err := d.AddContactToList(ctx, ref("l@example.com"), "Trial"); err != nil {
		t.Fatal(err)
	}
	if err := d.RemoveContactFromList(ctx, ref("l@example.com"), "Trial"); err != nil {
		t.Fatal(err)
	}
	m, _ := e.sim.MemberOf(audience, "l@example.com")
	if !slices.Equal(m.Tags, []string{"VIP customers"}) || m.Status != "unsubscribed" {
		t.Fatalf("member = %+v", m)
	}
	calls := e.sim.CallsTo("POST", "/lists/"+audience+"/members/"+mailchimp.SubscriberHash("l@example.com")+"/tags")
	if len(calls) != 3 {
		t.Fatalf("tag calls = %d", len(calls))
	}
	var body struct {
		Tags      []mailchimp.Tag `json:"tags"`
		IsSyncing *bool           `json:"is_syncing"`
	}
	if err := json.Unmarshal(calls[2].Body, &body); err != nil || body.IsSyncing == nil || *body.IsSyncing ||
		len(body.Tags) != 1 || body.Tags[0] != (mailchimp.Tag{Name: "Trial", Status: "inactive"}) {
		t.Fatalf("body = %s (%v)", calls[2].Body, err)
	}
	wantNotYet(t, d.AddContactToList(ctx, ref("later@example.com"), "VIP customers"))
	wantNotYet(t, d.RemoveContactFromList(ctx, ref("later@example.com"), "VIP customers"))
}

// TestActions_NeverChangeStatus runs every action on members of each
// status and checks none moved, and that no request carried a status.
func TestActions_NeverChangeStatus(t *testing.T) {
	e := mustEnv(t, mailchimpOptions(), mailchimp.Config{})
	d := actionDest(t, e, audience)
	ctx := context.Background()
	statuses := map[string]string{"u@example.com": "unsubscribed", "c@example.com": "cleaned", "p@example.com": "pending",
		"t@example.com": "transactional", "s@example.com": "subscribed"}
	for email, st := range statuses {
		e.sim.SignUp(audience, email, "subscribed")
		switch st {
		case "unsubscribed":
			e.sim.UnsubscribeInMailchimp(audience, email)
		case "cleaned":
			e.sim.CleanInMailchimp(audience, email)
		default:
			e.sim.SignUp(audience, email, st)
		}
	}
	for email := range statuses {
		c := ref(email)
		for _, err := range []error{
			d.EnsureContactFields(ctx, map[string]string{"VIP": "boolean"}),
			d.SendContactEvent(ctx, c, synclayer.ContactEvent{Name: "signed_up", Properties: map[string]any{"plan": "pro"}}),
			d.SetContactFields(ctx, c, map[string]any{"FNAME": "X", "VIP": true}),
			d.AddContactToList(ctx, c, "VIP"),
			d.RemoveContactFromList(ctx, c, "VIP"),
			d.AddContactToList(ctx, c, "Newsletter"),
		} {
			if err != nil {
				t.Fatalf("%s: %v", email, err)
			}
		}
	}
	for email, st := range statuses {
		if m, _ := e.sim.MemberOf(audience, email); m.Status != st || len(m.Events) != 1 || !slices.Equal(m.Tags, []string{"Newsletter"}) {
			t.Errorf("%s: member = %+v, want status %s kept", email, m, st)
		}
	}
	for _, c := range e.sim.Calls() {
		if c.Method == "PUT" || strings.Contains(c.Path, "/actions/") {
			t.Errorf("an action sent %s %s", c.Method, c.Path)
		}
		if c.Method == "PATCH" {
			if keys := bodyKeys(t, c.Body); slices.Contains(keys, "status") || slices.Contains(keys, "status_if_new") {
				t.Errorf("PATCH carried a status: %s", c.Body)
			}
		}
	}
}

func TestActions_CheckAction(t *testing.T) {
	e := mustEnv(t, mailchimpOptions(), mailchimp.Config{})
	d := actionDest(t, e, audience)
	for _, ok := range []synclayer.ActionCheck{
		{Kind: "brevo_event", EventName: "order_shipped"},
		{Kind: "brevo_event", EventName: "ab"},
		{Kind: "brevo_event", EventName: "Signed-Up_2"},
		{Kind: "brevo_event", EventName: strings.Repeat("x", 30)},
		{Kind: "set_attribute", Fields: []string{"FNAME", "VIP_2", "ABCDEFGHIJ"}},
		{Kind: "add_to_list", List: "VIP customers"},
		{Kind: "remove_from_list", List: "42"},
		{Kind: "add_to_list", List: strings.Repeat("é", mailchimp.MaxTagName)},
	} {
		if err := d.CheckAction(ok); err != nil {
			t.Errorf("CheckAction(%+v) = %v, want nil", ok, err)
		}
	}
	for _, tc := range []struct {
		name  string
		check synclayer.ActionCheck
		field string // the *synclayer.Error's field
		says  string
	}{
		{"EventTooShort", synclayer.ActionCheck{Kind: "brevo_event", EventName: "x"}, "name", "2 to 30"},
		{"EventTooLong", synclayer.ActionCheck{Kind: "brevo_event", EventName: strings.Repeat("x", 31)}, "name", "2 to 30"},
		{"EventSpace", synclayer.ActionCheck{Kind: "brevo_event", EventName: "order shipped"}, "name", "letters, digits"},
		{"EventDot", synclayer.ActionCheck{Kind: "brevo_event", EventName: "order.shipped"}, "name", "letters, digits"},
		{"EventEmpty", synclayer.ActionCheck{Kind: "brevo_event"}, "name", "2 to 30"},
		{"FieldLowerCase", synclayer.ActionCheck{Kind: "set_attribute", Fields: []string{"fname"}}, "attributes.fname", "did you mean FNAME"},
		{"FieldTooLong", synclayer.ActionCheck{Kind: "set_attribute", Fields: []string{"ABCDEFGHIJK"}}, "attributes.ABCDEFGHIJK", "at most 10"},
		{"FieldEmail", synclayer.ActionCheck{Kind: "set_attribute", Fields: []string{"EMAIL"}}, "attributes.EMAIL", "address"},
		{"FieldDash", synclayer.ActionCheck{Kind: "set_attribute", Fields: []string{"FIRST-NAME"}}, "attributes.FIRST-NAME", "merge tag"},
		{"ListEmpty", synclayer.ActionCheck{Kind: "add_to_list", List: " "}, "list", "required"},
		{"ListTooLong", synclayer.ActionCheck{Kind: "remove_from_list", List: strings.Repeat("t", mailchimp.MaxTagName+1)}, "list", "at most 100"},
		{"UnknownKind", synclayer.ActionCheck{Kind: "add_tag"}, "", "cannot carry out"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := d.CheckAction(tc.check)
			var se *synclayer.Error
			if !errorsAs(err, &se) || se.Field != tc.field || !strings.Contains(err.Error(), tc.says) {
				t.Fatalf("err = %#v (%v), want field %q saying %q", se, err, tc.field, tc.says)
			}
		})
	}
	t.Run("NoAudience", func(t *testing.T) {
		bare := actionDest(t, e, "")
		for _, kind := range []string{"brevo_event", "set_attribute", "add_to_list", "remove_from_list"} {
			err := bare.CheckAction(synclayer.ActionCheck{Kind: kind, EventName: "ok_name", Fields: []string{"FNAME"}, List: "VIP"})
			if err == nil || !strings.Contains(err.Error(), "set destinations.mc.audience_id") {
				t.Fatalf("%s: err = %v", kind, err)
			}
		}
		if err := bare.AddContactToList(context.Background(), ref("x@example.com"), "VIP"); !isPermanent(err) || len(e.sim.Calls()) != 0 {
			t.Fatalf("err = %v, calls %d", err, len(e.sim.Calls()))
		}
	})
}
