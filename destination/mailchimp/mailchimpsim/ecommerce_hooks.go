package mailchimpsim

import (
	"cmp"
	"maps"
	"slices"
)

// Test hooks for the e-commerce stores. Each returns copies, sorted by ID.

// Store returns the store with id.
func (s *Server) Store(id string) (Store, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	st := s.stores[id]
	if st == nil {
		return Store{}, false
	}
	return st.Store, true
}

// Orders returns the orders of store.
func (s *Server) Orders(storeID string) []Order {
	return collect(s, storeID, func(st *store) map[string]*Order { return st.orders }, func(o Order) Order {
		o.Lines = slices.Clone(o.Lines)
		return o
	}, func(o Order) string { return o.ID })
}

// Products returns the products of store with their variants.
func (s *Server) Products(storeID string) []Product {
	return collect(s, storeID, func(st *store) map[string]*Product { return st.products }, func(p Product) Product {
		p.Variants = slices.Clone(p.Variants)
		return p
	}, func(p Product) string { return p.ID })
}

// Carts returns the carts of store.
func (s *Server) Carts(storeID string) []Cart {
	return collect(s, storeID, func(st *store) map[string]*Cart { return st.carts }, func(k Cart) Cart {
		k.Lines = slices.Clone(k.Lines)
		return k
	}, func(k Cart) string { return k.ID })
}

// Customers returns the e-commerce customers of store.
func (s *Server) Customers(storeID string) []Customer {
	return collect(s, storeID, func(st *store) map[string]*Customer { return st.customers },
		func(c Customer) Customer { return c }, func(c Customer) string { return c.ID })
}

// DeleteProductInMailchimp removes a product as an admin would inside
// Mailchimp, so a client that believes it is there finds it missing.
func (s *Server) DeleteProductInMailchimp(store, id string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if st := s.stores[store]; st != nil {
		delete(st.products, id)
	}
}

func collect[T any](s *Server, id string, of func(*store) map[string]*T, clone func(T) T, key func(T) string) []T {
	s.mu.Lock()
	defer s.mu.Unlock()
	st := s.stores[id]
	if st == nil {
		return nil
	}
	out := make([]T, 0, len(of(st)))
	for _, v := range slices.Collect(maps.Values(of(st))) {
		out = append(out, clone(*v))
	}
	slices.SortFunc(out, func(a, b T) int { return cmp.Compare(key(a), key(b)) })
	return out
}
