package woocommerce

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
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
// an api: block, and nothing otherwise.
func (s *Source) ListKinds() []string {
	if s.api == nil {
		return nil
	}
	return []string{synclayer.ListCustomers, synclayer.ListOrders, synclayer.ListProducts}
}

// ReconcileInterval is api.reconcile_interval in effect: 0 (off) without
// an api: block.
func (s *Source) ReconcileInterval() time.Duration {
	if s.api == nil {
		return 0
	}
	return s.reconcile
}

// MaxPage is the most records a page holds: WordPress refuses a per_page
// above 100 (docs/platforms/woocommerce.md).
const MaxPage = 100

// overlap is how far before a finished listing's start the next one
// starts: a save stamps date_modified_gmt before it commits, and the
// store's clock is read from its Date header, to the second. The records
// read twice are one event each (their DedupeKey).
const overlap = time.Minute

// resources are the webhook resource of each kind: the listed record is
// read as its <resource>.updated webhook.
var resources = map[string]string{synclayer.ListCustomers: "customer", synclayer.ListOrders: "order", synclayer.ListProducts: "product"}

// listCursor is a ListPage.Next, base64url JSON: opaque to the program,
// readable in a support case (no customer data, no URL).
type listCursor struct {
	Kind  string    `json:"k"`
	Page  int       `json:"p"`          // the page to read, from 1
	Since time.Time `json:"s,omitzero"` // the listing's date_modified_gmt lower bound
	Start time.Time `json:"a,omitzero"` // when the listing's first page was read, by the store's clock
	Total int       `json:"t"`          // -1: unknown
}

func (c listCursor) encode() string { return synclayer.EncodeCursor(c) }

func decodeCursor(kind, s string) (listCursor, error) {
	var c listCursor
	err := synclayer.DecodeCursor(s, &c)
	if err != nil || c.Kind == "" || c.Page < 1 {
		return c, synclayer.Permanent(synclayer.FieldErrorf("cursor", "is not a WooCommerce listing cursor; start the listing again without one"))
	}
	if c.Kind != kind {
		return c, synclayer.Permanent(synclayer.FieldErrorf("cursor", "continues a listing of %s, not of %s", normalize.Clip(c.Kind), kind))
	}
	return c, nil
}

// List returns one page of kind's records modified at or after
// req.Since, by id, as the events their <resource>.updated webhooks
// would make. Orders and products are filtered by the store
// (modified_after, in GMT); customers, whose endpoint has no such filter,
// are all read and filtered here, so a customer listing with a Since has
// an unknown Total. Paging is by page number over a list sorted by id,
// which a change to a record does not reorder (a change during the
// listing is read by the next one, which starts before this one did).
// Errors: EINVALID for a kind it does not list or a bad cursor
// (Permanent); Throttled for a 429 or 503; Permanent naming
// api.consumer_key for a refused key.
func (s *Source) List(ctx context.Context, req synclayer.ListRequest) (synclayer.ListPage, error) {
	if s.api == nil {
		return synclayer.ListPage{}, synclayer.Permanent(synclayer.FieldErrorf("api",
			"is not set, so this WooCommerce source has no API to list %s from: add an api block with url, consumer_key and consumer_secret", normalize.Clip(req.Kind)))
	}
	resource, ok := resources[req.Kind]
	if !ok {
		return synclayer.ListPage{}, synclayer.Permanent(synclayer.FieldErrorf("kind",
			"%q is not a kind WooCommerce lists; it lists customers, orders and products", normalize.Clip(req.Kind)))
	}
	c := listCursor{Kind: req.Kind, Page: 1, Since: req.Since.UTC().Truncate(time.Second), Total: -1}
	if req.Cursor != "" {
		var err error
		if c, err = decodeCursor(req.Kind, req.Cursor); err != nil {
			return synclayer.ListPage{}, err
		}
	}
	perPage := req.Limit
	if perPage <= 0 || perPage > MaxPage {
		perPage = MaxPage
	}
	q := url.Values{
		"page":     {strconv.Itoa(c.Page)},
		"per_page": {strconv.Itoa(perPage)},
		"orderby":  {"id"},
		"order":    {"asc"},
	}
	if req.Kind != synclayer.ListCustomers && !c.Since.IsZero() {
		// modified_after is exclusive; a second earlier takes the records
		// of Since itself, which the filter below keeps.
		q.Set("modified_after", c.Since.Add(-time.Second).Format("2006-01-02T15:04:05"))
		q.Set("dates_are_gmt", "true")
	}
	var records []json.RawMessage
	h, err := s.api.call(ctx, http.MethodGet, "/"+req.Kind, q, nil, &records)
	if err != nil {
		return synclayer.ListPage{}, err
	}
	if c.Start.IsZero() {
		c.Start = s.api.now().UTC()
		if t, err := http.ParseTime(h.Get("Date")); err == nil {
			c.Start = t.UTC()
		}
	}
	if c.Page == 1 {
		if n, err := strconv.Atoi(h.Get("X-WP-Total")); err == nil && n >= 0 && (req.Kind != synclayer.ListCustomers || c.Since.IsZero()) {
			c.Total = n
		}
	}
	p := synclayer.ListPage{Total: c.Total}
	now := s.api.now().UTC()
	for i, raw := range records {
		ev, err := s.listed(resource, raw, now)
		if err != nil {
			p.Failed = append(p.Failed, recordError(resource, i, raw, err))
			continue
		}
		if !c.Since.IsZero() && ev.OccurredAt.Before(c.Since) {
			continue
		}
		p.Events = append(p.Events, ev)
	}
	pages, err := strconv.Atoi(h.Get("X-WP-TotalPages"))
	if err != nil && len(records) == perPage {
		// Without the header, a full page may have a next one.
		pages = c.Page + 1
	}
	if c.Page < pages && len(records) > 0 {
		c.Page++
		p.More = true
		p.Next = c.encode()
		return p, nil
	}
	next := listCursor{Kind: c.Kind, Page: 1, Since: c.Start.Add(-overlap).Truncate(time.Second), Total: -1}
	p.Next = next.encode()
	return p, nil
}

// listed is the event of one listed record: its <resource>.updated
// webhook's, through the webhook's own mapping.
func (s *Source) listed(resource string, raw json.RawMessage, now time.Time) (*synclayer.Event, error) {
	obj, err := normalize.Object("record", raw)
	if err != nil {
		return nil, err
	}
	evs, err := s.record(resource+".updated", obj, raw, "", now)
	if se := (*synclayer.Error)(nil); errors.As(err, &se) && se.Field == "date_modified_gmt" && strings.HasPrefix(se.Message, "missing, and so is") {
		// A listed record has no delivery ID to fall back on.
		return nil, synclayer.FieldErrorf("date_modified_gmt", "missing; a listed record is told from its later changes by it")
	}
	if err != nil {
		return nil, err
	}
	return evs[0], nil
}

// recordError is a Failed entry: the record, by resource and id (or its
// place on the page when the id cannot be read), and what could not be
// read in it.
func recordError(resource string, i int, raw json.RawMessage, err error) error {
	field := ""
	var se *synclayer.Error
	if errors.As(err, &se) {
		field = se.Field
	}
	var rec struct {
		ID json.RawMessage `json:"id"`
	}
	what := fmt.Sprintf("record %d of the page", i+1)
	if json.Unmarshal(raw, &rec) == nil {
		if id, err := normalize.ID("id", rec.ID); err == nil && id != "" {
			what = resource + " " + normalize.Clip(id)
		}
	}
	return &synclayer.Error{Code: synclayer.EINVALID, Field: field,
		Message: fmt.Sprintf("woocommerce: %s: %s", what, synclayer.ErrorMessage(err))}
}
