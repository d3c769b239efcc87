package shopifysim

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Order is the server's record of an order, with what the order listing
// selects. Money is decimal strings in the shop's currency.
type Order struct {
	ID                string // numeric, as in gid://shopify/Order/<ID>
	Name              string // #1001
	Currency          string
	Total             string
	Email, Phone      string
	CustomerID        string // a Customer's ID, or "" for a guest
	FinancialStatus   string // PAID, PENDING, REFUNDED, ... (OrderDisplayFinancialStatus)
	FulfillmentStatus string // FULFILLED, UNFULFILLED, ... (OrderDisplayFulfillmentStatus)
	CancelledAt       time.Time
	CreatedAt         time.Time
	UpdatedAt         time.Time
	Billing           *Address
	Lines             []LineItem
	Refunds           []Refund
}

// Address is a mailing address's names and phone.
type Address struct{ FirstName, LastName, Phone string }

// LineItem is one line of an order.
type LineItem struct {
	ID, ProductID, VariantID, Name, SKU string
	Quantity                            int
	Price                               string // the original unit price
}

// Refund is one refund of an order, with one successful refund
// transaction of Amount.
type Refund struct {
	ID        string
	CreatedAt time.Time
	Amount    string
}

// Product is the server's record of a product.
type Product struct {
	ID, Title, Handle, ProductType string
	ImageURL                       string // the featured image, "" for none
	CreatedAt, UpdatedAt           time.Time
	Variants                       []Variant
}

// Variant is one variant of a product.
type Variant struct {
	ID, Title, SKU, Price string
	Inventory             *int
	ImageID, ImageURL     string
	UpdatedAt             time.Time
}

// maxFirst is the largest page Shopify answers, and maxPaged the most
// objects it pages through (shopify.dev/docs/api/usage/limits).
const (
	maxFirst = 250
	maxPaged = 25000
)

// row is one record of a listing, with its sort keys.
type row struct {
	id               int64
	updated, created time.Time
	node             func() map[string]any
}

func numericID(id string) int64 { n, _ := strconv.ParseInt(id, 10, 64); return n }

// rowCursor is the simulator's opaque cursor: the sort key and id of the
// last row read, so a page continues after it even when rows changed.
type rowCursor struct {
	Key int64 `json:"k"`
	ID  int64 `json:"i"`
}

// sortKeyOf is a row's value for sortKey (UPDATED_AT, CREATED_AT or ID;
// the others sort by ID in the simulator).
func sortKeyOf(r row, sortKey string) int64 {
	switch sortKey {
	case "UPDATED_AT":
		return r.updated.UnixNano()
	case "CREATED_AT":
		return r.created.UnixNano()
	}
	return r.id
}

var updatedTerm = regexp.MustCompile(`^updated_at:(>=|<=|>|<)?'?([^']+)'?$`)

// filter reads a query: argument, of which the simulator knows only
// updated_at terms joined by spaces (AND). Shopify reads many more fields;
// a term the simulator does not know is a GraphQL error rather than
// silently ignored.
func filter(q string) (func(row) bool, error) {
	var tests []func(row) bool
	for _, term := range strings.Fields(q) {
		if strings.EqualFold(term, "AND") {
			continue
		}
		m := updatedTerm.FindStringSubmatch(term)
		if m == nil {
			return nil, fmt.Errorf("shopifysim reads only updated_at terms in query:, not %q", term)
		}
		t, err := time.Parse(time.RFC3339, m[2])
		if err != nil {
			return nil, fmt.Errorf("updated_at:%s is not an ISO 8601 time", m[2])
		}
		op := m[1]
		tests = append(tests, func(r row) bool {
			switch op {
			case ">=":
				return !r.updated.Before(t)
			case ">":
				return r.updated.After(t)
			case "<=":
				return !r.updated.After(t)
			case "<":
				return r.updated.Before(t)
			}
			return r.updated.Equal(t)
		})
	}
	return func(r row) bool {
		for _, t := range tests {
			if !t(r) {
				return false
			}
		}
		return true
	}, nil
}

// connection answers a top-level connection (customers, orders,
// products) over rows: first (at most 250), after, query, sortKey and
// reverse, as Shopify pages them.
func (s *Server) connection(rows []row, f field, vars map[string]json.RawMessage) (map[string]any, *gqlError) {
	first, ok := f.intArg("first", vars)
	if !ok {
		return nil, &gqlError{Message: "you must provide one of first or last", Extensions: map[string]any{"code": "BAD_REQUEST"}}
	}
	if first < 0 || first > maxFirst {
		return nil, &gqlError{Message: fmt.Sprintf("The first argument must be between 0 and %d", maxFirst), Extensions: map[string]any{"code": "BAD_REQUEST"}}
	}
	keep, err := filter(f.stringArg("query", vars))
	if err != nil {
		return nil, &gqlError{Message: err.Error(), Extensions: map[string]any{"code": "BAD_REQUEST"}}
	}
	sortKey := f.stringArg("sortKey", vars)
	reverse, _ := f.arg("reverse", vars).(bool)
	less := func(a, b row) int {
		ka, kb := sortKeyOf(a, sortKey), sortKeyOf(b, sortKey)
		if ka != kb {
			if ka < kb {
				return -1
			}
			return 1
		}
		return int(a.id - b.id)
	}
	list := rows[:0:0]
	for _, r := range rows {
		if keep(r) {
			list = append(list, r)
		}
	}
	slices.SortFunc(list, func(a, b row) int {
		if reverse {
			return less(b, a)
		}
		return less(a, b)
	})
	start := 0
	if after := f.stringArg("after", vars); after != "" {
		var c rowCursor
		b, err := base64.RawURLEncoding.DecodeString(after)
		if err != nil || json.Unmarshal(b, &c) != nil {
			return nil, &gqlError{Message: fmt.Sprintf("Invalid cursor for current pagination sort: %s", after), Extensions: map[string]any{"code": "BAD_REQUEST"}}
		}
		mark := row{id: c.ID}
		start, _ = slices.BinarySearchFunc(list, mark, func(r, _ row) int {
			k := sortKeyOf(r, sortKey)
			cmp := 0
			switch {
			case k < c.Key:
				cmp = -1
			case k > c.Key:
				cmp = 1
			case r.id <= c.ID:
				cmp = -1
			default:
				cmp = 1
			}
			if reverse {
				cmp = -cmp
			}
			return cmp
		})
	}
	if start+first > s.maxPaged {
		// Shopify's message is not documented; the limit is.
		return nil, &gqlError{Message: fmt.Sprintf("shopifysim: Shopify pages through at most %d objects of a connection; filter the query or run a bulk operation", s.maxPaged),
			Extensions: map[string]any{"code": "BAD_REQUEST"}}
	}
	end := min(start+first, len(list))
	edges := make([]any, 0, end-start)
	var endCursor, startCursor any
	for i := start; i < end; i++ {
		b, _ := json.Marshal(rowCursor{Key: sortKeyOf(list[i], sortKey), ID: list[i].id})
		cur := base64.RawURLEncoding.EncodeToString(b)
		if i == start {
			startCursor = cur
		}
		endCursor = cur
		edges = append(edges, map[string]any{"cursor": cur, "node": list[i].node()})
	}
	return map[string]any{
		"edges": edges,
		"pageInfo": map[string]any{"hasNextPage": end < len(list), "hasPreviousPage": start > 0,
			"startCursor": startCursor, "endCursor": endCursor},
	}, nil
}

// nested is a connection inside a node (an order's lines, a product's
// variants), cut to the first: its field asks for.
func nested(items []map[string]any, f *field, vars map[string]json.RawMessage) map[string]any {
	n := len(items)
	if f != nil {
		if first, ok := f.intArg("first", vars); ok {
			n = min(n, first)
		}
	}
	edges := make([]any, n)
	for i := range n {
		edges[i] = map[string]any{"cursor": strconv.Itoa(i), "node": items[i]}
	}
	return map[string]any{"edges": edges, "pageInfo": map[string]any{"hasNextPage": n < len(items), "hasPreviousPage": false}}
}

func gid(kind, id string) string { return "gid://shopify/" + kind + "/" + id }

func datetime(t time.Time) any {
	if t.IsZero() {
		return nil
	}
	return t.UTC().Format(time.RFC3339)
}

func orNull(s string) any {
	if s == "" {
		return nil
	}
	return s
}

// customerNode is a Customer with every field the listing may select.
func customerNode(c *Customer) map[string]any {
	consent := func(k *Consent) any {
		if k == nil {
			return nil
		}
		return map[string]any{"marketingState": k.MarketingState, "marketingOptInLevel": orNull(k.MarketingOptInLevel),
			"consentUpdatedAt": datetime(k.ConsentUpdatedAt)}
	}
	var addr any
	if c.Company != "" {
		addr = map[string]any{"company": c.Company, "firstName": orNull(c.FirstName), "lastName": orNull(c.LastName), "phone": orNull(c.Phone)}
	}
	tags := c.Tags
	if tags == nil {
		tags = []string{}
	}
	amount, currency := c.AmountSpent, c.Currency
	if amount == "" {
		amount = "0.0"
	}
	if currency == "" {
		currency = "EUR"
	}
	return map[string]any{
		"id": gid("Customer", c.ID), "legacyResourceId": c.ID,
		"email": orNull(c.Email), "phone": orNull(c.Phone), "firstName": orNull(c.FirstName), "lastName": orNull(c.LastName),
		"emailMarketingConsent": consent(c.EmailConsent), "smsMarketingConsent": consent(c.SMSConsent),
		"defaultAddress": addr, "tags": tags, "numberOfOrders": strconv.Itoa(c.Orders),
		"amountSpent": map[string]any{"amount": amount, "currencyCode": currency},
		"createdAt":   datetime(c.CreatedAt), "updatedAt": datetime(c.UpdatedAt),
	}
}

func money(amount, currency string) map[string]any {
	return map[string]any{"shopMoney": map[string]any{"amount": amount, "currencyCode": currency}}
}

// orderNode is an Order with every field the listing may select; its
// nested connections are cut to the selection's first:.
func (s *Server) orderNode(o *Order, f field, vars map[string]json.RawMessage) map[string]any {
	node := f.child("edges").child("node")
	var cust any
	if c := s.customers[o.CustomerID]; c != nil {
		cust = customerNode(c)
	}
	var billing any
	if b := o.Billing; b != nil {
		billing = map[string]any{"firstName": orNull(b.FirstName), "lastName": orNull(b.LastName), "phone": orNull(b.Phone), "company": nil}
	}
	lines := make([]map[string]any, len(o.Lines))
	for i, l := range o.Lines {
		var product, variant any
		if l.ProductID != "" {
			product = map[string]any{"legacyResourceId": l.ProductID}
		}
		if l.VariantID != "" {
			variant = map[string]any{"legacyResourceId": l.VariantID}
		}
		lines[i] = map[string]any{"id": gid("LineItem", l.ID), "name": l.Name, "sku": orNull(l.SKU), "quantity": l.Quantity,
			"originalUnitPriceSet": money(l.Price, o.Currency), "product": product, "variant": variant}
	}
	refunds := make([]any, 0, len(o.Refunds))
	for i, r := range o.Refunds {
		if f, ok := node.child("refunds").intArg("first", vars); ok && i >= f {
			break
		}
		tx := []map[string]any{{"kind": "REFUND", "status": "SUCCESS", "amountSet": money(r.Amount, o.Currency)}}
		refunds = append(refunds, map[string]any{"id": gid("Refund", r.ID), "legacyResourceId": r.ID, "createdAt": datetime(r.CreatedAt),
			"transactions": nested(tx, node.child("refunds").child("transactions"), vars)})
	}
	financial := any(nil)
	if o.FinancialStatus != "" {
		financial = o.FinancialStatus
	}
	fulfillment := o.FulfillmentStatus
	if fulfillment == "" {
		fulfillment = "UNFULFILLED"
	}
	return map[string]any{
		"id": gid("Order", o.ID), "legacyResourceId": o.ID, "name": o.Name, "currencyCode": o.Currency,
		"createdAt": datetime(o.CreatedAt), "updatedAt": datetime(o.UpdatedAt), "cancelledAt": datetime(o.CancelledAt),
		"displayFinancialStatus": financial, "displayFulfillmentStatus": fulfillment,
		"email": orNull(o.Email), "phone": orNull(o.Phone), "totalPriceSet": money(o.Total, o.Currency),
		"customer": cust, "billingAddress": billing,
		"lineItems": nested(lines, node.child("lineItems"), vars), "refunds": refunds,
	}
}

// productNode is a Product with every field the listing may select.
func productNode(p *Product, f field, vars map[string]json.RawMessage) map[string]any {
	node := f.child("edges").child("node")
	var image any
	if p.ImageURL != "" {
		image = map[string]any{"id": gid("ProductImage", p.ID+"0"), "url": p.ImageURL}
	}
	variants := make([]map[string]any, len(p.Variants))
	for i, v := range p.Variants {
		var img, inv any
		if v.ImageURL != "" {
			img = map[string]any{"id": gid("ProductImage", v.ImageID), "url": v.ImageURL}
		}
		if v.Inventory != nil {
			inv = *v.Inventory
		}
		variants[i] = map[string]any{"id": gid("ProductVariant", v.ID), "legacyResourceId": v.ID, "title": v.Title, "sku": orNull(v.SKU),
			"price": v.Price, "inventoryQuantity": inv, "updatedAt": datetime(v.UpdatedAt), "image": img}
	}
	return map[string]any{
		"id": gid("Product", p.ID), "legacyResourceId": p.ID, "title": p.Title, "handle": p.Handle, "productType": p.ProductType,
		"createdAt": datetime(p.CreatedAt), "updatedAt": datetime(p.UpdatedAt), "featuredImage": image,
		"variants": nested(variants, node.child("variants"), vars),
	}
}

// customerRows, orderRows and productRows are the listings' rows; s.mu
// is held.
func (s *Server) customerRows() []row {
	rows := make([]row, 0, len(s.customers))
	for _, c := range s.customers {
		rows = append(rows, row{id: numericID(c.ID), updated: c.UpdatedAt, created: c.CreatedAt, node: func() map[string]any { return customerNode(c) }})
	}
	return rows
}

func (s *Server) orderRows(f field, vars map[string]json.RawMessage) []row {
	rows := make([]row, 0, len(s.orders))
	for _, o := range s.orders {
		rows = append(rows, row{id: numericID(o.ID), updated: o.UpdatedAt, created: o.CreatedAt, node: func() map[string]any { return s.orderNode(o, f, vars) }})
	}
	return rows
}

func (s *Server) productRows(f field, vars map[string]json.RawMessage) []row {
	rows := make([]row, 0, len(s.products))
	for _, p := range s.products {
		rows = append(rows, row{id: numericID(p.ID), updated: p.UpdatedAt, created: p.CreatedAt, node: func() map[string]any { return productNode(p, f, vars) }})
	}
	return rows
}

// countLimit is where customersCount stops counting and answers
// AT_LEAST, as Shopify's counts do by default.
const countLimit = 10000

func (s *Server) customersCount(f field, vars map[string]json.RawMessage) (map[string]any, *gqlError) {
	keep, err := filter(f.stringArg("query", vars))
	if err != nil {
		return nil, &gqlError{Message: err.Error(), Extensions: map[string]any{"code": "BAD_REQUEST"}}
	}
	n := 0
	for _, c := range s.customers {
		if keep(row{updated: c.UpdatedAt}) {
			n++
		}
	}
	if n > countLimit {
		return map[string]any{"count": countLimit, "precision": "AT_LEAST"}, nil
	}
	return map[string]any{"count": n, "precision": "EXACT"}, nil
}
