package synclayer

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
