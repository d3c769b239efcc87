package synclayer

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"time"
)

// Lister is a source whose platform's API lists its records, updated since
// a time, page by page. Webhooks alone leave a shop with two holes: the
// records that existed before synclayer did, and the changes whose webhook
// never came (a removed subscription, an outage, a rotated secret). One
// method fills both, so each platform's paging, auth and rate limits are
// written once, in its package:
//
//   - `synclayer backfill SKILL --from SOURCE` lists every record of the
//     skill's kinds, storing the cursor after each page so a killed run
//     resumes where it stopped;
//   - a periodic reconciliation lists the customers updated in the last
//     window and runs them through ingest, where newer-wins makes what the
//     webhooks already brought count once;
//   - a Poller (a platform with no webhooks: Magento Open Source) lists
//     the changes since its stored cursor every poll interval.
//
// Listed records become events like a webhook's and go through the same
// ingest, identity and consent rules.
type Lister interface {
	Source
	// ListKinds are the kinds this source's API can list (ListCustomers,
	// ListOrders, ListProducts, ListCarts), given its config: a source
	// without API credentials lists nothing and returns none.
	ListKinds() []string
	// List returns one page of kind's records. Its events' DedupeKey is
	// made of the record's kind, id and its own update time, so a record
	// read twice (windows that overlap, a page read again after a crash)
	// is one event, and a later change of it is another. Errors classify
	// as a destination call's: Throttled for a rate limit (the caller
	// waits and asks again), Permanent for what retrying cannot fix (a
	// refused token, saying which setting to fix).
	List(ctx context.Context, req ListRequest) (ListPage, error)
}

// Kinds a Lister lists.
const (
	ListCustomers = "customers"
	ListOrders    = "orders"
	ListProducts  = "products"
	// ListCarts lists shopping carts (Magento's quotes) as cart events,
	// for cart-events on a platform that sends no cart webhooks: a cart
	// that became an order lists as completed, so it is never called
	// abandoned.
	ListCarts = "carts"
)

// ListRequest is one page to read.
type ListRequest struct {
	Kind string
	// Since starts a listing at the records updated at or after it (zero:
	// every record). It is read only when Cursor is "".
	Since time.Time
	// Cursor continues a listing: a ListPage.Next from this source and
	// kind, opaque to the caller.
	Cursor string
	// Limit is the records a page holds at most; 0 is the package's
	// default (the platform's largest page that its rate limit makes
	// sensible).
	Limit int
}

// ListPage is one page of a listing.
type ListPage struct {
	Events []*Event
	// Next is the cursor to read on from. With More, it is the next page
	// of this listing; without, it marks the listing's end, and a later
	// List from it returns what changed since (the high-water mark a
	// Poller stores), so it is never "" after a page was read.
	Next string
	More bool
	// Total is how many records the listing holds in all, for a progress
	// bar, or -1 when the API does not say.
	Total int
	// Failed are the records on the page that could not be read (a field
	// of the wrong type), each an EINVALID error naming the record and the
	// field; the page's other records are in Events.
	Failed []error
}

// Poller is a Lister whose platform sends no webhooks, or whose operator
// chose polling: the program lists every kind its skills need every
// PollInterval, from the cursor it stored after the last page it
// ingested, across instances sharing a store one at a time.
type Poller interface {
	Lister
	// PollInterval is how often to list; 0 turns polling off (the source
	// then only serves webhooks and backfill).
	PollInterval() time.Duration
	// PollStart is where a first poll starts, when no cursor is stored:
	// usually the time synclayer first ran (history is `backfill --from`'s
	// job), or the zero time to list everything.
	PollStart(now time.Time) time.Time
}

// SourceReconciler is a Lister that asks the program to reconcile its
// recently updated customers with the canonical store every
// ReconcileInterval (config: reconcile_interval; default daily where the
// API is configured).
type SourceReconciler interface {
	Lister
	ReconcileInterval() time.Duration
}

// HookRegistrar is a source whose webhook subscriptions can be made and
// read through the platform's API (Shopify's webhookSubscriptions,
// WooCommerce's /webhooks, BigCommerce's /v3/hooks): `synclayer sources
// register` creates what the enabled skills need, and `sources check`
// compares what is registered with it, so a subscription the platform
// removed after repeated failures is noticed and put back.
type HookRegistrar interface {
	Source
	// HookTopics are the platform's webhook topics the skills need
	// (customer-sync, order-events, product-catalog, cart-events), in the
	// platform's own names, sorted.
	HookTopics(skills []string) []string
	// Hooks lists the subscriptions the platform holds for topics that
	// deliver to url or to another address with the same path (an old
	// host name), and each topic that has none as a HookMissing row.
	Hooks(ctx context.Context, url string, topics []string) ([]HookState, error)
	// RegisterHooks makes each topic deliver to url: a subscription of
	// the topic at url, or at the same path on another host, is updated
	// when it differs; otherwise one is created. Re-running it changes
	// nothing. It returns what it did to each topic, up to an error.
	RegisterHooks(ctx context.Context, url string, topics []string) ([]HookState, error)
}

// HookState is one webhook subscription as a platform holds it, and what
// register did to it or check found.
type HookState struct {
	Topic  string `json:"topic"`
	ID     string `json:"id,omitempty"` // the platform's id; "" when missing
	URL    string `json:"url,omitempty"`
	Status string `json:"status"`
	// Detail says more: the platform's own state ("disabled after
	// failures"), or what differs from what is needed.
	Detail string `json:"detail,omitempty"`
}

// HookState statuses.
const (
	HookCreated   = "created"
	HookUpdated   = "updated"
	HookUnchanged = "unchanged"
	HookOK        = "ok"        // check: registered and active at url
	HookMissing   = "missing"   // check: no subscription of the topic
	HookInactive  = "inactive"  // check: registered but the platform paused or disabled it
	HookElsewhere = "elsewhere" // check: registered at another URL of the same path
)

// HookPlace is where a webhook subscription delivers, compared with the
// URL synclayer serves the source at.
type HookPlace int

const (
	HookPlaceOther    HookPlace = iota // another path: not this source's (another source of the same store)
	HookPlaceTarget                    // the URL itself
	HookPlaceSamePath                  // the URL's path on another host: an old host name, moved by register
)

// WhereHookDelivers compares a subscription's delivery URL with target,
// as every HookRegistrar does: the same URL, the same path on another
// host (HookElsewhere until register moves it), or another path, which
// register and check leave alone.
func WhereHookDelivers(hookURL, target string) HookPlace {
	if hookURL == target {
		return HookPlaceTarget
	}
	a, err1 := url.Parse(hookURL)
	b, err2 := url.Parse(target)
	if err1 == nil && err2 == nil && a.Path == b.Path && a.Path != "" {
		return HookPlaceSamePath
	}
	return HookPlaceOther
}

// EncodeCursor is a Lister's opaque cursor for v: its JSON in URL-safe
// base64, so it is one token in a log line or a checkpoint. Each package
// keeps its own cursor type and checks it in DecodeCursor's caller.
func EncodeCursor(v any) string {
	b, _ := json.Marshal(v)
	return base64.RawURLEncoding.EncodeToString(b)
}

// DecodeCursor reads an EncodeCursor token into v; an error means the
// token is not one (the caller says which listing to start again).
func DecodeCursor(s string, v any) error {
	b, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil {
		return err
	}
	return json.Unmarshal(b, v)
}

// RecordError is a ListPage.Failed entry: the platform's record, by kind
// and id (clipped by the caller: it comes from the platform), and what
// could not be read in it, EINVALID with the field err names.
func RecordError(platform, what, id string, err error) error {
	field := ""
	var se *Error
	if errors.As(err, &se) {
		field = se.Field
	}
	if id == "" {
		id = "(no id)"
	}
	return &Error{Code: EINVALID, Field: field, Message: fmt.Sprintf("%s: %s %s: %s", platform, what, id, ErrorMessage(err))}
}
