package brevosim

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Order is the server's record of an order, as last posted. Amount and
// the product prices are the JSON number literals as sent, so a test can
// check that no float rounding happened on the way.
type Order struct {
	ID          string            `json:"id"`
	Status      string            `json:"status"`
	Amount      string            `json:"amount"`
	CreatedAt   string            `json:"createdAt"`
	UpdatedAt   string            `json:"updatedAt"`
	Products    []OrderProduct    `json:"products"`
	Identifiers map[string]string `json:"identifiers,omitempty"`
	MetaInfo    map[string]any    `json:"metaInfo,omitempty"`
	Historical  bool              `json:"historical,omitempty"` // came through the batch import with historical true
	Posts       int               `json:"-"`                    // how many times it was posted
}

// OrderProduct is one line of an Order.
type OrderProduct struct {
	ProductID string `json:"productId"`
	VariantID string `json:"variantId,omitempty"`
	Price     string `json:"price"`
	Quantity  string `json:"quantity"`
}

// commerce is the server's e-commerce state; s.mu guards it.
type commerce struct {
	orders      map[string]*Order
	orderIDs    []string // in order of creation
	products    map[string]*Product
	productIDs  []string
	categories  map[string]*Category
	categoryIDs []string
	nextBatch   int64
	nextRecord  int64
}

func orDefault(v, def int) int {
	if v == 0 {
		return def
	}
	return v
}

func (s *Server) commerceRoutes() {
	s.commerce = commerce{orders: map[string]*Order{}, products: map[string]*Product{}, categories: map[string]*Category{}}
	s.mux.HandleFunc("POST /orders/status", s.handleOrderPost)
	s.mux.HandleFunc("POST /orders/status/batch", s.handleOrderBatch)
	s.mux.HandleFunc("GET /orders", s.handleOrderList)
	s.mux.HandleFunc("POST /products", s.handleProductPost)
	s.mux.HandleFunc("GET /products", s.handleProductList)
	s.mux.HandleFunc("GET /products/{id}", s.handleProductGet)
	s.mux.HandleFunc("POST /categories", s.handleCategoryPost)
	s.mux.HandleFunc("GET /categories", s.handleCategoryList)
}

// Orders returns the orders held, oldest first.
func (s *Server) Orders() []Order {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]Order, 0, len(s.commerce.orderIDs))
	for _, id := range s.commerce.orderIDs {
		o := *s.commerce.orders[id]
		o.Products = slices.Clone(o.Products)
		out = append(out, o)
	}
	return out
}

// OrderByID returns the order with id.
func (s *Server) OrderByID(id string) (Order, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	o, ok := s.commerce.orders[id]
	if !ok {
		return Order{}, false
	}
	out := *o
	out.Products = slices.Clone(o.Products)
	return out, true
}

// decodeJSON reads r's body with numbers kept as literals.
func decodeJSON(r *http.Request, v any) *apiError {
	data, _ := io.ReadAll(r.Body)
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	if err := dec.Decode(v); err != nil {
		return badRequest("invalid_parameter", "Input must be a valid JSON object")
	}
	return nil
}

// orderBody is one order as posted.
type orderBody struct {
	ID          *string           `json:"id"`
	CreatedAt   *string           `json:"createdAt"`
	UpdatedAt   *string           `json:"updatedAt"`
	Status      *string           `json:"status"`
	Amount      *json.Number      `json:"amount"`
	Products    []map[string]any  `json:"products"`
	Identifiers map[string]string `json:"identifiers"`
	MetaInfo    map[string]any    `json:"metaInfo"`
}

// brevoTime accepts YYYY-MM-DDTHH:mm:ssZ, with or without milliseconds.
func brevoTime(s string) bool {
	for _, layout := range []string{"2006-01-02T15:04:05Z", "2006-01-02T15:04:05.000Z"} {
		if _, err := time.Parse(layout, s); err == nil {
			return true
		}
	}
	return false
}

// check validates an order as Brevo documents it; s.mu need not be held.
func (b *orderBody) check() (*Order, *apiError) {
	switch {
	case b.ID == nil || *b.ID == "":
		return nil, badRequest("missing_parameter", "id is mandatory")
	case b.CreatedAt == nil || b.UpdatedAt == nil:
		return nil, badRequest("missing_parameter", "createdAt and updatedAt are mandatory")
	case !brevoTime(*b.CreatedAt) || !brevoTime(*b.UpdatedAt):
		return nil, badRequest("invalid_parameter", "createdAt and updatedAt must be UTC date-times (YYYY-MM-DDTHH:mm:ssZ)")
	case b.Status == nil || *b.Status == "":
		return nil, badRequest("missing_parameter", "status is mandatory")
	case b.Amount == nil:
		return nil, badRequest("missing_parameter", "amount is mandatory")
	case b.Products == nil:
		return nil, badRequest("missing_parameter", "products is mandatory")
	}
	o := &Order{ID: *b.ID, Status: *b.Status, Amount: b.Amount.String(), CreatedAt: *b.CreatedAt, UpdatedAt: *b.UpdatedAt,
		Identifiers: b.Identifiers, MetaInfo: b.MetaInfo}
	for _, p := range b.Products {
		id, _ := p["productId"].(string)
		price, okPrice := p["price"].(json.Number)
		qty, okQty := p["quantity"].(json.Number)
		if id == "" || !okPrice || !okQty {
			return nil, badRequest("missing_parameter", "each product needs productId, price and quantity")
		}
		variant, _ := p["variantId"].(string)
		o.Products = append(o.Products, OrderProduct{ProductID: id, VariantID: variant, Price: price.String(), Quantity: qty.String()})
	}
	return o, nil
}

// keep stores o, replacing an order with the same ID; s.mu is held.
func (s *Server) keep(o *Order) {
	c := &s.commerce
	if held, ok := c.orders[o.ID]; ok {
		o.Posts = held.Posts + 1
	} else {
		o.Posts = 1
		c.orderIDs = append(c.orderIDs, o.ID)
	}
	c.orders[o.ID] = o
}

func (s *Server) handleOrderPost(w http.ResponseWriter, r *http.Request) {
	var b orderBody
	if e := decodeJSON(r, &b); e != nil {
		e.write(w)
		return
	}
	o, e := b.check()
	if e != nil {
		e.write(w)
		return
	}
	s.mu.Lock()
	s.keep(o)
	s.mu.Unlock()
	w.WriteHeader(http.StatusNoContent)
}

func (s *Server) handleOrderBatch(w http.ResponseWriter, r *http.Request) {
	var b struct {
		Orders     []orderBody `json:"orders"`
		Historical *bool       `json:"historical"`
	}
	if e := decodeJSON(r, &b); e != nil {
		e.write(w)
		return
	}
	if b.Orders == nil {
		badRequest("missing_parameter", "orders is mandatory").write(w)
		return
	}
	if len(b.Orders) > 1000 {
		badRequest("out_of_range", "a batch holds at most 1000 orders").write(w)
		return
	}
	historical := b.Historical == nil || *b.Historical
	orders := make([]*Order, 0, len(b.Orders))
	for _, ob := range b.Orders {
		o, e := ob.check()
		if e != nil {
			e.write(w)
			return
		}
		o.Historical = historical
		orders = append(orders, o)
	}
	s.mu.Lock()
	for _, o := range orders {
		s.keep(o)
	}
	s.commerce.nextBatch++
	id := s.commerce.nextBatch
	s.mu.Unlock()
	writeJSON(w, http.StatusAccepted, map[string]any{"batchId": id, "count": len(orders)})
}

// page reads limit and offset, with Brevo's default and maximum limit.
func page(r *http.Request, def, maxLimit int) (limit, offset int, e *apiError) {
	limit, offset = def, 0
	if v := r.URL.Query().Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 0 || n > maxLimit {
			return 0, 0, badRequest("out_of_range", "limit must be between 0 and "+strconv.Itoa(maxLimit))
		}
		limit = n
	}
	if v := r.URL.Query().Get("offset"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 0 {
			return 0, 0, badRequest("invalid_parameter", "offset must be a whole number")
		}
		offset = n
	}
	return limit, offset, nil
}

func pageOf[T any](items []T, limit, offset int) []T {
	if offset >= len(items) {
		return []T{}
	}
	return items[offset:min(len(items), offset+limit)]
}

func (s *Server) handleOrderList(w http.ResponseWriter, r *http.Request) {
	limit, offset, e := page(r, 50, 100)
	if e != nil {
		e.write(w)
		return
	}
	all := s.Orders()
	if strings.EqualFold(r.URL.Query().Get("sort"), "desc") || r.URL.Query().Get("sort") == "" {
		slices.Reverse(all)
	}
	out := []map[string]any{}
	for _, o := range pageOf(all, limit, offset) {
		m := map[string]any{"id": o.ID, "status": o.Status, "amount": json.Number(o.Amount), "createdAt": o.CreatedAt,
			"updatedAt": o.UpdatedAt, "products": orderProducts(o.Products)}
		if len(o.Identifiers) > 0 {
			m["identifiers"] = o.Identifiers
		}
		out = append(out, m)
	}
	writeJSON(w, http.StatusOK, map[string]any{"count": len(all), "orders": out})
}

func orderProducts(ps []OrderProduct) []map[string]any {
	out := []map[string]any{}
	for _, p := range ps {
		m := map[string]any{"productId": p.ProductID, "price": json.Number(p.Price), "quantity": json.Number(p.Quantity)}
		if p.VariantID != "" {
			m["variantId"] = p.VariantID
		}
		out = append(out, m)
	}
	return out
}
