package synclayer

import (
	"encoding/json"
	"time"
)

// Deal stages, as a CRM's order-events sees an order: each CRM maps them
// to its pipeline's stages (HubSpot: appointmentscheduled, closedwon,
// closedlost by default).
const (
	DealOpen = "open" // placed, not paid yet
	DealWon  = "won"  // paid (or fulfilled), not refunded in full
	DealLost = "lost" // cancelled, failed, refunded in full, or deleted
)

// DealStageOf is the stage of the deal an order stands for, from its
// financial state.
func DealStageOf(o *Order) string {
	switch {
	case o.Deleted || o.Status == OrderCancelled || o.Status == OrderFailed || o.Status == OrderRefunded:
		return DealLost
	case o.Status == OrderPaid || o.Status == OrderCompleted:
		return DealWon
	}
	return DealOpen
}

// Which orders a CRM makes deals of (order-events' options.deals).
const (
	DealsPerOrder   = "per_order"   // every order is a deal
	DealsFirstOrder = "first_order" // only a contact's first order
	DealsNone       = "none"        // none: the CRM gets contacts only
)

// DealsOption reads options.deals: "" is DealsPerOrder; anything but the
// three values is an EINVALID error naming options.deals.
func DealsOption(v string) (string, error) {
	switch v {
	case "":
		return DealsPerOrder, nil
	case DealsPerOrder, DealsFirstOrder, DealsNone:
		return v, nil
	}
	return "", FieldErrorf("options.deals", "%q is not per_order, first_order or none", v)
}

// DealName is the name a CRM's deal for o takes: "Order #1001" by the
// store's order number, or by its ID when it has none.
func DealName(o *Order) string {
	if o.Number != "" {
		return "Order " + o.Number
	}
	return "Order " + o.SourceID
}

// IsFirstOrder reports whether o is c's first order, by the
// firstOrderDate order-events keeps on the contact (none: it is).
func IsFirstOrder(o *Order, c *Contact) bool {
	var first string
	if json.Unmarshal(c.Value(FieldFirstOrderDate), &first) != nil || first == "" {
		return true
	}
	t, err := time.Parse(time.RFC3339, first)
	return err != nil || !o.CreatedAt.After(t)
}
