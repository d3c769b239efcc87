package shopify

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"synclayer"
	"synclayer/normalize"
)

var (
	_ synclayer.Lister           = (*Source)(nil)
	_ synclayer.SourceReconciler = (*Source)(nil)
)

// ListKinds returns customers, orders and products when the source has
// an admin: block, and nothing otherwise: without an access token there
// is no API to list from.
func (s *Source) ListKinds() []string {
	if s.admin == nil {
		return nil
	}
	return []string{synclayer.ListCustomers, synclayer.ListOrders, synclayer.ListProducts}
}

// ReconcileInterval is admin.reconcile_interval in effect: 0 (off)
// without an admin: block.
func (s *Source) ReconcileInterval() time.Duration {
	if s.admin == nil {
		return 0
	}
	return s.reconcile
}

// maxQueryCost is the most a single Admin GraphQL query may request;
// Shopify refuses a costlier one (MAX_COST_EXCEEDED) whatever the bucket
// holds, so a page's size is capped by what its records cost.
const maxQueryCost = 1000

// maxPage is the largest first: Shopify takes on a connection, and
// pagedWindow how many objects one query is paged through before the
// listing starts a new one: Shopify stops at 25,000 (docs/platforms/shopify.md).
const (
	maxPage     = 250
	pagedWindow = 20000
)

// listing is what differs between the kinds: the query, what a record
// costs, and the conversion of one node to the event its webhook makes.
type listing struct {
	kind  string
	op    string // the query's root field
	query string
	// perNode is the requested cost of one node: a point for each object
	// it selects, nested connections multiplied by their first: (Shopify's
	// calculation; TestListing_Cost checks it against the simulator's).
	perNode int
	// page is the default page size: as many records as fit in half the
	// largest query, so a page passes while other calls of the app spend
	// the rest of the bucket.
	page int
	// vars are the query's variables besides the page's (the first: of
	// its nested connections).
	vars    map[string]any
	convert func(s *Source, node json.RawMessage, now time.Time) (*synclayer.Event, error)
}

func (l *listing) cost(first int) int { return 2 + first*l.perNode }

// maxFirst is the largest page whose cost Shopify accepts.
func (l *listing) maxFirst() int { return min(maxPage, (maxQueryCost-2)/l.perNode) }

func listingOf(kind string) *listing {
	switch kind {
	case synclayer.ListCustomers:
		return &customerListing
	case synclayer.ListOrders:
		return &orderListing
	case synclayer.ListProducts:
		return &productListing
	}
	return nil
}

// listCursor is a ListPage.Next, base64url JSON: opaque to the program,
// readable in a support case (it holds no customer data and no URL).
type listCursor struct {
	Kind  string    `json:"k"`
	After string    `json:"a,omitempty"` // the connection's endCursor
	Since time.Time `json:"s,omitzero"`  // the listing's updated_at lower bound
	Mark  time.Time `json:"m,omitzero"`  // the newest updatedAt read so far
	Total int       `json:"t"`           // -1: unknown
	Read  int       `json:"r,omitempty"` // objects read since After was ""
	// A bulk listing (list_bulk.go): the operation's id, the byte offset
	// of the next line in its JSONL file and that line's number.
	Bulk   string `json:"b,omitempty"`
	Offset int64  `json:"o,omitempty"`
	Line   int    `json:"l,omitempty"`
}

func (c listCursor) encode() string { return synclayer.EncodeCursor(c) }

func decodeCursor(kind, s string) (listCursor, error) {
	var c listCursor
	err := synclayer.DecodeCursor(s, &c)
	if err != nil || c.Kind == "" {
		return c, synclayer.Permanent(synclayer.FieldErrorf("cursor", "is not a Shopify listing cursor; start the listing again without one"))
	}
	if c.Kind != kind {
		return c, synclayer.Permanent(synclayer.FieldErrorf("cursor", "continues a listing of %s, not of %s", normalize.Clip(c.Kind), kind))
	}
	return c, nil
}

// indexLag is how far before the newest record read a finished listing's
// next one starts. Shopify's search index, which the query: filter reads,
// follows writes by seconds; the overlap reads a few records twice, which
// their DedupeKey makes one event, instead of missing one indexed late.
const indexLag = time.Minute

// List returns one page of kind's records updated at or after req.Since,
// oldest update first, as the events their webhooks would make. A full
// customer listing (no Since, no Cursor) of a shop with more than
// admin.bulk_threshold customers runs a bulk operation instead of paging
// (list_bulk.go). Errors: EINVALID for a kind it does not list or a bad
// cursor (Permanent), Throttled when the query cost bucket is empty, and
// the Admin client's errors (a refused token is Permanent, naming
// admin.access_token and the scope to grant).
func (s *Source) List(ctx context.Context, req synclayer.ListRequest) (synclayer.ListPage, error) {
	if s.admin == nil {
		return synclayer.ListPage{}, synclayer.Permanent(synclayer.FieldErrorf("admin",
			"is not set, so this Shopify source has no API to list %s from: add an admin block with shop and access_token", req.Kind))
	}
	l := listingOf(req.Kind)
	if l == nil {
		return synclayer.ListPage{}, synclayer.Permanent(synclayer.FieldErrorf("kind",
			"%q is not a kind Shopify lists; it lists customers, orders and products", normalize.Clip(req.Kind)))
	}
	c := listCursor{Kind: req.Kind, Since: req.Since.UTC(), Total: -1}
	if req.Cursor != "" {
		var err error
		if c, err = decodeCursor(req.Kind, req.Cursor); err != nil {
			return synclayer.ListPage{}, err
		}
	} else if l == &customerListing {
		count, exact, err := s.customersCount(ctx, c.Since)
		if err != nil {
			return synclayer.ListPage{}, err
		}
		if exact {
			c.Total = count
		}
		// A count that is not exact stopped at Shopify's limit (10,000
		// from 2025-07), past which the size is unknown: a bulk operation
		// lists any number, paging stops at 25,000.
		if c.Since.IsZero() && (count > s.bulkThreshold || !exact) {
			return s.startBulk(ctx, req, c)
		}
	}
	if c.Bulk != "" {
		return s.bulkPage(ctx, req, c)
	}
	return s.page(ctx, l, req, c)
}

// connection is a connection's answer: its nodes, raw, and pageInfo.
type connection struct {
	Edges []struct {
		Node json.RawMessage `json:"node"`
	} `json:"edges"`
	PageInfo pageInfo `json:"pageInfo"`
}

type pageInfo struct {
	HasNextPage bool   `json:"hasNextPage"`
	EndCursor   string `json:"endCursor"`
}

// page reads one page of the paged listing.
func (s *Source) page(ctx context.Context, l *listing, req synclayer.ListRequest, c listCursor) (synclayer.ListPage, error) {
	first := req.Limit
	if first <= 0 {
		first = l.page
	}
	first = min(first, l.maxFirst())
	vars := map[string]any{"first": first, "sortKey": "UPDATED_AT"}
	for k, v := range l.vars {
		vars[k] = v
	}
	if c.After != "" {
		vars["after"] = c.After
	}
	if q := updatedSince(c.Since); q != "" {
		vars["query"] = q
	}
	var conn connection
	if err := s.admin.query(ctx, l.op, l.query, l.cost(first), vars, &conn); err != nil {
		return synclayer.ListPage{}, err
	}
	p := synclayer.ListPage{Total: c.Total}
	now := s.admin.now().UTC()
	for _, e := range conn.Edges {
		s.add(&p, &c, l, e.Node, now)
	}
	if conn.PageInfo.HasNextPage {
		if conn.PageInfo.EndCursor == "" {
			return synclayer.ListPage{}, fmt.Errorf("shopify: %s: the answer says there is a next page but has no pageInfo.endCursor", l.op)
		}
		c.After = conn.PageInfo.EndCursor
		if c.Read += len(conn.Edges); c.Read+first > pagedWindow {
			// Shopify pages no further than 25,000 objects: the listing
			// goes on with a new query from the newest update read, which
			// the sort by UPDATED_AT makes the rest of the listing.
			if !c.Mark.After(c.Since) {
				return synclayer.ListPage{}, synclayer.Permanent(synclayer.Errorf(synclayer.EINVALID,
					"shopify: more than %d %s were updated at %s, more than Shopify pages through in one query; list them with a bulk operation (customers: a full listing above admin.bulk_threshold)",
					pagedWindow, l.kind, c.Since.Format(time.RFC3339)))
			}
			c.Since, c.After, c.Read = c.Mark, "", 0
		}
		p.More = true
		p.Next = c.encode()
		return p, nil
	}
	p.Next = c.finished().encode()
	return p, nil
}

// add converts one node into p: an event, or a Failed error naming the
// record.
func (s *Source) add(p *synclayer.ListPage, c *listCursor, l *listing, node json.RawMessage, now time.Time) {
	ev, err := l.convert(s, node, now)
	if err != nil {
		p.Failed = append(p.Failed, err)
		return
	}
	if ev.OccurredAt.After(c.Mark) {
		c.Mark = ev.OccurredAt
	}
	p.Events = append(p.Events, ev)
}

// finished is the cursor a later listing of what changed since starts
// from: the newest update read, less indexLag, or where this one started.
func (c listCursor) finished() listCursor {
	next := listCursor{Kind: c.Kind, Since: c.Since, Total: -1}
	if !c.Mark.IsZero() {
		next.Since = c.Mark.Add(-indexLag)
	}
	return next
}

// updatedSince is the search query of records updated at or after t, in
// Shopify's search syntax; "" for the zero time (every record).
func updatedSince(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return "updated_at:>='" + t.UTC().Format(time.RFC3339) + "'"
}

// listedEvent is the event of one listed record: its webhook's, with a
// DedupeKey made of the kind, the record's id and its update time, so a
// record read twice is one event and a later change of it another.
func listedEvent(kind, topicName string, at time.Time, id string, node json.RawMessage, now time.Time) *synclayer.Event {
	return &synclayer.Event{
		Source:     sourceName,
		DedupeKey:  "shopify:" + kind + ":" + id + ":" + at.UTC().Format(time.RFC3339Nano),
		Topic:      topicName,
		Type:       topics[topicName].typ,
		OccurredAt: at.UTC(),
		ReceivedAt: now,
		Payload:    node,
	}
}

// legacyID is the numeric id at the end of a global id
// (gid://shopify/Customer/7001 → 7001), which the REST payloads use.
func legacyID(gid string) string {
	if i := strings.LastIndexByte(gid, '/'); i >= 0 {
		gid = gid[i+1:]
	}
	if j := strings.IndexByte(gid, '?'); j >= 0 {
		gid = gid[:j]
	}
	return gid
}

// recordError is a ListPage.Failed entry naming the shopify record.
func recordError(what, id string, err error) error {
	return synclayer.RecordError("shopify", what, normalize.Clip(id), err)
}
