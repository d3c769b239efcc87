package shopifysim

import (
	"fmt"
	"strconv"
	"time"
)

// PutCustomer adds or replaces a customer as given; a zero CreatedAt or
// UpdatedAt is now.
func (s *Server) PutCustomer(c Customer) {
	now := s.now().UTC().Truncate(time.Second)
	if c.CreatedAt.IsZero() {
		c.CreatedAt = now
	}
	if c.UpdatedAt.IsZero() {
		c.UpdatedAt = c.CreatedAt
	}
	s.mu.Lock()
	s.customers[c.ID] = &c
	s.mu.Unlock()
}

// SeedCustomers adds n customers, with IDs from 1000001 up, made in
// memory in one pass (100,000 take well under a second): customer i was
// created and last updated i seconds after from, has an email address,
// a phone number when i is even, a company when i is a multiple of 3, a
// tag and an email consent that differs with i. It returns their IDs in
// order.
func (s *Server) SeedCustomers(n int, from time.Time) []string {
	states := []string{"SUBSCRIBED", "NOT_SUBSCRIBED", "UNSUBSCRIBED", "PENDING"}
	ids := make([]string, n)
	list := make([]Customer, n)
	from = from.UTC().Truncate(time.Second)
	for i := range n {
		id := strconv.Itoa(1000001 + i)
		at := from.Add(time.Duration(i) * time.Second)
		c := &list[i]
		*c = Customer{ID: id, Email: fmt.Sprintf("customer%d@example.com", i), FirstName: "Ada", LastName: fmt.Sprintf("Number %d", i),
			Tags: []string{"seed", "batch-" + strconv.Itoa(i%7)}, Orders: i % 5, AmountSpent: fmt.Sprintf("%d.%02d", i%500, i%100),
			CreatedAt: at, UpdatedAt: at,
			EmailConsent: &Consent{MarketingState: states[i%len(states)], MarketingOptInLevel: "SINGLE_OPT_IN", ConsentUpdatedAt: at}}
		if i%2 == 0 {
			c.Phone = fmt.Sprintf("+3361%07d", i)
			c.SMSConsent = &Consent{MarketingState: "NOT_SUBSCRIBED", MarketingOptInLevel: "SINGLE_OPT_IN"}
		}
		if i%3 == 0 {
			c.Company = fmt.Sprintf("Company %d", i)
		}
		ids[i] = id
	}
	s.mu.Lock()
	for i := range list {
		s.customers[list[i].ID] = &list[i]
	}
	s.mu.Unlock()
	return ids
}

// UpdateCustomer changes the customer with the numeric id as change
// says and moves its UpdatedAt to now, as an edit in the shop's admin
// does; it reports whether the customer exists.
func (s *Server) UpdateCustomer(id string, change func(*Customer)) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	c := s.customers[id]
	if c == nil {
		return false
	}
	change(c)
	c.UpdatedAt = s.now().UTC().Truncate(time.Second)
	return true
}

// PutOrder adds or replaces an order; a zero UpdatedAt is its CreatedAt,
// a zero CreatedAt now.
func (s *Server) PutOrder(o Order) {
	if o.CreatedAt.IsZero() {
		o.CreatedAt = s.now().UTC().Truncate(time.Second)
	}
	if o.UpdatedAt.IsZero() {
		o.UpdatedAt = o.CreatedAt
	}
	s.mu.Lock()
	s.orders[o.ID] = &o
	s.mu.Unlock()
}

// PutProduct adds or replaces a product, dated like PutOrder.
func (s *Server) PutProduct(p Product) {
	if p.CreatedAt.IsZero() {
		p.CreatedAt = s.now().UTC().Truncate(time.Second)
	}
	if p.UpdatedAt.IsZero() {
		p.UpdatedAt = p.CreatedAt
	}
	s.mu.Lock()
	s.products[p.ID] = &p
	s.mu.Unlock()
}
