package bigcommerce

import (
	"context"
	"encoding/json"
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
	case kindCart, kindCartAbandoned:
		return s.fetchCart(ctx, ref.ID, ref.Kind == kindCartAbandoned)
	case kindSubscriber:
		return s.fetchSubscriber(ctx, ref.ID)
	case kindSubscriberDeleted:
		return s.fetchSubscriberDeleted(ctx, ref.ID)
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
		if resp.StatusCode == http.StatusNoContent || len(strings.TrimSpace(string(body))) == 0 {
			return nil // v2's answer to a list with nothing in it
		}
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
		e.Msg += ": the access_token was refused or lacks the scope; create an API account with read access to customers, orders, products and (for cart-events) carts, set access_token, and replay the dead letters"
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
	ev, err := s.customerEvent(page.Data[0], s.now().UTC())
	if err != nil {
		return nil, synclayer.Permanent(fmt.Errorf("bigcommerce: customer %s: %w", id, err))
	}
	return []*synclayer.Event{ev}, nil
}

func (s *Source) fetchOrder(ctx context.Context, id string) ([]*synclayer.Event, error) {
	var o map[string]json.RawMessage
	if err := s.get(ctx, "order "+id, "/v2/orders/"+url.PathEscape(id), &o); err != nil {
		return nil, err
	}
	lines, err := s.orderLines(ctx, id)
	if err != nil {
		return nil, err
	}
	ev, err := s.orderEvent(o, lines, s.now().UTC())
	if err != nil {
		return nil, synclayer.Permanent(fmt.Errorf("bigcommerce: order %s: %w", id, err))
	}
	return []*synclayer.Event{ev}, nil
}

// orderLines reads an order's products (v2 lists them apart from the
// order). An order without products answers 204 or an empty list.
func (s *Source) orderLines(ctx context.Context, id string) ([]map[string]json.RawMessage, error) {
	var lines []map[string]json.RawMessage
	if err := s.get(ctx, "order "+id+"'s products", "/v2/orders/"+url.PathEscape(id)+"/products", &lines); err != nil {
		return nil, err
	}
	return lines, nil
}

func (s *Source) fetchProduct(ctx context.Context, id string) ([]*synclayer.Event, error) {
	var page struct {
		Data map[string]json.RawMessage `json:"data"`
	}
	if err := s.get(ctx, "product "+id, "/v3/catalog/products/"+url.PathEscape(id), &page); err != nil {
		return nil, err
	}
	ev, err := s.productEvent(page.Data, s.now().UTC())
	if err != nil {
		return nil, synclayer.Permanent(fmt.Errorf("bigcommerce: product %s: %w", id, err))
	}
	return []*synclayer.Event{ev}, nil
}
