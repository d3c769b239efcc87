package synclayer

import (
	"context"
	"encoding/json"
	"log/slog"
	"time"
)

// SkillConfig is one commerce skill's settings for one destination.
type SkillConfig struct {
	// Options is the destination's own options block as JSON (a
	// Mailchimp store_id, ...), without the options the skill handles
	// itself (sync_mode, batch).
	Options json.RawMessage
	Logger  *slog.Logger
}

// OrderDestination is a destination order-events runs on.
type OrderDestination interface {
	Destination
	// OrderSync builds the destination's side of order-events. Errors
	// name the key inside the skill's block for this destination.
	OrderSync(cfg SkillConfig) (OrderSync, error)
}

// OrderSync is a destination's side of order-events. The shared runner
// (package skill) reads the order and its contact when the job runs, and
// the state the destination last held for the order; it records the
// plan's next state and the trace line.
type OrderSync interface {
	// Prepare makes sure the destination can take orders (a Mailchimp
	// store exists); it is called before the worker starts and retried
	// while it fails with an error that is not EINVALID.
	Prepare(ctx context.Context) error
	// Plan decides the calls that bring the destination from prev, the
	// state it holds for the order (nil: never sent), to o, placed by c
	// (nil when no contact is known). It does no I/O. The order's own
	// status (paid, refunded, cancelled, deleted) and its refunds are in
	// o; a plan that sends events sends each once (the state says which
	// were sent), so a redelivered or replayed order counts once.
	Plan(o *Order, c *Contact, prev json.RawMessage) (*Plan, error)
	// Apply makes the plan's calls and returns the trace line.
	Apply(ctx context.Context, o *Order, c *Contact, plan *Plan) (summary string, err error)
}

// ProductDestination is a destination product-catalog runs on.
type ProductDestination interface {
	Destination
	ProductSync(cfg SkillConfig) (ProductSync, error)
}

// ProductSync is a destination's side of product-catalog: products (each
// variant a product with its ParentID) and categories.
type ProductSync interface {
	Prepare(ctx context.Context) error
	// PlanProduct decides the calls that bring the destination from prev
	// to p. A deleted product the destination never held needs no call.
	PlanProduct(p *Product, prev json.RawMessage) (*Plan, error)
	// PlanCategory does the same for a category; a destination without
	// categories returns PlanNone with the reason.
	PlanCategory(c *Category, prev json.RawMessage) (*Plan, error)
	// Apply makes the plan's calls and returns the trace line.
	Apply(ctx context.Context, plan *Plan) (summary string, err error)
}

// CartDestination is a destination cart-events runs on.
type CartDestination interface {
	Destination
	CartSync(cfg SkillConfig) (CartSync, error)
}

// CartSync is a destination's side of cart-events. The shared skill
// judges a cart when its wait ends: converted, empty, anonymous, already
// judged and (with require_consent) unconsented carts never reach the
// destination.
type CartSync interface {
	Prepare(ctx context.Context) error
	// Abandoned tells the destination that cart c of contact ct was
	// abandoned at at. key is unique to this abandonment (the cart and its
	// last change), for platforms that deduplicate events by an ID, so a
	// retry after a lost answer counts once where the platform allows it.
	// It returns the trace line and what was sent, for the trace detail.
	Abandoned(ctx context.Context, c *Cart, ct *Contact, key string, at time.Time) (summary string, sent any, err error)
}

// CartPlanner is a CartSync that can say, without calling, what
// Abandoned would send, for dry runs; a CartWatcher that is one also
// says what CartStarted would, and a CartMirror what CartChanged would
// send to a platform that holds no copy yet (PlanAbandoned then plans
// nothing). Arguments are Abandoned's and CartStarted's.
type CartPlanner interface {
	PlanAbandoned(c *Cart, ct *Contact, key string, at time.Time) ([]PlannedCall, error)
	PlanStarted(c *Cart, ct *Contact, key string) ([]PlannedCall, error)
}

// CartWatcher is a CartSync that also hears of a cart as soon as it is
// checked out or changes, for platforms whose own automation starts on
// the checkout (Klaviyo's Started Checkout) rather than on synclayer's
// judgement of an abandonment.
type CartWatcher interface {
	// CartStarted tells the destination cart c of contact ct is under
	// way; key is unique to the cart, so a platform that deduplicates
	// counts it once however often the cart changes.
	CartStarted(ctx context.Context, c *Cart, ct *Contact, key string) (summary string, sent any, err error)
}

// CartMirror is a CartWatcher whose platform keeps its own copy of each
// cart and decides itself when one is abandoned (Mailchimp: its
// abandoned-cart automation emails from the carts in its store). Such a
// platform needs the cart as it changes, not synclayer's judgement, and
// must lose the cart once it becomes an order, or it emails a buyer who
// already bought. So the shared skill calls CartChanged and CartClosed on
// the watcher's queue instead of CartStarted (it is a CartWatcher only to
// hear of each change at once), and never calls Abandoned: the platform
// would hear of one abandonment twice. The cart_abandoned workflow
// trigger still fires on synclayer's judgement, as for every destination.
type CartMirror interface {
	CartWatcher
	// CartChanged brings the platform's copy of cart c of contact ct to
	// what c holds. It is called on every change of a cart that is not
	// converted, not empty and of a known contact. held is the state the
	// last CartChanged returned for the cart (nil: the platform holds no
	// copy from synclayer); next is the state after this call. A copy
	// held as it is sends nothing (sent nil, next held), so a cart
	// delivered again counts once; a buyer the platform cannot take sends
	// nothing either, and summary says why.
	CartChanged(ctx context.Context, c *Cart, ct *Contact, held json.RawMessage) (summary string, next json.RawMessage, sent any, err error)
	// CartClosed deletes the platform's copy of cart c, held as held
	// (never nil), because of reason: the cart was converted, emptied, or
	// has no buyer the platform may hold it for. A copy the platform no
	// longer has counts as deleted.
	CartClosed(ctx context.Context, c *Cart, reason string, held json.RawMessage) (summary string, err error)
}

// CartMirrorPlanner is a CartMirror that can say, without calling, what
// CartChanged and CartClosed would send given what the platform holds
// (held as they take it), so a dry run shows a PATCH for a held cart, no
// call for one held as it is, and a DELETE for a converted one.
type CartMirrorPlanner interface {
	PlanChanged(c *Cart, ct *Contact, held json.RawMessage) ([]PlannedCall, error)
	// PlanClosed is nil when held is nil: there is no copy to delete.
	PlanClosed(c *Cart, held json.RawMessage) []PlannedCall
}

// The sync-state keys of commerce records, apart from the records' job
// keys, so that an order, a product and a cart with the same ID never
// share one. Each destination has its own state under the same key.
func OrderStateKey(id string) string   { return "order:" + id }
func ProductStateKey(id string) string { return "product:" + id }
func CartStateKey(id string) string    { return "cart:" + id }
