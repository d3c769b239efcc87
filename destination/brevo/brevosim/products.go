package brevosim

import (
	"encoding/json"
	"net/http"
	"slices"
	"time"
)

// Product is the server's record of a product. Price and Stock are the
// JSON number literals as sent; "" when never sent.
type Product struct {
	RecordID   int64
	ID         string
	Name       string
	URL        string
	ImageURL   string
	SKU        string
	Price      string
	Stock      string
	Categories []string
	ParentID   string
	IsDeleted  bool
	DeletedAt  string
	Posts      int // how many times it was posted
	CreatedAt  time.Time
	ModifiedAt time.Time
}

// Category is the server's record of a category.
type Category struct {
	RecordID   int64
	ID         string
	Name       string
	URL        string
	IsDeleted  bool
	Posts      int
	CreatedAt  time.Time
	ModifiedAt time.Time
}

// Products returns the products held, oldest first.
func (s *Server) Products() []Product {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]Product, 0, len(s.commerce.productIDs))
	for _, id := range s.commerce.productIDs {
		p := *s.commerce.products[id]
		p.Categories = slices.Clone(p.Categories)
		out = append(out, p)
	}
	return out
}

// ProductByID returns the product with id.
func (s *Server) ProductByID(id string) (Product, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	p, ok := s.commerce.products[id]
	if !ok {
		return Product{}, false
	}
	out := *p
	out.Categories = slices.Clone(p.Categories)
	return out, true
}

// Categories returns the categories held, oldest first.
func (s *Server) Categories() []Category {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]Category, 0, len(s.commerce.categoryIDs))
	for _, id := range s.commerce.categoryIDs {
		out = append(out, *s.commerce.categories[id])
	}
	return out
}

// productBody is the body of POST /products; a nil field was not sent and
// leaves the held value as it is.
type productBody struct {
	ID            *string      `json:"id"`
	Name          *string      `json:"name"`
	URL           *string      `json:"url"`
	ImageURL      *string      `json:"imageUrl"`
	SKU           *string      `json:"sku"`
	Price         *json.Number `json:"price"`
	Stock         *json.Number `json:"stock"`
	Categories    []string     `json:"categories"`
	ParentID      *string      `json:"parentId"`
	IsDeleted     *bool        `json:"isDeleted"`
	DeletedAt     *string      `json:"deletedAt"`
	UpdateEnabled bool         `json:"updateEnabled"`
}

func set[T any](dst *T, v *T) {
	if v != nil {
		*dst = *v
	}
}

// handleProductPost creates (201 {id}) or, with updateEnabled, updates
// (204) a product. An existing ID without updateEnabled is 400
// duplicate_parameter; a new product without a name is 400.
func (s *Server) handleProductPost(w http.ResponseWriter, r *http.Request) {
	var b productBody
	if e := decodeJSON(r, &b); e != nil {
		e.write(w)
		return
	}
	if b.ID == nil || *b.ID == "" {
		badRequest("missing_parameter", "id is mandatory").write(w)
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	p, exists, e := s.upsertProduct(&b)
	if e != nil {
		e.write(w)
		return
	}
	if !exists {
		writeJSON(w, http.StatusCreated, map[string]any{"id": p.RecordID})
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

func (p *Product) json() map[string]any {
	m := map[string]any{
		"id": p.ID, "name": p.Name, "createdAt": p.CreatedAt.UTC().Format("2006-01-02T15:04:05.000Z"),
		"modifiedAt": p.ModifiedAt.UTC().Format("2006-01-02T15:04:05.000Z"), "isDeleted": p.IsDeleted,
		"s3ThumbAnalytics": "", "s3ThumbEditor": "", "categories": p.Categories,
	}
	if p.Categories == nil {
		m["categories"] = []string{}
	}
	for k, v := range map[string]string{"url": p.URL, "imageUrl": p.ImageURL, "sku": p.SKU, "parentId": p.ParentID} {
		if v != "" {
			m[k] = v
		}
	}
	if p.Price != "" {
		m["price"] = json.Number(p.Price)
	}
	if p.Stock != "" {
		m["stock"] = json.Number(p.Stock)
	}
	return m
}

func (s *Server) handleProductGet(w http.ResponseWriter, r *http.Request) {
	p, ok := s.ProductByID(r.PathValue("id"))
	if !ok {
		writeError(w, http.StatusNotFound, "document_not_found", "Product's id not found")
		return
	}
	writeJSON(w, http.StatusOK, p.json())
}

func (s *Server) handleProductList(w http.ResponseWriter, r *http.Request) {
	limit, offset, e := page(r, 50, 1000)
	if e != nil {
		e.write(w)
		return
	}
	all := s.Products()
	out := []map[string]any{}
	for _, p := range pageOf(all, limit, offset) {
		out = append(out, p.json())
	}
	writeJSON(w, http.StatusOK, map[string]any{"count": len(all), "products": out})
}

// handleCategoryPost creates (201 {id}) or, with updateEnabled, updates
// (204) a category, as handleProductPost does for products.
func (s *Server) handleCategoryPost(w http.ResponseWriter, r *http.Request) {
	var b struct {
		ID            *string `json:"id"`
		Name          *string `json:"name"`
		URL           *string `json:"url"`
		IsDeleted     *bool   `json:"isDeleted"`
		UpdateEnabled bool    `json:"updateEnabled"`
	}
	if e := decodeJSON(r, &b); e != nil {
		e.write(w)
		return
	}
	if b.ID == nil || *b.ID == "" {
		badRequest("missing_parameter", "id is mandatory").write(w)
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	c := &s.commerce
	cat, exists := c.categories[*b.ID]
	if e := upsertRefusal("Category", exists, b.UpdateEnabled, b.Name); e != nil {
		e.write(w)
		return
	}
	if !exists {
		c.nextRecord++
		cat = &Category{RecordID: c.nextRecord, ID: *b.ID, CreatedAt: s.now()}
		c.categories[cat.ID] = cat
		c.categoryIDs = append(c.categoryIDs, cat.ID)
	}
	set(&cat.Name, b.Name)
	set(&cat.URL, b.URL)
	set(&cat.IsDeleted, b.IsDeleted)
	cat.Posts++
	cat.ModifiedAt = s.now()
	if !exists {
		writeJSON(w, http.StatusCreated, map[string]any{"id": cat.RecordID})
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

func (s *Server) handleCategoryList(w http.ResponseWriter, r *http.Request) {
	limit, offset, e := page(r, 50, 100)
	if e != nil {
		e.write(w)
		return
	}
	all := s.Categories()
	out := []map[string]any{}
	for _, c := range pageOf(all, limit, offset) {
		m := map[string]any{"id": c.ID, "name": c.Name, "isDeleted": c.IsDeleted,
			"createdAt": c.CreatedAt.UTC().Format("2006-01-02T15:04:05.000Z"), "modifiedAt": c.ModifiedAt.UTC().Format("2006-01-02T15:04:05.000Z")}
		if c.URL != "" {
			m["url"] = c.URL
		}
		out = append(out, m)
	}
	writeJSON(w, http.StatusOK, map[string]any{"count": len(all), "categories": out})
}

// upsertRefusal is Brevo's answer to a product or category POST that may not
// go ahead: an existing ID without updateEnabled, or a new one without a
// name. It is nil when the POST may proceed.
func upsertRefusal(what string, exists, updateEnabled bool, name *string) *apiError {
	switch {
	case exists && !updateEnabled:
		return badRequest("duplicate_parameter", what+" already exists")
	case !exists && (name == nil || *name == ""):
		return badRequest("missing_parameter", "name is mandatory in case of creation")
	}
	return nil
}

// upsertProduct applies one product body; s.mu is held. It reports whether
// the product existed before.
func (s *Server) upsertProduct(b *productBody) (*Product, bool, *apiError) {
	c := &s.commerce
	p, exists := c.products[*b.ID]
	if e := upsertRefusal("Product", exists, b.UpdateEnabled, b.Name); e != nil {
		return nil, exists, e
	}
	if !exists {
		c.nextRecord++
		p = &Product{RecordID: c.nextRecord, ID: *b.ID, CreatedAt: s.now()}
		c.products[p.ID] = p
		c.productIDs = append(c.productIDs, p.ID)
	}
	set(&p.Name, b.Name)
	set(&p.URL, b.URL)
	set(&p.ImageURL, b.ImageURL)
	set(&p.SKU, b.SKU)
	set(&p.ParentID, b.ParentID)
	set(&p.IsDeleted, b.IsDeleted)
	set(&p.DeletedAt, b.DeletedAt)
	if b.Price != nil {
		p.Price = b.Price.String()
	}
	if b.Stock != nil {
		p.Stock = b.Stock.String()
	}
	if b.Categories != nil {
		p.Categories = slices.Clone(b.Categories)
	}
	p.Posts++
	p.ModifiedAt = s.now()
	return p, exists, nil
}
