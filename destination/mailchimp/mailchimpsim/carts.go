package mailchimpsim

import (
	"encoding/json"
	"net/http"
)

// Cart is a store's cart. Mailchimp's abandoned-cart automation emails
// its customer a link to CheckoutURL.
type Cart struct {
	ID           string      `json:"id"`
	CustomerID   string      `json:"-"`
	CheckoutURL  string      `json:"checkout_url,omitempty"`
	CurrencyCode string      `json:"currency_code"`
	OrderTotal   json.Number `json:"order_total"`
	Lines        []Line      `json:"lines"`
}

type cartBody struct {
	Cart
	Customer *customerBody `json:"customer"`
}

func (s *Server) handleCartCreate(w http.ResponseWriter, r *http.Request) {
	var b cartBody
	if !decode(w, r, &b) {
		return
	}
	st, ok := s.lookupStore(w, r)
	if !ok {
		return
	}
	defer s.mu.Unlock()
	if b.ID == "" || b.CurrencyCode == "" || b.OrderTotal == "" || b.Customer == nil || b.Customer.OptInStatus == nil {
		invalid(w, validationDetail, FieldError{Field: "id", Message: "id, customer (with id and opt_in_status), currency_code, order_total and lines are required"})
		return
	}
	if st.carts[b.ID] != nil {
		badRequest(w, "We were unable to process the request. A cart with the provided ID already exists in the account.")
		return
	}
	if d := st.checkLines(b.Lines); d != "" {
		badRequest(w, d)
		return
	}
	if d := s.customer(st, b.Customer); d != "" {
		invalid(w, d, FieldError{Field: "customer", Message: d})
		return
	}
	k := b.Cart
	k.CustomerID = b.Customer.ID
	k.Lines = mergeLines(nil, b.Lines)
	st.carts[k.ID] = &k
	writeJSON(w, http.StatusOK, cartJSON(st, &k))
}

func (s *Server) cart(w http.ResponseWriter, r *http.Request) (*store, *Cart, bool) {
	st, ok := s.lookupStore(w, r)
	if !ok {
		return nil, nil, false
	}
	k := st.carts[r.PathValue("cart_id")]
	if k == nil {
		s.mu.Unlock()
		notFound(w)
		return nil, nil, false
	}
	return st, k, true
}

func (s *Server) handleCartGet(w http.ResponseWriter, r *http.Request) {
	st, k, ok := s.cart(w, r)
	if !ok {
		return
	}
	defer s.mu.Unlock()
	writeJSON(w, http.StatusOK, cartJSON(st, k))
}

// handleCartPatch sets the fields sent and merges lines by ID, as for
// orders.
func (s *Server) handleCartPatch(w http.ResponseWriter, r *http.Request) {
	var b cartBody
	if !decode(w, r, &b) {
		return
	}
	st, k, ok := s.cart(w, r)
	if !ok {
		return
	}
	defer s.mu.Unlock()
	if d := st.checkLines(b.Lines); d != "" {
		badRequest(w, d)
		return
	}
	if b.Customer != nil && b.Customer.OptInStatus != nil {
		b.Customer.ID = k.CustomerID
		s.customer(st, b.Customer)
	}
	if b.CheckoutURL != "" {
		k.CheckoutURL = b.CheckoutURL
	}
	if b.CurrencyCode != "" {
		k.CurrencyCode = b.CurrencyCode
	}
	if b.OrderTotal != "" {
		k.OrderTotal = b.OrderTotal
	}
	k.Lines = mergeLines(k.Lines, b.Lines)
	writeJSON(w, http.StatusOK, cartJSON(st, k))
}

// handleCartDelete removes the cart: 204, or Mailchimp's 404 problem
// document when the store holds no such cart. The cart's customer stays.
func (s *Server) handleCartDelete(w http.ResponseWriter, r *http.Request) {
	st, k, ok := s.cart(w, r)
	if !ok {
		return
	}
	defer s.mu.Unlock()
	delete(st.carts, k.ID)
	w.WriteHeader(http.StatusNoContent)
}

func (s *Server) handleCartLineDelete(w http.ResponseWriter, r *http.Request) {
	_, k, ok := s.cart(w, r)
	if !ok {
		return
	}
	defer s.mu.Unlock()
	k.Lines, ok = deleteLine(k.Lines, r.PathValue("line_id"))
	if !ok {
		notFound(w)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

func cartJSON(st *store, k *Cart) map[string]any {
	out := map[string]any{"id": k.ID, "currency_code": k.CurrencyCode, "order_total": k.OrderTotal, "lines": k.Lines,
		"customer": customerJSON(st.customers[k.CustomerID])}
	if k.CheckoutURL != "" {
		out["checkout_url"] = k.CheckoutURL
	}
	return out
}
