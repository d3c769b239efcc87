package hubspot

import (
	"net/http"
	"strings"
	"time"

	"synclayer/destination/conformance"
	"synclayer/destination/hubspot/hubspotsim"
	"synclayer/destination/simkit"
)

var _ conformance.Subject = (*Destination)(nil)

// Conformance shows the built-in simulator to the destination
// conformance suite; nil when a real token is set.
func (d *Destination) Conformance() conformance.Target {
	if d.sim == nil {
		return nil
	}
	return simTarget{d.sim}
}

// simTarget is the simulator in the suite's terms: subscribed means
// subscribed to DefaultSubscription, unsubscribed means unsubscribed
// from it or opted out of all email; an archived contact is deleted.
type simTarget struct{ s *hubspotsim.Server }

func (t simTarget) Options() map[string]any {
	return map[string]any{"subscription_id": hubspotsim.DefaultSubscription, "legal_basis": "CONSENT_WITH_NOTICE",
		"legal_basis_explanation": "opted in to email marketing at the store"}
}

func (t simTarget) Mapping() map[string]string {
	return map[string]string{"email": "email", "firstName": "firstname", "lastName": "lastname"}
}

func (t simTarget) Contact(email string) *conformance.Contact {
	c, ok := t.s.Contact(email)
	if !ok {
		return nil
	}
	out := &conformance.Contact{Email: c.Properties["email"], FirstName: c.Properties["firstname"], LastName: c.Properties["lastname"],
		Marketing: conformance.NotSubscribed, Deleted: c.Archived}
	switch t.s.SubscriptionStatus(email, hubspotsim.DefaultSubscription) {
	case hubspotsim.Subscribed:
		out.Marketing = conformance.Subscribed
	case hubspotsim.Unsubscribed:
		out.Marketing = conformance.Unsubscribed
	}
	return out
}

func (t simTarget) Writes() int {
	return t.s.Count(func(c simkit.Call) bool {
		return c.Method != http.MethodGet && !strings.Contains(c.Path, "/crm/v3/properties")
	})
}

func (t simTarget) Throttled() int { return t.s.Throttled() }

func (t simTarget) SetOutage(on bool) {
	if on {
		t.s.SetOutage(hubspotsim.Outage500)
	} else {
		t.s.SetOutage(hubspotsim.OutageNone)
	}
}

// SetRateLimit gives the simulator a budget of n requests a second
// (reported as a 1000 ms interval); 0 restores HubSpot's documented 100
// per 10 s.
func (t simTarget) SetRateLimit(n int) {
	if n <= 0 {
		t.s.SetLimit(hubspotsim.Limit{})
		return
	}
	t.s.SetLimit(hubspotsim.Limit{Max: n, Interval: time.Second})
}

func (t simTarget) UnsubscribeInside(email string) {
	t.s.UnsubscribeInHubSpot(email, hubspotsim.DefaultSubscription)
}

func (t simTarget) Validate(v func(*http.Request, []byte) error) { t.s.SetValidate(v) }

func (t simTarget) Violations() []string { return t.s.Violations() }

var _ conformance.BatchTarget = simTarget{}

// BatchCalls counts the batch upserts with more than one input (the
// realtime path sends one) and the contacts in them.
func (t simTarget) BatchCalls() (calls, contacts int) {
	for _, c := range t.s.Calls() {
		if c.Method == http.MethodPost && strings.HasSuffix(strings.SplitN(c.Path, "?", 2)[0], "/batch/upsert") {
			if n := strings.Count(string(c.Body), `"idProperty"`); n > 1 {
				calls++
				contacts += n
			}
		}
	}
	return calls, contacts
}
