package mailchimp_test

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"synclayer"
	"synclayer/destination/mailchimp"
)

func TestOpen(t *testing.T) {
	t.Run("UnknownKeyNamed", func(t *testing.T) {
		_, err := mailchimp.Open("mc", json.RawMessage(`{"api_key":"k-us21","apikey":"x"}`), synclayer.DestinationEnv{})
		var e *synclayer.Error
		if !errorsAs(err, &e) || e.Field != "apikey" || !strings.Contains(e.Message, "not a Mailchimp setting") {
			t.Fatalf("err = %v", err)
		}
	})
	t.Run("NoKeyNoMountIsError", func(t *testing.T) {
		_, err := mailchimp.Open("mc", json.RawMessage(`{}`), synclayer.DestinationEnv{})
		var e *synclayer.Error
		if !errorsAs(err, &e) || e.Field != "api_key" {
			t.Fatalf("err = %v", err)
		}
	})
	t.Run("KeyWithoutDataCentre", func(t *testing.T) {
		_, err := mailchimp.Open("mc", json.RawMessage(`{"api_key":"secretsecret"}`), synclayer.DestinationEnv{})
		if err == nil || strings.Contains(err.Error(), "secretsecret") {
			t.Fatalf("err = %v", err)
		}
	})
	t.Run("NoKeyMountsSimulator", func(t *testing.T) {
		var logs bytes.Buffer
		mux := http.NewServeMux()
		srv := httptest.NewServer(mux)
		defer srv.Close()
		env := synclayer.DestinationEnv{
			Logger: slog.New(slog.NewTextHandler(&logs, nil)),
			Mount: func(h http.Handler) string {
				mux.Handle("/simulator/mc/", http.StripPrefix("/simulator/mc", h))
				return srv.URL + "/simulator/mc/"
			},
		}
		d, err := mailchimp.Open("mc", nil, env)
		if err != nil {
			t.Fatal(err)
		}
		if d.Name() != "mc" || d.Type() != "mailchimp" {
			t.Fatalf("name/type = %s/%s", d.Name(), d.Type())
		}
		if !strings.Contains(logs.String(), "NO MAILCHIMP API KEY CONFIGURED") {
			t.Fatalf("no loud warning: %s", logs.String())
		}
		md := d.(*mailchimp.Destination)
		cs, err := md.ContactSync(synclayer.ContactSyncConfig{Options: raw(map[string]any{"audience_id": mailchimp.SimulatorAudience})})
		if err != nil {
			t.Fatal(err)
		}
		created, err := cs.Prepare(context.Background(), true)
		if err != nil || len(created) != 4 { // ORDERS, SPENT, LASTORDER, TIER
			t.Fatalf("created = %v, %v", created, err)
		}
		c := contact("jo@example.com", synclayer.ConsentSubscribed, map[string]any{"firstName": "Jo"})
		plan, err := cs.Plan(c, nil)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := cs.Apply(context.Background(), c, plan); err != nil {
			t.Fatal(err)
		}
		if m, ok := md.Simulator().MemberOf(mailchimp.SimulatorAudience, "jo@example.com"); !ok || m.Status != "subscribed" {
			t.Fatalf("simulated member = %+v", m)
		}
	})
}

func TestContactSync_Config(t *testing.T) {
	e := mustEnv(t, mailchimpOptions(), mailchimp.Config{})
	for _, tc := range []struct {
		name    string
		mapping map[string]string
		options string
		field   string
	}{
		{"NoAudience", nil, `{}`, "options.audience_id"},
		{"UnknownOption", nil, `{"audience_id":"x","list_id":"y"}`, "options.list_id"},
		{"LowerCaseTag", map[string]string{"email": "email", "firstName": "fname"}, `{"audience_id":"x"}`, "field_mapping.firstName"},
		{"LongTag", map[string]string{"email": "email", "firstName": "FIRSTNAME_X"}, `{"audience_id":"x"}`, "field_mapping.firstName"},
		{"EmailUnmapped", map[string]string{"firstName": "FNAME"}, `{"audience_id":"x"}`, "field_mapping.email"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := mailchimp.NewContactSync(e.client, synclayer.ContactSyncConfig{Mapping: tc.mapping, Options: json.RawMessage(tc.options)})
			if err == nil || !strings.Contains(err.Error(), tc.field) {
				t.Fatalf("err = %v, want one naming %s", err, tc.field)
			}
		})
	}
	t.Run("PrepareWithoutCreateNamesMissing", func(t *testing.T) {
		cs, err := mailchimp.NewContactSync(e.client, synclayer.ContactSyncConfig{
			Mapping: map[string]string{"email": "email", "customerTier": "LEVEL"}, Options: raw(map[string]any{"audience_id": audience})})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := cs.Prepare(context.Background(), false); synclayer.ErrorCode(err) != synclayer.EINVALID || !strings.Contains(err.Error(), "LEVEL") {
			t.Fatalf("err = %v", err)
		}
	})
}
