package magento

import (
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"net/url"
	"strconv"
	"time"

	"synclayer"
	"synclayer/normalize"
)

// DefaultPageSize is a page's records when ListRequest.Limit is 0.
const DefaultPageSize = 100

// Settle is how far before the newest change read a finished listing's
// cursor points: Magento stamps updated_at (to the second) when a save
// starts, and its transaction may commit later, so the last seconds are
// read again by the next poll (deduplicated) rather than missed.
const Settle = 30 * time.Second

// endpoints are the search endpoints of each kind.
var endpoints = map[string]string{
	synclayer.ListCustomers: "/customers/search",
	synclayer.ListOrders:    "/orders",
	synclayer.ListProducts:  "/products",
	synclayer.ListCarts:     "/carts/search",
}

// cursor is where a listing is: every record before (At, ID) in the order
// (updated_at, entity_id) was read. It is a keyset, not a page number:
// a record changed while a listing runs moves to the end (its updated_at
// is now), which would shift every later page by one and skip a record
// under currentPage offsets; and records sharing one updated_at across a
// page boundary are told apart by entity_id, so none is skipped or read
// twice. Each request asks for currentPage 1 from the cursor on, and
// total_count says whether more are waiting, so Magento's answer to a
// page past the end (the last page again, since 2.3) is never asked for;
// were it given, the records it repeats are before the cursor and passed
// over.
type cursor struct {
	At time.Time `json:"at"`
	// ID is the last entity_id read at At; 0 at a listing's start.
	ID int64 `json:"id,omitempty"`
	// N is how many records at At (each at most ID) were read: the next
	// request asks for N more than a page from At on and passes over
	// them; when N reaches a page, records at At are walked by entity_id
	// instead, so a second of more records than a page neither loops nor
	// makes the page grow.
	N int `json:"n,omitempty"`
	// From says At itself is still to be read (a listing's start, Since).
	From bool `json:"from,omitempty"`
}

func (c cursor) encode() string { return synclayer.EncodeCursor(c) }

func decodeCursor(s string) (cursor, error) {
	var c cursor
	err := synclayer.DecodeCursor(s, &c)
	if err != nil {
		return c, synclayer.Permanent(synclayer.Errorf(synclayer.EINVALID, "the stored Magento cursor %q is not one this version reads; delete the checkpoint to list again from the start", normalize.Clip(s)))
	}
	return c, nil
}

// after reports whether a record at (at, id) comes after c.
func (c cursor) after(at time.Time, id int64) bool {
	switch {
	case at.After(c.At):
		return true
	case at.Equal(c.At):
		return c.From && c.ID == 0 || id > c.ID
	}
	return false
}

// searchPage is a search endpoint's answer.
type searchPage struct {
	Items      []json.RawMessage `json:"items"`
	TotalCount int               `json:"total_count"`
}

// List reads one page of kind's records after the cursor (or from
// req.Since), oldest updated_at first, entity_id breaking ties: one
// request (updated_at gteq the cursor's), or two while a second holds
// more records than a page (see cursor). A record it cannot read is in
// Failed, and the listing goes on past it. The last page's Next points
// Settle before the newest change read.
func (s *Source) List(ctx context.Context, req synclayer.ListRequest) (synclayer.ListPage, error) {
	path, ok := endpoints[req.Kind]
	if !ok {
		return synclayer.ListPage{}, synclayer.Permanent(fmt.Errorf("magento: nothing lists %q; the kinds are customers, orders, products and carts", req.Kind))
	}
	if s.base == "" {
		return synclayer.ListPage{}, synclayer.Permanent(synclayer.FieldErrorf("api_url", "is not set: the REST API is not configured for source %s", s.name))
	}
	c := cursor{At: req.Since.UTC().Truncate(time.Second), From: true}
	if req.Cursor != "" {
		var err error
		if c, err = decodeCursor(req.Cursor); err != nil {
			return synclayer.ListPage{}, err
		}
	}
	limit := req.Limit
	if limit <= 0 {
		limit = cmp.Or(s.settings.PageSize, DefaultPageSize)
	}
	var items []json.RawMessage
	more, total := false, -1
	sorted := func(q url.Values) url.Values {
		q.Set("searchCriteria[sortOrders][0][field]", "updated_at")
		q.Set("searchCriteria[sortOrders][0][direction]", "ASC")
		q.Set("searchCriteria[sortOrders][1][field]", "entity_id")
		q.Set("searchCriteria[sortOrders][1][direction]", "ASC")
		return q
	}
	at := c.At.Format(timeLayout)
	if c.ID > 0 && c.N >= limit {
		// More records share At than a page holds (an import): walk them
		// by entity_id, then go on after At.
		q := criteria(limit, filter{"updated_at", at, "eq"}, filter{"entity_id", strconv.FormatInt(c.ID, 10), "gt"})
		q.Set("searchCriteria[sortOrders][0][field]", "entity_id")
		q.Set("searchCriteria[sortOrders][0][direction]", "ASC")
		var pg searchPage
		if err := s.get(ctx, req.Kind, path+"?"+q.Encode(), &pg); err != nil {
			return synclayer.ListPage{}, err
		}
		items = pg.Items
		more = pg.TotalCount > len(pg.Items)
		if !more && len(items) < limit {
			var pg searchPage
			if err := s.get(ctx, req.Kind, path+"?"+sorted(criteria(limit-len(items), filter{"updated_at", at, "gt"})).Encode(), &pg); err != nil {
				return synclayer.ListPage{}, err
			}
			items = append(items, pg.Items...)
			more = pg.TotalCount > len(pg.Items)
			total = len(items) - len(pg.Items) + pg.TotalCount
		}
	} else {
		// One request: from At on, with room for the N records at At
		// read already, which the loop below passes over by (At, ID).
		var fs []filter
		if !c.At.IsZero() || !c.From {
			fs = append(fs, filter{"updated_at", at, "gteq"})
		}
		var pg searchPage
		if err := s.get(ctx, req.Kind, path+"?"+sorted(criteria(limit+c.N, fs...)).Encode(), &pg); err != nil {
			return synclayer.ListPage{}, err
		}
		items = pg.Items
		more = pg.TotalCount > len(pg.Items)
		total = max(pg.TotalCount-c.N, 0)
	}
	page := synclayer.ListPage{Total: total}
	now := s.now().UTC()
	next, positioned := c, false
	for i, raw := range items {
		m, err := normalize.Object(fmt.Sprintf("items[%d]", i), raw)
		if err != nil {
			page.Failed = append(page.Failed, fmt.Errorf("magento: %s: %w", req.Kind, err))
			continue
		}
		r := record{m: m}
		id, idErr := r.id()
		n, numErr := strconv.ParseInt(id, 10, 64)
		_, at, atErr := r.updatedAt()
		if idErr != nil || numErr != nil || atErr != nil {
			page.Failed = append(page.Failed, fmt.Errorf("magento: %s item %d (id %q) cannot be placed in the listing: %w", req.Kind, i, normalize.Clip(id), firstErr(idErr, atErr, numErr)))
			continue
		}
		if !c.after(at, n) || positioned && !next.after(at, n) {
			continue // out of order: a repeated page, or a record listed already
		}
		read := 1
		if at.Equal(next.At) && next.ID > 0 {
			read = next.N + 1
		}
		next, positioned = cursor{At: at, ID: n, N: read}, true
		var ev *synclayer.Event
		switch req.Kind {
		case synclayer.ListCustomers:
			ev, err = s.customerEvent(r, req.Kind, raw, now)
		case synclayer.ListOrders:
			ev, err = s.orderEvent(r, req.Kind, raw, now)
		case synclayer.ListProducts:
			ev, err = s.productEvent(r, req.Kind, raw, now)
		case synclayer.ListCarts:
			ev, err = s.cartEvent(r, req.Kind, raw, now)
		}
		if err != nil {
			page.Failed = append(page.Failed, fmt.Errorf("magento: %s %s: %w", kindName[req.Kind], id, err))
			continue
		}
		if ev == nil {
			continue // a cart without an email: nobody to remind, and the cursor moves past it
		}
		page.Events = append(page.Events, ev)
	}
	if !positioned && len(items) > 0 {
		more = false // nothing on the page could be placed: stop rather than read it again at once
	}
	if !more && positioned {
		// The listing's end: the next poll starts a little before the
		// newest change read, so a record saved in the same second after
		// this read, or committed later than the updated_at its
		// transaction stamped, is still found. What it reads again has
		// the same dedupe key, so ingest counts it once.
		next = cursor{At: next.At.Add(-Settle), From: true}
	}
	page.Next, page.More = next.encode(), more
	return page, nil
}

var kindName = map[string]string{synclayer.ListCustomers: "customer", synclayer.ListOrders: "order", synclayer.ListProducts: "product", synclayer.ListCarts: "cart"}

func firstErr(errs ...error) error {
	for _, e := range errs {
		if e != nil {
			return e
		}
	}
	return nil
}

type filter struct{ field, value, cond string }

// criteria builds searchCriteria: each filter in its own filter group
// (groups are ANDed), the first page of size.
func criteria(size int, fs ...filter) url.Values {
	q := url.Values{}
	for i, f := range fs {
		p := fmt.Sprintf("searchCriteria[filter_groups][%d][filters][0]", i)
		q.Set(p+"[field]", f.field)
		q.Set(p+"[value]", f.value)
		q.Set(p+"[condition_type]", f.cond)
	}
	q.Set("searchCriteria[pageSize]", strconv.Itoa(size))
	q.Set("searchCriteria[currentPage]", "1")
	return q
}
