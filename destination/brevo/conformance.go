package brevo

import (
	"net/http"
	"slices"
	"strings"

	"synclayer/destination/brevo/brevosim"
	"synclayer/destination/conformance"
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

// simTarget is the simulator in the suite's terms: the contacts list is
// 5, a contact in it is subscribed, a blocklisted one unsubscribed.
type simTarget struct{ s *brevosim.Server }

const conformanceList = 5

func (t simTarget) Options() map[string]any { return map[string]any{"list_id": conformanceList} }

func (t simTarget) Mapping() map[string]string {
	return map[string]string{"email": "email", "firstName": "FIRSTNAME", "lastName": "LASTNAME"}
}

func (t simTarget) Contact(email string) *conformance.Contact {
	c, ok := t.s.ContactByEmail(email)
	if !ok {
		return nil
	}
	out := &conformance.Contact{Email: c.Email, Marketing: conformance.NotSubscribed}
	out.FirstName, _ = c.Attributes["FIRSTNAME"].(string)
	out.LastName, _ = c.Attributes["LASTNAME"].(string)
	switch {
	case c.EmailBlacklisted:
		out.Marketing = conformance.Unsubscribed
	case slices.Contains(c.ListIDs, conformanceList):
		out.Marketing = conformance.Subscribed
	}
	return out
}

func (t simTarget) Writes() int {
	return t.s.Count(func(c simkit.Call) bool {
		return strings.HasPrefix(c.Path, "/contacts") && c.Method != http.MethodGet && !strings.HasPrefix(c.Path, "/contacts/attributes")
	})
}

func (t simTarget) Throttled() int { return t.s.Throttled() }

func (t simTarget) SetOutage(on bool) {
	if on {
		t.s.SetOutage(brevosim.Outage500)
	} else {
		t.s.SetOutage(brevosim.OutageNone)
	}
}

func (t simTarget) SetRateLimit(n int) { t.s.SetRateLimit(n) }

func (t simTarget) UnsubscribeInside(email string) { t.s.Blocklist(email) }

func (t simTarget) Validate(v func(*http.Request, []byte) error) { t.s.SetValidate(v) }

func (t simTarget) Violations() []string { return t.s.Violations() }

var _ conformance.CommerceTarget = simTarget{}

func (t simTarget) Order(id string) *conformance.Order {
	o, ok := t.s.OrderByID(id)
	if !ok {
		return nil
	}
	return &conformance.Order{Amount: o.Amount, Cancelled: o.Status == "cancelled"}
}

func (t simTarget) Product(id string) string {
	p, ok := t.s.ProductByID(id)
	if !ok {
		return ""
	}
	return p.Name
}

func (t simTarget) Abandonments(cartID string) int {
	n := 0
	for _, ev := range t.s.EventsNamed(CartAbandonedEvent) {
		if ev.Properties["cart_id"] == cartID {
			n++
		}
	}
	return n
}

func (t simTarget) CommerceWrites() int {
	return t.s.Count(func(c simkit.Call) bool {
		return c.Method == http.MethodPost && (strings.HasPrefix(c.Path, "/orders") || strings.HasPrefix(c.Path, "/products") ||
			strings.HasPrefix(c.Path, "/categories") || strings.HasPrefix(c.Path, "/events"))
	})
}

func (simTarget) CommerceOptions() map[string]any { return nil }

var _ conformance.BatchTarget = simTarget{}

func (t simTarget) BatchCalls() (calls, contacts int) {
	for _, imp := range t.s.Imports() {
		calls++
		contacts += imp.Contacts
	}
	return calls, contacts
}
