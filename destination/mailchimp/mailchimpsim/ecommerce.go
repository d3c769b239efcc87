package mailchimpsim

import (
	"encoding/json"
	"net/http"
	"time"
)

// Store is the server's record of an e-commerce store.
type Store struct {
	ID           string `json:"id"`
	ListID       string `json:"list_id"`
	Name         string `json:"name"`
	CurrencyCode string `json:"currency_code"`
}

// Customer is an e-commerce customer of a store. OptIn is its
// opt_in_status: true subscribed its address to the store's audience
// when the address was new there or transactional, as Mailchimp does.
type Customer struct {
	ID    string `json:"id"`
	Email string `json:"email_address"`
	OptIn bool   `json:"opt_in_status"`
}

type store struct {
	Store
	products  map[string]*Product
	orders    map[string]*Order
	carts     map[string]*Cart
	customers map[string]*Customer
}

// customerBody is a customer inside an order or cart body.
type customerBody struct {
	ID          string `json:"id"`
	Email       string `json:"email_address"`
	OptInStatus *bool  `json:"opt_in_status"`
}

func (s *Server) routeEcommerce() {
	for pattern, h := range map[string]http.HandlerFunc{
		"POST /ecommerce/stores":           s.handleStoreCreate,
		"GET /ecommerce/stores/{store_id}": s.handleStoreGet,

		"POST /ecommerce/stores/{store_id}/products":                                      s.handleProductCreate,
		"GET /ecommerce/stores/{store_id}/products/{product_id}":                          s.handleProductGet,
		"PATCH /ecommerce/stores/{store_id}/products/{product_id}":                        s.handleProductPatch,
		"DELETE /ecommerce/stores/{store_id}/products/{product_id}":                       s.handleProductDelete,
		"GET /ecommerce/stores/{store_id}/products/{product_id}/variants/{variant_id}":    s.handleVariantGet,
		"PUT /ecommerce/stores/{store_id}/products/{product_id}/variants/{variant_id}":    s.handleVariantPut,
		"DELETE /ecommerce/stores/{store_id}/products/{product_id}/variants/{variant_id}": s.handleVariantDelete,

		"POST /ecommerce/stores/{store_id}/orders":                              s.handleOrderCreate,
		"GET /ecommerce/stores/{store_id}/orders/{order_id}":                    s.handleOrderGet,
		"PATCH /ecommerce/stores/{store_id}/orders/{order_id}":                  s.handleOrderPatch,
		"DELETE /ecommerce/stores/{store_id}/orders/{order_id}/lines/{line_id}": s.handleOrderLineDelete,

		"POST /ecommerce/stores/{store_id}/carts":                             s.handleCartCreate,
		"GET /ecommerce/stores/{store_id}/carts/{cart_id}":                    s.handleCartGet,
		"PATCH /ecommerce/stores/{store_id}/carts/{cart_id}":                  s.handleCartPatch,
		"DELETE /ecommerce/stores/{store_id}/carts/{cart_id}":                 s.handleCartDelete,
		"DELETE /ecommerce/stores/{store_id}/carts/{cart_id}/lines/{line_id}": s.handleCartLineDelete,
	} {
		s.mux.HandleFunc(pattern, h)
	}
}

func (s *Server) handleListGet(w http.ResponseWriter, r *http.Request) {
	a, ok := s.lookup(w, r)
	if !ok {
		return
	}
	defer s.mu.Unlock()
	writeJSON(w, http.StatusOK, map[string]any{"id": a.id, "name": "Audience " + a.id})
}

// badRequest is Mailchimp's 400 "Bad Request" of the e-commerce endpoints.
func badRequest(w http.ResponseWriter, detail string) {
	writeProblem(w, http.StatusBadRequest, "Bad Request", detail)
}

func decode(w http.ResponseWriter, r *http.Request, v any) bool {
	dec := json.NewDecoder(r.Body)
	dec.UseNumber()
	if err := dec.Decode(v); err != nil {
		invalid(w, "The resource submitted could not be validated: the body is not JSON.")
		return false
	}
	return true
}

func (s *Server) handleStoreCreate(w http.ResponseWriter, r *http.Request) {
	var st Store
	if !decode(w, r, &st) {
		return
	}
	if st.ID == "" || st.ListID == "" || st.Name == "" || st.CurrencyCode == "" {
		invalid(w, validationDetail, FieldError{Field: "id", Message: "id, list_id, name and currency_code are required"})
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	switch {
	case s.stores[st.ID] != nil:
		badRequest(w, "A store with the provided ID already exists in the account.")
	case s.audiences[st.ListID] == nil:
		invalid(w, validationDetail, FieldError{Field: "list_id", Message: "The list_id provided does not exist in the account."})
	default:
		s.stores[st.ID] = &store{Store: st, products: map[string]*Product{}, orders: map[string]*Order{},
			carts: map[string]*Cart{}, customers: map[string]*Customer{}}
		writeJSON(w, http.StatusOK, storeJSON(st, s.now()))
	}
}

func (s *Server) handleStoreGet(w http.ResponseWriter, r *http.Request) {
	st, ok := s.lookupStore(w, r)
	if !ok {
		return
	}
	defer s.mu.Unlock()
	writeJSON(w, http.StatusOK, storeJSON(st.Store, s.now()))
}

func storeJSON(st Store, now time.Time) map[string]any {
	return map[string]any{"id": st.ID, "list_id": st.ListID, "name": st.Name, "currency_code": st.CurrencyCode,
		"list_is_active": true, "updated_at": now.UTC().Format(time.RFC3339)}
}

// lookupStore returns the store of r's {store_id}, answering 404 itself
// when there is none; s.mu is held on success and must be released.
func (s *Server) lookupStore(w http.ResponseWriter, r *http.Request) (*store, bool) {
	s.mu.Lock()
	st := s.stores[r.PathValue("store_id")]
	if st == nil {
		s.mu.Unlock()
		notFound(w)
		return nil, false
	}
	return st, true
}

// customer applies an order's or cart's customer to the store and the
// audience, as Mailchimp documents: a new address joins the audience
// subscribed when opt_in_status is true and transactional when false;
// opt_in_status true (at once, or turning from false) subscribes an
// address the audience holds as transactional; any other member keeps
// its status. It returns the problem detail of a customer it cannot
// take, or "".
func (s *Server) customer(st *store, c *customerBody) string {
	if c == nil || c.ID == "" {
		return "The customer id is required."
	}
	optIn := c.OptInStatus != nil && *c.OptInStatus
	cur := st.customers[c.ID]
	if cur == nil {
		if c.Email == "" {
			return "A new customer requires an email_address."
		}
		cur = &Customer{ID: c.ID, Email: c.Email, OptIn: optIn}
		st.customers[c.ID] = cur
	} else if optIn && !cur.OptIn {
		cur.OptIn = true
	} else {
		return ""
	}
	a := s.audiences[st.ListID]
	if a == nil || a.forgotten[hash(cur.Email)] {
		return ""
	}
	m := a.members[hash(cur.Email)]
	switch {
	case m == nil:
		m = &Member{Email: cur.Email, MergeFields: map[string]any{}}
		a.members[hash(cur.Email)] = m
		m.setStatus(map[bool]string{true: "subscribed", false: "transactional"}[optIn], s.now())
	case m.Status == "archived":
		m.setStatus(map[bool]string{true: "subscribed", false: "transactional"}[optIn], s.now())
	case optIn && m.Status == "transactional":
		m.setStatus("subscribed", s.now())
	}
	return ""
}
