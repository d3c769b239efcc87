package klaviyo_test

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"strings"
	"testing"

	"synclayer"
	"synclayer/destination/klaviyo"
)

// fields returns the Field of each *synclayer.Error in err.
func fields(err error) []string {
	var out []string
	var walk func(error)
	walk = func(err error) {
		if j, ok := err.(interface{ Unwrap() []error }); ok {
			for _, e := range j.Unwrap() {
				walk(e)
			}
			return
		}
		var e *synclayer.Error
		if errors.As(err, &e) {
			out = append(out, e.Field)
		}
	}
	walk(err)
	return out
}

func TestOpen(t *testing.T) {
	mount := func(http.Handler) string { return "http://127.0.0.1:1/simulator/klaviyo" }
	tests := []struct {
		name      string
		section   string
		mount     bool
		wantField string
		wantSim   bool
	}{
		{name: "Real", section: `{"api_key":"pk_x","revision":"2025-10-15"}`},
		{name: "Simulator", section: `{}`, mount: true, wantSim: true},
		{name: "NoKeyNoServer", section: `{}`, wantField: "api_key"},
		{name: "UnknownKey", section: `{"api_key":"pk_x","list":"x"}`, wantField: "list"},
		{name: "BadBaseURL", section: `{"api_key":"pk_x","base_url":"a.klaviyo.com"}`, wantField: "base_url"},
		{name: "BadRevision", section: `{"api_key":"pk_x","revision":"latest"}`, wantField: "revision"},
		{name: "WrongType", section: `{"api_key":"pk_x","simulator_rate_limit":"fast"}`, wantField: "simulator_rate_limit"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			logs := &syncBuffer{}
			env := synclayer.DestinationEnv{Logger: slog.New(slog.NewTextHandler(logs, nil))}
			if tt.mount {
				env.Mount = mount
			}
			d, err := klaviyo.Type.Open("klaviyo", json.RawMessage(tt.section), env)
			if tt.wantField != "" {
				if f := fields(err); len(f) != 1 || f[0] != tt.wantField {
					t.Fatalf("err %v (fields %v), want one on %s", err, f, tt.wantField)
				}
				return
			}
			if err != nil {
				t.Fatalf("Open: %v", err)
			}
			kd := d.(*klaviyo.Destination)
			if kd.Name() != "klaviyo" || kd.Type() != "klaviyo" || (kd.Simulator() != nil) != tt.wantSim {
				t.Fatalf("destination %s/%s simulator %v", kd.Name(), kd.Type(), kd.Simulator() != nil)
			}
			if warned := strings.Contains(logs.String(), "NO KLAVIYO API KEY CONFIGURED"); warned != tt.wantSim {
				t.Errorf("warned %v, want %v: %s", warned, tt.wantSim, logs)
			}
		})
	}
}

func TestDestination_ContactSync(t *testing.T) {
	d, err := klaviyo.Open("klaviyo", json.RawMessage(`{"api_key":"pk_x"}`), synclayer.DestinationEnv{})
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name    string
		mapping map[string]string
		options string
		want    []string
	}{
		{name: "Default", options: `{"list_id":"Y6nRLr"}`},
		{name: "Custom", mapping: map[string]string{"email": "email", "firstName": "first_name", "company": "organization", "city": "location.city", "totalSpent": "Lifetime Value"}},
		{name: "UnknownOption", options: `{"list":"Y6nRLr"}`, want: []string{"options.list"}},
		{name: "BadListID", options: `{"list_id":"my list"}`, want: []string{"options.list_id"}},
		{name: "ListIDNotString", options: `{"list_id":12}`, want: []string{"options.list_id"}},
		{name: "NoEmail", mapping: map[string]string{"firstName": "first_name"}, want: []string{"field_mapping.email"}},
		{name: "Targets", mapping: map[string]string{"email": "email", "firstName": "external_id", "lastName": "location.planet",
			"phone": "$phone", "totalOrders": "first_name", "tags": "phone_number"},
			want: []string{"field_mapping.firstName", "field_mapping.lastName", "field_mapping.phone", "field_mapping.tags", "field_mapping.totalOrders"}},
		{name: "SharedTarget", mapping: map[string]string{"email": "email", "firstName": "Name", "lastName": "Name"}, want: []string{"field_mapping.lastName"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := d.(*klaviyo.Destination).ContactSync(synclayer.ContactSyncConfig{Mapping: tt.mapping, Options: json.RawMessage(tt.options)})
			if got := fields(err); strings.Join(got, ",") != strings.Join(tt.want, ",") {
				t.Fatalf("errors on %v (%v), want %v", got, err, tt.want)
			}
		})
	}
}

func TestContactSync_Prepare(t *testing.T) {
	h := mustHarness(t, `{"list_id":"`+listID+`"}`, false)
	if created, err := h.cs.Prepare(context.Background(), true); err != nil || created != nil {
		t.Fatalf("Prepare = %v, %v", created, err)
	}
	h2 := mustHarness(t, `{"list_id":"Abc123"}`, false)
	if _, err := h2.cs.Prepare(context.Background(), true); strings.Join(fields(err), "") != "options.list_id" {
		t.Fatalf("Prepare of a missing list: %v", err)
	}
}

func TestContactSync_ReadBackAndFields(t *testing.T) {
	h := mustHarness(t, `{"list_id":"`+listID+`"}`, false)
	c := customer(synclayer.ConsentSubscribed)
	if st, err := h.cs.ReadBack(context.Background(), c, nil); err != nil || st != nil {
		t.Fatalf("ReadBack before any delivery = %s, %v; want nil", st, err)
	}
	h.mustDeliver(t, c)
	st, err := h.cs.ReadBack(context.Background(), c, h.state)
	if err != nil {
		t.Fatal(err)
	}
	f, err := h.cs.Fields(st)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{"email": `"ann@example.com"`, "first_name": `"Ann"`, "Total Orders": `3`,
		"subscriptions.email.marketing.consent": `"SUBSCRIBED"`, "inList": `true`, "klaviyoOptOut": `false`}
	for k, v := range want {
		if string(f[k]) != v {
			t.Errorf("Fields[%q] = %s, want %s", k, f[k], v)
		}
	}
	// A read-back state plans no change: what was sent is what Klaviyo holds.
	if plan, err := h.cs.Plan(c, st); err != nil || plan.Op != synclayer.PlanNone {
		t.Errorf("plan from the read-back state: %v %v (%s)", plan.Op, err, plan.Reason)
	}
	// A profile deleted inside Klaviyo reads back as deleted, and the
	// next delivery imports it again in full.
	id := h.sim.Profiles()[0].ID
	del := klaviyo.DeletionTarget{ProfileID: id}
	if err := h.client.RequestDeletion(context.Background(), del); err != nil {
		t.Fatal(err)
	}
	st, _ = h.cs.ReadBack(context.Background(), c, h.state)
	if f, _ := h.cs.Fields(st); string(f["deleted"]) != "true" {
		t.Fatalf("after deletion ReadBack = %s", st)
	}
}
