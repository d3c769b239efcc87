package bigcommerce

import (
	"context"
	"encoding/json"
	"errors"
	"net/url"
	"strconv"
	"time"

	"synclayer"
	"synclayer/normalize"
)

var (
	_ synclayer.Lister           = (*Source)(nil)
	_ synclayer.SourceReconciler = (*Source)(nil)
)

// maxPage is the largest limit the list endpoints take (v3 customers and
// catalog products say 250; docs/platforms/bigcommerce.md), and the
// default page of customers and products: one request a page.
const maxPage = 250

// defaultOrderPage is the default page of orders: v2 lists an order
// without its products, which cost one more request each, so a page of
// 50 orders is 51 requests, a third of a Standard plan's 150 per 30 s.
const defaultOrderPage = 50

// listLag is how far before the newest update read a finished listing's
// next one starts: date_modified has whole seconds, and a record changed
// in the second the last page was read would otherwise be missed. The
// overlap is read again, which the DedupeKey makes one event.
const listLag = time.Minute

// ListKinds returns customers, orders and products: the source always
// has an access token (open requires one), so it can list all three.
func (s *Source) ListKinds() []string {
	if s.settings.AccessToken == "" {
		return nil
	}
	return []string{synclayer.ListCustomers, synclayer.ListOrders, synclayer.ListProducts}
}

// ReconcileInterval is reconcile_interval in effect: daily unless set,
// 0 when off.
func (s *Source) ReconcileInterval() time.Duration { return s.reconcile }

// listCursor is a ListPage.Next, base64url JSON: opaque to the program,
// readable in a support case (no customer data, no URL).
type listCursor struct {
	Kind  string    `json:"k"`
	Page  int       `json:"p"`           // the next page to read, from 1
	Since time.Time `json:"s,omitzero"`  // the listing's date_modified lower bound
	Mark  time.Time `json:"m,omitzero"`  // the newest date_modified read so far
	Total int       `json:"t"`           // -1: unknown
	Limit int       `json:"l,omitempty"` // the page size the listing started with
	Skip  int       `json:"o,omitempty"` // orders: the records of Page already read
}

func (c listCursor) encode() string { return synclayer.EncodeCursor(c) }

func decodeCursor(kind, s string) (listCursor, error) {
	var c listCursor
	err := synclayer.DecodeCursor(s, &c)
	if err != nil || c.Kind == "" || c.Page < 1 {
		return c, synclayer.Permanent(synclayer.FieldErrorf("cursor", "is not a BigCommerce listing cursor; start the listing again without one"))
	}
	if c.Kind != kind {
		return c, synclayer.Permanent(synclayer.FieldErrorf("cursor", "continues a listing of %s, not of %s", normalize.Clip(c.Kind), kind))
	}
	return c, nil
}

// finished is the cursor a later listing of what changed since starts
// from: the newest update read, less listLag, or where this one started.
func (c listCursor) finished() listCursor {
	next := listCursor{Kind: c.Kind, Page: 1, Since: c.Since, Total: -1}
	if !c.Mark.IsZero() {
		next.Since = c.Mark.Add(-listLag)
	}
	return next
}

// pagination is a v3 list's meta.pagination.
type pagination struct {
	Total       int `json:"total"`
	CurrentPage int `json:"current_page"`
	TotalPages  int `json:"total_pages"`
}

// List returns one page of kind's records modified at or after
// req.Since, oldest change first, as the events Fetch makes of them:
// customers from GET /v3/customers and products from GET /v3/catalog/
// products (date_modified:min, sorted by date_modified, Total from
// meta.pagination), orders from GET /v2/orders (min_date_modified, sorted
// by date_modified:asc, with each order's products; v2 gives no total, so
// Total is -1). The cursor is the next page number and the listing's
// lower bound.
//
// Paging is by page number, as the API pages: a record changed while a
// listing runs moves to its end and is read there, and shifts the records
// after it back by one, so one of them can be missed by this listing;
// the next one (a reconciliation's window overlaps the last) reads it.
//
// Errors: EINVALID for a kind it does not list or a bad cursor
// (Permanent), Throttled for a 429 or a spent rate-limit window, and a
// refused token Permanent, naming access_token.
func (s *Source) List(ctx context.Context, req synclayer.ListRequest) (synclayer.ListPage, error) {
	switch req.Kind {
	case synclayer.ListCustomers, synclayer.ListOrders, synclayer.ListProducts:
	default:
		return synclayer.ListPage{}, synclayer.Permanent(synclayer.FieldErrorf("kind",
			"%q is not a kind BigCommerce lists; it lists customers, orders and products", normalize.Clip(req.Kind)))
	}
	c := listCursor{Kind: req.Kind, Page: 1, Since: req.Since.UTC(), Total: -1}
	if req.Cursor != "" {
		var err error
		if c, err = decodeCursor(req.Kind, req.Cursor); err != nil {
			return synclayer.ListPage{}, err
		}
	}
	// A listing keeps the page size it started with, so its page numbers
	// stay the same pages.
	limit := c.Limit
	if limit <= 0 {
		limit = req.Limit
	}
	if limit <= 0 {
		limit = maxPage
		if req.Kind == synclayer.ListOrders {
			limit = defaultOrderPage
		}
	}
	limit = min(limit, maxPage)
	c.Limit = limit
	q := url.Values{}
	q.Set("page", strconv.Itoa(c.Page))
	q.Set("limit", strconv.Itoa(limit))
	now := s.now().UTC()
	p := synclayer.ListPage{Total: c.Total}
	switch req.Kind {
	case synclayer.ListCustomers, synclayer.ListProducts:
		path := "/v3/customers"
		if req.Kind == synclayer.ListProducts {
			path = "/v3/catalog/products"
			q.Set("sort", "date_modified")
			q.Set("direction", "asc")
		} else {
			q.Set("sort", "date_modified:asc")
		}
		if !c.Since.IsZero() {
			q.Set("date_modified:min", c.Since.Format(time.RFC3339))
		}
		var page struct {
			Data []json.RawMessage `json:"data"`
			Meta struct {
				Pagination pagination `json:"pagination"`
			} `json:"meta"`
		}
		if err := s.get(ctx, req.Kind+" page "+strconv.Itoa(c.Page), path+"?"+q.Encode(), &page); err != nil {
			return synclayer.ListPage{}, err
		}
		pg := page.Meta.Pagination
		c.Total, p.Total = pg.Total, pg.Total
		_, _ = s.addPage(&p, &c, req.Kind, page.Data, nil, now) // no products to read: no error
		p.More = pg.CurrentPage < pg.TotalPages
	case synclayer.ListOrders:
		q.Set("sort", "date_modified:asc")
		if !c.Since.IsZero() {
			q.Set("min_date_modified", c.Since.Format(time.RFC3339))
		}
		var orders []json.RawMessage
		if err := s.get(ctx, "orders page "+strconv.Itoa(c.Page), "/v2/orders?"+q.Encode(), &orders); err != nil {
			return synclayer.ListPage{}, err
		}
		// A page whose products could not all be read (the rate-limit
		// window ran out: a page of orders costs a request per order)
		// returns the orders read, and its cursor reads the rest of the
		// same page: a page larger than the store's quota still ends.
		n, err := s.addPage(&p, &c, req.Kind, orders[min(c.Skip, len(orders)):], s.orderLinesOf(ctx), now)
		if err != nil {
			if n == 0 {
				return synclayer.ListPage{}, err
			}
			c.Skip += n
			p.More, p.Next = true, c.encode()
			return p, nil
		}
		c.Skip = 0
		// v2 says nothing of the pages left: a full page may have more.
		p.More = len(orders) >= limit
	}
	if p.More {
		c.Page++
		p.Next = c.encode()
		return p, nil
	}
	p.Next = c.finished().encode()
	return p, nil
}

// orderLinesOf reads an order's products for a listed order.
func (s *Source) orderLinesOf(ctx context.Context) func(id string) ([]map[string]json.RawMessage, error) {
	return func(id string) ([]map[string]json.RawMessage, error) { return s.orderLines(ctx, id) }
}

// addPage converts a page's records into p: an event each, or a Failed
// entry naming the record and the field. lines reads an order's products;
// its error (a rate limit, an outage) stops the page there: addPage
// returns it and how many records it converted before.
func (s *Source) addPage(p *synclayer.ListPage, c *listCursor, kind string, records []json.RawMessage,
	lines func(string) ([]map[string]json.RawMessage, error), now time.Time) (int, error) {
	for i, raw := range records {
		ev, id, err := s.listedRecord(kind, raw, lines, now)
		if err != nil {
			var re *readError
			if errors.As(err, &re) {
				return i, re.err
			}
			p.Failed = append(p.Failed, recordError(kind[:len(kind)-1], id, err))
			continue
		}
		if ev.OccurredAt.After(c.Mark) {
			c.Mark = ev.OccurredAt
		}
		p.Events = append(p.Events, ev)
	}
	return len(records), nil
}

// listedRecord is one listed record's event, read with the parser Fetch
// uses; id is the record's id as far as it could be read.
func (s *Source) listedRecord(kind string, raw json.RawMessage, lines func(string) ([]map[string]json.RawMessage, error), now time.Time) (*synclayer.Event, string, error) {
	m, err := normalize.Object("record", raw)
	if err != nil {
		return nil, "", err
	}
	id, _ := normalize.ID("id", m["id"])
	switch kind {
	case synclayer.ListCustomers:
		ev, err := s.customerEvent(m, now)
		return ev, id, err
	case synclayer.ListProducts:
		ev, err := s.productEvent(m, now)
		return ev, id, err
	}
	if _, err := recordID(m); err != nil {
		return nil, id, err
	}
	ls, err := lines(id)
	if err != nil {
		if synclayer.HTTPStatus(err) == 404 {
			return nil, id, synclayer.FieldErrorf("products", "could not be read: the order was deleted while it was listed")
		}
		return nil, id, &readError{err}
	}
	ev, err := s.orderEvent(m, ls, now)
	return ev, id, err
}

// readError is a failed read of a listed order's products (a rate limit,
// an outage): the page fails, and is read again.
type readError struct{ err error }

func (e *readError) Error() string { return e.err.Error() }
