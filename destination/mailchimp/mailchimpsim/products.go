package mailchimpsim

import (
	"encoding/json"
	"net/http"
	"slices"
)

// Variant is a product variant.
type Variant struct {
	ID                string      `json:"id"`
	Title             string      `json:"title"`
	URL               string      `json:"url,omitempty"`
	SKU               string      `json:"sku,omitempty"`
	Price             json.Number `json:"price,omitempty"`
	InventoryQuantity *int64      `json:"inventory_quantity,omitempty"`
	ImageURL          string      `json:"image_url,omitempty"`
}

// Product is a store's product; Mailchimp requires at least one variant.
type Product struct {
	ID       string    `json:"id"`
	Title    string    `json:"title"`
	URL      string    `json:"url,omitempty"`
	ImageURL string    `json:"image_url,omitempty"`
	Variants []Variant `json:"variants"`
}

func (p *Product) variant(id string) int {
	return slices.IndexFunc(p.Variants, func(v Variant) bool { return v.ID == id })
}

func (p *Product) putVariant(v Variant) {
	if i := p.variant(v.ID); i >= 0 {
		p.Variants[i] = v
	} else {
		p.Variants = append(p.Variants, v)
	}
}

func (s *Server) handleProductCreate(w http.ResponseWriter, r *http.Request) {
	var p Product
	if !decode(w, r, &p) {
		return
	}
	st, ok := s.lookupStore(w, r)
	if !ok {
		return
	}
	defer s.mu.Unlock()
	switch {
	case p.ID == "" || p.Title == "":
		invalid(w, validationDetail, FieldError{Field: "title", Message: "id and title are required"})
	case len(p.Variants) == 0:
		invalid(w, validationDetail, FieldError{Field: "variants", Message: "At least one variant is required for each product."})
	case st.products[p.ID] != nil:
		badRequest(w, "We were unable to process the request. A product with the provided ID already exists in the account.")
	default:
		st.products[p.ID] = &p
		writeJSON(w, http.StatusOK, productJSON(&p, st.CurrencyCode))
	}
}

// product returns the product of r's {product_id}, answering 404 itself.
func (s *Server) product(w http.ResponseWriter, r *http.Request) (*store, *Product, bool) {
	st, ok := s.lookupStore(w, r)
	if !ok {
		return nil, nil, false
	}
	p := st.products[r.PathValue("product_id")]
	if p == nil {
		s.mu.Unlock()
		notFound(w)
		return nil, nil, false
	}
	return st, p, true
}

func (s *Server) handleProductGet(w http.ResponseWriter, r *http.Request) {
	st, p, ok := s.product(w, r)
	if !ok {
		return
	}
	defer s.mu.Unlock()
	writeJSON(w, http.StatusOK, productJSON(p, st.CurrencyCode))
}

// handleProductPatch updates the fields sent; variants sent are added or
// replaced by ID.
func (s *Server) handleProductPatch(w http.ResponseWriter, r *http.Request) {
	var req Product
	if !decode(w, r, &req) {
		return
	}
	st, p, ok := s.product(w, r)
	if !ok {
		return
	}
	defer s.mu.Unlock()
	if req.Title != "" {
		p.Title = req.Title
	}
	if req.URL != "" {
		p.URL = req.URL
	}
	if req.ImageURL != "" {
		p.ImageURL = req.ImageURL
	}
	for _, v := range req.Variants {
		p.putVariant(v)
	}
	writeJSON(w, http.StatusOK, productJSON(p, st.CurrencyCode))
}

func (s *Server) handleProductDelete(w http.ResponseWriter, r *http.Request) {
	st, p, ok := s.product(w, r)
	if !ok {
		return
	}
	defer s.mu.Unlock()
	delete(st.products, p.ID)
	w.WriteHeader(http.StatusNoContent)
}

func (s *Server) handleVariantGet(w http.ResponseWriter, r *http.Request) {
	_, p, ok := s.product(w, r)
	if !ok {
		return
	}
	defer s.mu.Unlock()
	i := p.variant(r.PathValue("variant_id"))
	if i < 0 {
		notFound(w)
		return
	}
	writeJSON(w, http.StatusOK, p.Variants[i])
}

// handleVariantPut adds or replaces a variant of an existing product.
func (s *Server) handleVariantPut(w http.ResponseWriter, r *http.Request) {
	var v Variant
	if !decode(w, r, &v) {
		return
	}
	_, p, ok := s.product(w, r)
	if !ok {
		return
	}
	defer s.mu.Unlock()
	if v.Title == "" {
		invalid(w, validationDetail, FieldError{Field: "title", Message: "title is required"})
		return
	}
	v.ID = r.PathValue("variant_id")
	p.putVariant(v)
	writeJSON(w, http.StatusOK, v)
}

func (s *Server) handleVariantDelete(w http.ResponseWriter, r *http.Request) {
	_, p, ok := s.product(w, r)
	if !ok {
		return
	}
	defer s.mu.Unlock()
	i := p.variant(r.PathValue("variant_id"))
	if i < 0 {
		notFound(w)
		return
	}
	p.Variants = slices.Delete(p.Variants, i, i+1)
	w.WriteHeader(http.StatusNoContent)
}

func productJSON(p *Product, currency string) map[string]any {
	return map[string]any{"id": p.ID, "title": p.Title, "url": p.URL, "image_url": p.ImageURL,
		"variants": p.Variants, "currency_code": currency}
}

// hasVariant reports whether the store holds the variant a line names.
func (st *store) hasVariant(product, variant string) (productFound, variantFound bool) {
	p := st.products[product]
	if p == nil {
		return false, false
	}
	return true, p.variant(variant) >= 0
}
