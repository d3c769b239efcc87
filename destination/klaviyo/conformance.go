package klaviyo

import (
	"net/http"
	"slices"
	"strings"

	"synclayer"
	"synclayer/destination/conformance"
	"synclayer/destination/klaviyo/klaviyosim"
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

// conformanceList is the list the suite's customer-sync subscribes to.
const conformanceList = "Xy12Ab"

// simTarget is the simulator in the suite's terms: a profile subscribed
// to email marketing and in the list is subscribed; one unsubscribed or
// suppressed is unsubscribed; a profile outside the list after a soft
// delete, or gone after a data-privacy deletion, is deleted.
type simTarget struct{ s *klaviyosim.Server }

func (t simTarget) Options() map[string]any { return map[string]any{"list_id": conformanceList} }

func (t simTarget) Mapping() map[string]string {
	return map[string]string{"email": "email", "firstName": "first_name", "lastName": "last_name"}
}

func (t simTarget) Contact(email string) *conformance.Contact {
	p, ok := t.s.Profile(strings.ToLower(email))
	if !ok {
		return nil
	}
	out := &conformance.Contact{Email: p.Email, FirstName: p.Attributes["first_name"], LastName: p.Attributes["last_name"],
		Marketing: conformance.NotSubscribed}
	inList := slices.Contains(t.s.ListMembers(conformanceList), p.ID)
	switch {
	case p.EmailConsent == "UNSUBSCRIBED" || len(p.Suppressions) > 0:
		out.Marketing = conformance.Unsubscribed
	case p.EmailConsent == "SUBSCRIBED" && inList:
		out.Marketing = conformance.Subscribed
	}
	return out
}

func (t simTarget) Writes() int {
	return t.s.Count(func(c simkit.Call) bool {
		return c.Method != http.MethodGet
	})
}

func (t simTarget) Throttled() int { return t.s.Throttled() }

func (t simTarget) SetOutage(on bool) {
	if on {
		t.s.SetOutage(klaviyosim.Outage500)
	} else {
		t.s.SetOutage(klaviyosim.OutageNone)
	}
}

// SetRateLimit sets every bucket's burst limit to n a second (steady 60n
// a minute); 0 restores Klaviyo's documented limits.
func (t simTarget) SetRateLimit(n int) {
	for b, l := range klaviyosim.DefaultLimits {
		if n > 0 {
			l = klaviyosim.Limit{Burst: n, Steady: 60 * n}
		}
		t.s.SetLimit(b, l)
	}
}

func (t simTarget) UnsubscribeInside(email string) { t.s.UnsubscribeInKlaviyo(strings.ToLower(email)) }

func (t simTarget) Validate(v func(*http.Request, []byte) error) { t.s.SetValidate(v) }

func (t simTarget) Violations() []string { return t.s.Violations() }

var _ conformance.CommerceTarget = simTarget{}

// Order is Placed Order's value less the Refunded Order events; cancelled
// once a Cancelled Order event was sent.
func (t simTarget) Order(id string) *conformance.Order {
	var out *conformance.Order
	var refunds []string
	for _, ev := range t.s.Events() {
		if ev.Properties["OrderId"] != id {
			continue
		}
		if out == nil {
			out = &conformance.Order{}
		}
		switch ev.Metric {
		case MetricPlacedOrder:
			out.Amount = ev.Value
		case MetricRefundedOrder:
			refunds = append(refunds, ev.Value)
		case MetricCancelledOrder:
			out.Cancelled = true
		}
	}
	if out == nil || out.Amount == "" {
		return out
	}
	amount, err := synclayer.ParseMoney(out.Amount)
	if err != nil {
		return out
	}
	for _, r := range refunds {
		if m, err := synclayer.ParseMoney(r); err == nil {
			amount = amount.Sub(m)
		}
	}
	out.Amount = amount.String()
	return out
}

func (t simTarget) Product(id string) string {
	it, ok := t.s.CatalogItem(CatalogID(id))
	if !ok {
		return ""
	}
	name, _ := it.Attributes["title"].(string)
	return name
}

func (t simTarget) Abandonments(cartID string) int {
	n := 0
	for _, ev := range t.s.EventsNamed(MetricAbandonedCheckout) {
		if ev.Properties["CartId"] == cartID {
			n++
		}
	}
	return n
}

func (t simTarget) CommerceWrites() int {
	return t.s.Count(func(c simkit.Call) bool {
		return c.Method != http.MethodGet && (strings.HasPrefix(c.Path, "/api/events") || strings.HasPrefix(c.Path, "/api/catalog"))
	})
}

func (simTarget) CommerceOptions() map[string]any { return nil }

var _ conformance.BatchTarget = simTarget{}

func (t simTarget) BatchCalls() (calls, contacts int) {
	for _, j := range t.s.BulkJobs() {
		calls++
		contacts += j.Total
	}
	return calls, contacts
}
