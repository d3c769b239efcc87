package bigcommerce

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"synclayer"
	"synclayer/normalize"
)

// APIError is a REST API answer other than 2xx. HTTPStatus lets the
// program read a 401 or 403 as a refused access_token.
type APIError struct {
	Status int
	Msg    string
}

func (e *APIError) Error() string   { return e.Msg }
func (e *APIError) HTTPStatus() int { return e.Status }

// Fetch reads the record ref names: a customer (v3), an order with its
// products (v2), or a product (v3). A 429 is a Throttled error waiting
// X-Rate-Limit-Time-Reset-Ms; 401 and 403 are permanent and name
// access_token; a 404 (or a customer search that finds none) is permanent,
// the record was deleted; 5xx and transport errors are retried.
func (s *Source) Fetch(ctx context.Context, ref synclayer.FetchRef) ([]*synclayer.Event, error) {
	switch ref.Kind {
	case "customer":
		return s.fetchCustomer(ctx, ref.ID)
	case "order":
		return s.fetchOrder(ctx, ref.ID)
	case "product":
		return s.fetchProduct(ctx, ref.ID)
	}
	return nil, synclayer.Permanent(fmt.Errorf("bigcommerce: nothing reads a %q", ref.Kind))
}

// get reads path under the store into v.
func (s *Source) get(ctx context.Context, what, path string, v any) error {
	s.mu.Lock()
	wait := s.pauseUntil.Sub(s.now())
	s.mu.Unlock()
	if wait > 0 {
		return synclayer.Throttled(fmt.Errorf("bigcommerce: reading %s: the rate-limit window is spent; waiting for its reset", what), wait)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, s.base+path, nil)
	if err != nil {
		return synclayer.Permanent(err)
	}
	req.Header.Set("X-Auth-Token", s.settings.AccessToken)
	req.Header.Set("Accept", "application/json")
	resp, err := s.http.Do(req)
	if err != nil {
		return fmt.Errorf("bigcommerce: reading %s: the API did not answer", what)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 4<<20))
	if err != nil {
		return fmt.Errorf("bigcommerce: reading %s: %w", what, err)
	}
	reset := time.Duration(0)
	if ms, err := strconv.ParseInt(resp.Header.Get("X-Rate-Limit-Time-Reset-Ms"), 10, 64); err == nil && ms > 0 && ms < 3600_000 {
		reset = time.Duration(ms) * time.Millisecond
	}
	if left := resp.Header.Get("X-Rate-Limit-Requests-Left"); left == "0" && reset > 0 {
		s.mu.Lock()
		s.pauseUntil = s.now().Add(reset)
		s.mu.Unlock()
	}
	if resp.StatusCode/100 == 2 {
		if err := json.Unmarshal(body, v); err != nil {
			return synclayer.Permanent(fmt.Errorf("bigcommerce: reading %s: the answer is not JSON", what))
		}
		return nil
	}
	var eb struct {
		Title string `json:"title"`
	}
	_ = json.Unmarshal(body, &eb)
	msg := fmt.Sprintf("bigcommerce: reading %s: %d %s", what, resp.StatusCode, normalize.Clip(eb.Title))
	e := &APIError{Status: resp.StatusCode, Msg: msg}
	switch {
	case resp.StatusCode == http.StatusTooManyRequests:
		if reset <= 0 {
			reset = time.Second
		}
		e.Msg += " (a rate limit; waiting for X-Rate-Limit-Time-Reset-Ms)"
		return synclayer.Throttled(e, reset)
	case resp.StatusCode == 401 || resp.StatusCode == 403:
		e.Msg += ": the access_token was refused or lacks the scope; create an API account with read access to customers, orders and products, set access_token, and replay the dead letters"
		return synclayer.Permanent(e)
	case resp.StatusCode == 404:
		e.Msg += ": the record was deleted (or store_hash names another store)"
		return synclayer.Permanent(e)
	case resp.StatusCode >= 500:
		return e
	}
	return synclayer.Permanent(e)
}

func text(raw json.RawMessage) string {
	var s string
	_ = json.Unmarshal(raw, &s)
	return strings.TrimSpace(s)
}

func jsonString(s string) json.RawMessage { b, _ := json.Marshal(s); return b }

// customerFields reads the contact fields BigCommerce gives a customer or
// an order's billing address. An unreadable phone is left out.
func customerFields(m map[string]json.RawMessage) (map[string]json.RawMessage, error) {
	f := map[string]json.RawMessage{}
	if e := text(m["email"]); e != "" {
		email, err := normalize.Email(e)
		if err != nil {
			return nil, err
		}
		f[synclayer.FieldEmail] = jsonString(email)
	}
	for k, to := range map[string]string{"first_name": synclayer.FieldFirstName, "last_name": synclayer.FieldLastName} {
		if v := text(m[k]); v != "" {
			f[to] = jsonString(v)
		}
	}
	if p := text(m["phone"]); p != "" {
		if phone, err := normalize.Phone(p, ""); err == nil {
			f[synclayer.FieldPhone] = jsonString(phone)
		}
	}
	return f, nil
}

func (s *Source) fetchCustomer(ctx context.Context, id string) ([]*synclayer.Event, error) {
	var page struct {
		Data []map[string]json.RawMessage `json:"data"`
	}
	if err := s.get(ctx, "customer "+id, "/v3/customers?id:in="+url.QueryEscape(id), &page); err != nil {
		return nil, err
	}
	if len(page.Data) == 0 {
		return nil, synclayer.Permanent(&APIError{Status: 404, Msg: "bigcommerce: customer " + id + " is not found: the record was deleted"})
	}
	c := page.Data[0]
	fields, err := customerFields(c)
	if err != nil {
		return nil, synclayer.Permanent(fmt.Errorf("bigcommerce: customer %s: %w", id, err))
	}
	// accepts_product_review_abandoned_cart_emails is consent to product
	// review and abandoned-cart emails, not to marketing: kept as a field,
	// never read as an email opt-in or opt-out (docs/platforms/bigcommerce.md).
	if b, ok, _ := normalize.Bool("accepts_product_review_abandoned_cart_emails", c["accepts_product_review_abandoned_cart_emails"]); ok {
		fields["acceptsAbandonedCartEmails"], _ = json.Marshal(b)
	}
	_, created, _ := normalize.Date("date_created", c["date_created"])
	_, modified, _ := normalize.Date("date_modified", c["date_modified"])
	if modified.IsZero() {
		modified = s.now()
	}
	typ := synclayer.EventCustomerUpdated
	if !created.IsZero() && created.Equal(modified) {
		typ = synclayer.EventCustomerCreated
	}
	body, _ := json.Marshal(c)
	return []*synclayer.Event{{DedupeKey: "customer|" + id + "|" + modified.UTC().Format(time.RFC3339Nano), Topic: "customer", Type: typ,
		OccurredAt: modified.UTC(), ReceivedAt: s.now().UTC(), Payload: body,
		Customer: &synclayer.CustomerChange{SourceID: id, Fields: fields}}}, nil
}

// orderStatuses maps v2 status_id (docs/platforms/bigcommerce.md).
var orderStatuses = map[int64]synclayer.OrderStatus{
	0: synclayer.OrderPending, 1: synclayer.OrderPending, 7: synclayer.OrderPending, 12: synclayer.OrderPending,
	2: synclayer.OrderCompleted, 10: synclayer.OrderCompleted,
	3: synclayer.OrderPaid, 8: synclayer.OrderPaid, 9: synclayer.OrderPaid, 11: synclayer.OrderPaid, 13: synclayer.OrderPaid, 14: synclayer.OrderPaid,
	4: synclayer.OrderRefunded, 5: synclayer.OrderCancelled, 6: synclayer.OrderFailed,
}

// v2Time reads v2's RFC 1123 dates ("Tue, 20 Nov 2012 00:00:00 +0000").
func v2Time(raw json.RawMessage) time.Time {
	t, err := time.Parse(time.RFC1123Z, text(raw))
	if err != nil {
		return time.Time{}
	}
	return t.UTC()
}

func (s *Source) fetchOrder(ctx context.Context, id string) ([]*synclayer.Event, error) {
	var o map[string]json.RawMessage
	if err := s.get(ctx, "order "+id, "/v2/orders/"+url.PathEscape(id), &o); err != nil {
		return nil, err
	}
	var lines []map[string]json.RawMessage
	if err := s.get(ctx, "order "+id+"'s products", "/v2/orders/"+url.PathEscape(id)+"/products", &lines); err != nil {
		return nil, err
	}
	fail := func(err error) ([]*synclayer.Event, error) {
		return nil, synclayer.Permanent(fmt.Errorf("bigcommerce: order %s: %w", id, err))
	}
	ord := &synclayer.Order{SourceID: id, Number: "#" + id, Currency: strings.ToUpper(text(o["currency_code"])),
		CreatedAt: v2Time(o["date_created"]), UpdatedAt: v2Time(o["date_modified"])}
	var err error
	if ord.Total, err = normalize.Money("total_inc_tax", o["total_inc_tax"]); err != nil {
		return fail(err)
	}
	st, _, err := normalize.Int64("status_id", o["status_id"])
	if err != nil {
		return fail(err)
	}
	var known bool
	if ord.Status, known = orderStatuses[st]; !known {
		ord.Status = synclayer.OrderPending
	}
	if ord.UpdatedAt.IsZero() {
		ord.UpdatedAt = ord.CreatedAt
	}
	if ord.UpdatedAt.IsZero() {
		return fail(synclayer.FieldErrorf("date_modified", "missing; an order carries its dates"))
	}
	if ord.CreatedAt.IsZero() {
		ord.CreatedAt = ord.UpdatedAt
	}
	for i, l := range lines {
		it := synclayer.OrderItem{Name: text(l["name"]), SKU: text(l["sku"])}
		if it.ProductID, err = normalize.ID(fmt.Sprintf("products[%d].product_id", i), l["product_id"]); err != nil {
			return fail(err)
		}
		if it.VariantID, err = normalize.ID(fmt.Sprintf("products[%d].variant_id", i), l["variant_id"]); err != nil {
			return fail(err)
		}
		if it.Price, err = normalize.Money(fmt.Sprintf("products[%d].price_inc_tax", i), l["price_inc_tax"]); err != nil {
			return fail(err)
		}
		if it.Quantity, _, err = normalize.Int64(fmt.Sprintf("products[%d].quantity", i), l["quantity"]); err != nil {
			return fail(err)
		}
		ord.Items = append(ord.Items, it)
	}
	ch := &synclayer.OrderChange{SourceID: id, Order: ord}
	if addr, err := normalize.Object("billing_address", o["billing_address"]); err == nil {
		fields, err := customerFields(addr)
		if err != nil {
			return fail(err)
		}
		cust := &synclayer.CustomerChange{Fields: fields}
		if cid, _ := normalize.ID("customer_id", o["customer_id"]); cid != "" && cid != "0" {
			cust.SourceID = cid
		}
		if cust.Identifies() {
			ch.Customer = cust
		}
	}
	typ := synclayer.EventOrderUpdated
	switch {
	case ord.Status == synclayer.OrderCancelled:
		typ = synclayer.EventOrderCancelled
	case ord.Status == synclayer.OrderRefunded:
		typ = synclayer.EventOrderRefunded
	case ord.CreatedAt.Equal(ord.UpdatedAt):
		typ = synclayer.EventOrderCreated
	}
	body, _ := json.Marshal(map[string]any{"order": o, "products": lines})
	return []*synclayer.Event{{DedupeKey: "order|" + id + "|" + ord.UpdatedAt.Format(time.RFC3339), Topic: "order", Type: typ,
		OccurredAt: ord.UpdatedAt, ReceivedAt: s.now().UTC(), Payload: body, Order: ch}}, nil
}

func (s *Source) fetchProduct(ctx context.Context, id string) ([]*synclayer.Event, error) {
	var page struct {
		Data map[string]json.RawMessage `json:"data"`
	}
	if err := s.get(ctx, "product "+id, "/v3/catalog/products/"+url.PathEscape(id), &page); err != nil {
		return nil, err
	}
	p := page.Data
	fail := func(err error) ([]*synclayer.Event, error) {
		return nil, synclayer.Permanent(fmt.Errorf("bigcommerce: product %s: %w", id, err))
	}
	prod := &synclayer.Product{SourceID: id, Name: text(p["name"]), SKU: text(p["sku"])}
	var err error
	if prod.Price, err = normalize.Money("price", p["price"]); err != nil {
		return fail(err)
	}
	if _, prod.UpdatedAt, err = normalize.Date("date_modified", p["date_modified"]); err != nil {
		return fail(err)
	}
	if prod.UpdatedAt.IsZero() {
		prod.UpdatedAt = s.now().UTC()
	}
	prod.UpdatedAt = prod.UpdatedAt.UTC()
	if text(p["inventory_tracking"]) != "none" {
		if n, ok, _ := normalize.Int64("inventory_level", p["inventory_level"]); ok {
			prod.Stock = &n
		}
	}
	if cu, err := normalize.Object("custom_url", p["custom_url"]); err == nil {
		prod.URL = text(cu["url"])
	}
	if cats, err := normalize.Array("categories", p["categories"]); err == nil {
		for i, c := range cats {
			cid, err := normalize.ID(fmt.Sprintf("categories[%d]", i), c)
			if err != nil {
				return fail(err)
			}
			if cid != "" {
				prod.Categories = append(prod.Categories, cid)
			}
		}
	}
	if prod.Name == "" {
		return fail(errors.New("the product has no name"))
	}
	body, _ := json.Marshal(p)
	return []*synclayer.Event{{DedupeKey: "product|" + id + "|" + prod.UpdatedAt.Format(time.RFC3339), Topic: "product", Type: synclayer.EventProductUpdated,
		OccurredAt: prod.UpdatedAt, ReceivedAt: s.now().UTC(), Payload: body,
		Product: &synclayer.ProductChange{SourceID: id, Product: prod}}}, nil
}
