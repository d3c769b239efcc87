package klaviyosim

import (
	"maps"
	"net/http"
	"slices"
)

func (s *Server) itemBody(it *CatalogItem) map[string]any {
	return s.catalogResource("catalog-item", it.ID, it.Attributes, it.Created, it.Updated)
}

func (s *Server) handleItemCreate(w http.ResponseWriter, r *http.Request) {
	b, e := parseCatalog(r, "catalog-item", true)
	if e != nil {
		e.write(w)
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	id := catalogPrefix + b.Data.Attributes["external_id"].(string)
	if s.items[id] != nil {
		(&apiError{status: http.StatusConflict, code: "conflict", detail: "A catalog item with id " + id + " already exists.", pointer: "/data/attributes/external_id"}).write(w)
		return
	}
	cats, _, e := relatedIDs(b, "categories", "catalog-category", func(id string) bool { return s.categories[id] != nil })
	if e != nil {
		e.write(w)
		return
	}
	now := s.now()
	it := &CatalogItem{ID: id, Attributes: map[string]any{}, CategoryIDs: cats, Created: now, Updated: now}
	merge(it.Attributes, b.Data.Attributes)
	s.items[id] = it
	writeJSON(w, http.StatusCreated, s.itemBody(it))
}

func (s *Server) handleItemUpdate(w http.ResponseWriter, r *http.Request) {
	b, e := parseCatalog(r, "catalog-item", false)
	if e != nil {
		e.write(w)
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	it := s.items[r.PathValue("id")]
	if it == nil {
		notFound("A catalog item with id " + r.PathValue("id") + " does not exist.").write(w)
		return
	}
	cats, ok, e := relatedIDs(b, "categories", "catalog-category", func(id string) bool { return s.categories[id] != nil })
	if e != nil {
		e.write(w)
		return
	}
	if ok {
		it.CategoryIDs = cats
	}
	merge(it.Attributes, b.Data.Attributes)
	it.Updated = s.now()
	writeJSON(w, http.StatusOK, s.itemBody(it))
}

// handleItemDelete deletes the item and its variants (**assumed**).
func (s *Server) handleItemDelete(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	id := r.PathValue("id")
	if s.items[id] == nil {
		notFound("A catalog item with id " + id + " does not exist.").write(w)
		return
	}
	delete(s.items, id)
	maps.DeleteFunc(s.variants, func(_ string, v *CatalogVariant) bool { return v.ItemID == id })
	w.WriteHeader(http.StatusNoContent)
}

func (s *Server) variantBody(v *CatalogVariant) map[string]any {
	return s.catalogResource("catalog-variant", v.ID, v.Attributes, v.Created, v.Updated)
}

func (s *Server) handleVariantCreate(w http.ResponseWriter, r *http.Request) {
	b, e := parseCatalog(r, "catalog-variant", true)
	if e != nil {
		e.write(w)
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	items, ok, e := relatedIDs(b, "item", "catalog-item", func(id string) bool { return s.items[id] != nil })
	switch {
	case e != nil:
		e.write(w)
		return
	case !ok || len(items) != 1:
		invalid("'item' is a required relationship for the resource 'catalog-variant'.", "/data/relationships/item").write(w)
		return
	}
	id := catalogPrefix + b.Data.Attributes["external_id"].(string)
	if s.variants[id] != nil {
		(&apiError{status: http.StatusConflict, code: "conflict", detail: "A catalog variant with id " + id + " already exists.", pointer: "/data/attributes/external_id"}).write(w)
		return
	}
	now := s.now()
	v := &CatalogVariant{ID: id, ItemID: items[0], Attributes: map[string]any{}, Created: now, Updated: now}
	merge(v.Attributes, b.Data.Attributes)
	s.variants[id] = v
	writeJSON(w, http.StatusCreated, s.variantBody(v))
}

func (s *Server) handleVariantUpdate(w http.ResponseWriter, r *http.Request) {
	b, e := parseCatalog(r, "catalog-variant", false)
	if e != nil {
		e.write(w)
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	v := s.variants[r.PathValue("id")]
	if v == nil {
		notFound("A catalog variant with id " + r.PathValue("id") + " does not exist.").write(w)
		return
	}
	merge(v.Attributes, b.Data.Attributes)
	v.Updated = s.now()
	writeJSON(w, http.StatusOK, s.variantBody(v))
}

func (s *Server) handleVariantDelete(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	id := r.PathValue("id")
	if s.variants[id] == nil {
		notFound("A catalog variant with id " + id + " does not exist.").write(w)
		return
	}
	delete(s.variants, id)
	w.WriteHeader(http.StatusNoContent)
}

func (s *Server) categoryBody(c *CatalogCategory) map[string]any {
	return s.catalogResource("catalog-category", c.ID, map[string]any{"name": c.Name}, c.Created, c.Updated)
}

func (s *Server) handleCategoryCreate(w http.ResponseWriter, r *http.Request) {
	b, e := parseCatalog(r, "catalog-category", true)
	if e != nil {
		e.write(w)
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	id := catalogPrefix + b.Data.Attributes["external_id"].(string)
	if s.categories[id] != nil {
		(&apiError{status: http.StatusConflict, code: "conflict", detail: "A catalog category with id " + id + " already exists.", pointer: "/data/attributes/external_id"}).write(w)
		return
	}
	items, _, e := relatedIDs(b, "items", "catalog-item", func(id string) bool { return s.items[id] != nil })
	if e != nil {
		e.write(w)
		return
	}
	now := s.now()
	name, _ := b.Data.Attributes["name"].(string)
	c := &CatalogCategory{ID: id, Name: name, Created: now, Updated: now}
	s.categories[id] = c
	for _, it := range items {
		if !slices.Contains(s.items[it].CategoryIDs, id) {
			s.items[it].CategoryIDs = append(s.items[it].CategoryIDs, id)
		}
	}
	writeJSON(w, http.StatusCreated, s.categoryBody(c))
}

func (s *Server) handleCategoryUpdate(w http.ResponseWriter, r *http.Request) {
	b, e := parseCatalog(r, "catalog-category", false)
	if e != nil {
		e.write(w)
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	c := s.categories[r.PathValue("id")]
	if c == nil {
		notFound("A catalog category with id " + r.PathValue("id") + " does not exist.").write(w)
		return
	}
	if name, ok := b.Data.Attributes["name"].(string); ok {
		c.Name = name
	}
	c.Updated = s.now()
	writeJSON(w, http.StatusOK, s.categoryBody(c))
}

// handleCategoryDelete deletes the category and takes it off its items.
func (s *Server) handleCategoryDelete(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	id := r.PathValue("id")
	if s.categories[id] == nil {
		notFound("A catalog category with id " + id + " does not exist.").write(w)
		return
	}
	delete(s.categories, id)
	for _, it := range s.items {
		it.CategoryIDs = slices.DeleteFunc(it.CategoryIDs, func(c string) bool { return c == id })
	}
	w.WriteHeader(http.StatusNoContent)
}

// CatalogItems returns copies of the catalog's items, by ID.
func (s *Server) CatalogItems() []CatalogItem {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := []CatalogItem{}
	for _, id := range slices.Sorted(maps.Keys(s.items)) {
		it := *s.items[id]
		it.Attributes, it.CategoryIDs = maps.Clone(it.Attributes), slices.Clone(it.CategoryIDs)
		out = append(out, it)
	}
	return out
}

// CatalogVariants returns copies of the catalog's variants, by ID.
func (s *Server) CatalogVariants() []CatalogVariant {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := []CatalogVariant{}
	for _, id := range slices.Sorted(maps.Keys(s.variants)) {
		v := *s.variants[id]
		v.Attributes = maps.Clone(v.Attributes)
		out = append(out, v)
	}
	return out
}

// CatalogCategories returns copies of the catalog's categories, by ID.
func (s *Server) CatalogCategories() []CatalogCategory {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := []CatalogCategory{}
	for _, id := range slices.Sorted(maps.Keys(s.categories)) {
		out = append(out, *s.categories[id])
	}
	return out
}

// CatalogItem returns a copy of the item whose ID or external ID is key.
func (s *Server) CatalogItem(key string) (CatalogItem, bool) {
	for _, it := range s.CatalogItems() {
		if it.ID == key || it.ID == catalogPrefix+key {
			return it, true
		}
	}
	return CatalogItem{}, false
}
