package mailchimp

import (
	"net/http"
	"strings"

	"synclayer/destination/conformance"
	"synclayer/destination/mailchimp/mailchimpsim"
	"synclayer/destination/simkit"
)

var _ conformance.Subject = (*Destination)(nil)

// Conformance shows the built-in simulator to the destination
// conformance suite; nil when a real key is set.
func (d *Destination) Conformance() conformance.Target {
	if d.sim == nil {
		return nil
	}
	return simTarget{d.sim}
}

// simTarget is the simulator's audience SimulatorAudience in the suite's
// terms: archived members are soft-deleted, a permanently deleted one is
// gone.
type simTarget struct{ s *mailchimpsim.Server }

func (t simTarget) Options() map[string]any { return map[string]any{"audience_id": SimulatorAudience} }

func (t simTarget) Mapping() map[string]string {
	return map[string]string{"email": "email", "firstName": "FNAME", "lastName": "LNAME"}
}

func (t simTarget) Contact(email string) *conformance.Contact {
	m, ok := t.s.MemberOf(SimulatorAudience, email)
	if !ok {
		return nil
	}
	out := &conformance.Contact{Email: m.Email}
	out.FirstName, _ = m.MergeFields["FNAME"].(string)
	out.LastName, _ = m.MergeFields["LNAME"].(string)
	switch m.Status {
	case "subscribed":
		out.Marketing = conformance.Subscribed
	case "unsubscribed", "cleaned":
		out.Marketing = conformance.Unsubscribed
	case "pending":
		out.Marketing = conformance.Pending
	case "archived":
		out.Marketing, out.Deleted = conformance.NotSubscribed, true
	default:
		out.Marketing = conformance.NotSubscribed
	}
	return out
}

func (t simTarget) Writes() int {
	return t.s.Count(func(c simkit.Call) bool {
		return c.Method != http.MethodGet && strings.Contains(c.Path, "/members")
	})
}

func (t simTarget) Throttled() int { return t.s.Throttled() }

func (t simTarget) SetOutage(on bool) {
	if on {
		t.s.SetOutage(mailchimpsim.Outage500)
	} else {
		t.s.SetOutage(mailchimpsim.OutageNone)
	}
}

// SetRateLimit limits simultaneous connections, Mailchimp's only limit.
func (t simTarget) SetRateLimit(n int) {
	if n <= 0 {
		n = mailchimpsim.DefaultConnectionLimit
	}
	t.s.SetConnectionLimit(n)
}

func (t simTarget) UnsubscribeInside(email string) {
	t.s.UnsubscribeInMailchimp(SimulatorAudience, email)
}

func (t simTarget) Validate(v func(*http.Request, []byte) error) { t.s.SetValidate(v) }

func (t simTarget) Violations() []string { return t.s.Violations() }

var _ conformance.BatchTarget = simTarget{}

func (t simTarget) BatchCalls() (calls, contacts int) {
	for _, b := range t.s.Batches() {
		calls++
		for _, op := range b.Operations {
			if op.Method == "PUT" { // a tags batch carries no new contact
				contacts++
			}
		}
	}
	return calls, contacts
}
