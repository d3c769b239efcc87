package pipedrive

import (
	"net/http"
	"strings"
	"time"

	"synclayer/destination/conformance"
	"synclayer/destination/pipedrive/pipedrivesim"
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

// simTarget is the simulator in the suite's terms: subscribed and
// unsubscribed are the person's marketing_status; a deleted person is
// Deleted. The suite's opt-ins are written (subscribe_and_unsubscribe).
type simTarget struct{ s *pipedrivesim.Server }

func (t simTarget) Options() map[string]any {
	return map[string]any{"marketing_status": ConsentSubscribeAndUnsubscribe}
}

func (t simTarget) Mapping() map[string]string {
	return map[string]string{"email": TargetEmail, "firstName": TargetFirstName, "lastName": TargetLastName}
}

func (t simTarget) Contact(email string) *conformance.Contact {
	p, ok := t.s.Person(email)
	if !ok {
		return nil
	}
	out := &conformance.Contact{Email: email, FirstName: p.FirstName, LastName: p.LastName, Marketing: conformance.NotSubscribed, Deleted: p.IsDeleted}
	for _, e := range p.Emails {
		if e.Primary {
			out.Email = e.Value
		}
	}
	switch p.MarketingStatus {
	case pipedrivesim.Subscribed:
		out.Marketing = conformance.Subscribed
	case pipedrivesim.Unsubscribed:
		out.Marketing = conformance.Unsubscribed
	}
	return out
}

func (t simTarget) Writes() int {
	return t.s.Count(func(c simkit.Call) bool {
		return c.Method != http.MethodGet && !strings.Contains(c.Path, "/personFields")
	})
}

func (t simTarget) Throttled() int { return t.s.Throttled() }

func (t simTarget) SetOutage(on bool) {
	if on {
		t.s.SetOutage(pipedrivesim.Outage500)
	} else {
		t.s.SetOutage(pipedrivesim.OutageNone)
	}
}

// SetRateLimit gives the simulator a budget of n requests a second; 0
// restores Pipedrive's documented 20 per 2 s.
func (t simTarget) SetRateLimit(n int) {
	if n <= 0 {
		t.s.SetLimit(pipedrivesim.Limit{})
		return
	}
	t.s.SetLimit(pipedrivesim.Limit{Max: n, Window: time.Second})
}

func (t simTarget) UnsubscribeInside(email string) { t.s.UnsubscribeInPipedrive(email) }

func (t simTarget) Validate(v func(*http.Request, []byte) error) { t.s.SetValidate(v) }

func (t simTarget) Violations() []string { return t.s.Violations() }
