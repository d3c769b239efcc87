package mailchimp

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"strings"

	"synclayer"
)

// Store is a Mailchimp e-commerce store: the scope of its customers,
// orders, products and carts, tied for good to one audience (ListID).
type Store struct {
	ID           string `json:"id"`
	ListID       string `json:"list_id"`
	Name         string `json:"name"`
	CurrencyCode string `json:"currency_code"`
}

// Customer is an e-commerce customer inside an order or cart. OptInStatus
// is a pointer so that it is always sent when set: synclayer sets it to
// false, and never to true, since true subscribes the address to the
// store's audience (docs/platforms/mailchimp.md, E-commerce).
type Customer struct {
	ID           string `json:"id"`
	EmailAddress string `json:"email_address,omitempty"`
	OptInStatus  *bool  `json:"opt_in_status,omitempty"`
}

// Line is an order or cart line. Mailchimp requires every field, and the
// product and variant must exist in the store.
type Line struct {
	ID               string          `json:"id"`
	ProductID        string          `json:"product_id"`
	ProductVariantID string          `json:"product_variant_id"`
	Quantity         int64           `json:"quantity"`
	Price            synclayer.Money `json:"price"`
}

// Variant is a product variant. Price and InventoryQuantity are sent only
// when known.
type Variant struct {
	ID                string           `json:"id"`
	Title             string           `json:"title"`
	URL               string           `json:"url,omitempty"`
	SKU               string           `json:"sku,omitempty"`
	Price             *synclayer.Money `json:"price,omitempty"`
	InventoryQuantity *int64           `json:"inventory_quantity,omitempty"`
	ImageURL          string           `json:"image_url,omitempty"`
}

// Product is the body of POST …/products (which needs at least one
// variant) and, without ID and Variants, of PATCH …/products/{id}.
type Product struct {
	ID       string    `json:"id,omitempty"`
	Title    string    `json:"title,omitempty"`
	URL      string    `json:"url,omitempty"`
	ImageURL string    `json:"image_url,omitempty"`
	Variants []Variant `json:"variants,omitempty"`
}

const (
	storeRoute   = "/ecommerce/stores/{store_id}"
	productRoute = storeRoute + "/products/{product_id}"
	variantRoute = productRoute + "/variants/{variant_id}"
	orderRoute   = storeRoute + "/orders/{order_id}"
	cartRoute    = storeRoute + "/carts/{cart_id}"
)

func storePath(store string) string { return "/ecommerce/stores/" + url.PathEscape(store) }

func productPath(store, id string) string {
	return storePath(store) + "/products/" + url.PathEscape(id)
}

func variantPath(store, product, id string) string {
	return productPath(store, product) + "/variants/" + url.PathEscape(id)
}

func orderPath(store, id string) string { return storePath(store) + "/orders/" + url.PathEscape(id) }

func cartPath(store, id string) string { return storePath(store) + "/carts/" + url.PathEscape(id) }

// GetList returns nil when audience id exists, an *APIError with status
// 404 (IsNotFound) when it does not.
func (c *Client) GetList(ctx context.Context, id string) error {
	_, err := c.do(ctx, call{method: http.MethodGet, route: "/lists/{list_id}", path: "/lists/" + url.PathEscape(id),
		query: url.Values{"fields": {"id,name"}}})
	return err
}

// GetStore returns the store, or a 404 *APIError when there is none.
func (c *Client) GetStore(ctx context.Context, id string) (*Store, error) {
	st := &Store{}
	if _, err := c.do(ctx, call{method: http.MethodGet, route: storeRoute, path: storePath(id), out: st}); err != nil {
		return nil, err
	}
	return st, nil
}

// CreateStore adds a store; its list_id can never change afterwards.
func (c *Client) CreateStore(ctx context.Context, st Store) error {
	_, err := c.do(ctx, call{method: http.MethodPost, route: "/ecommerce/stores", path: "/ecommerce/stores", body: st})
	return err
}

// send makes a write call whose answer synclayer does not read.
func (c *Client) write(ctx context.Context, method, route, path string, body any) error {
	_, err := c.do(ctx, call{method: method, route: route, path: path, body: body})
	return err
}

// CreateProduct adds a product with its variants (POST …/products).
func (c *Client) CreateProduct(ctx context.Context, store string, p Product) error {
	return c.write(ctx, http.MethodPost, storeRoute+"/products", storePath(store)+"/products", p)
}

// PatchProduct updates a product's own fields (not its variants).
func (c *Client) PatchProduct(ctx context.Context, store, id string, p Product) error {
	return c.write(ctx, http.MethodPatch, productRoute, productPath(store, id), p)
}

// DeleteProduct deletes a product and its variants.
func (c *Client) DeleteProduct(ctx context.Context, store, id string) error {
	return c.write(ctx, http.MethodDelete, productRoute, productPath(store, id), nil)
}

// GetVariant reports whether the variant exists: nil, or a 404 *APIError
// when the variant or its product does not.
func (c *Client) GetVariant(ctx context.Context, store, product, id string) error {
	_, err := c.do(ctx, call{method: http.MethodGet, route: variantRoute, path: variantPath(store, product, id),
		query: url.Values{"fields": {"id"}}})
	return err
}

// PutVariant adds or updates a variant of an existing product; a 404
// *APIError when the product does not exist.
func (c *Client) PutVariant(ctx context.Context, store, product string, v Variant) error {
	return c.write(ctx, http.MethodPut, variantRoute, variantPath(store, product, v.ID), v)
}

// DeleteVariant deletes one variant of a product.
func (c *Client) DeleteVariant(ctx context.Context, store, product, id string) error {
	return c.write(ctx, http.MethodDelete, variantRoute, variantPath(store, product, id), nil)
}

// Problem details Mailchimp gives for e-commerce writes, matched by their
// wording: "A product with the provided ID does not exist in the account
// for this list." and "… An order with the provided ID already exists in
// the account." (sources in docs/platforms/mailchimp.md).
const (
	detailMissing = "does not exist"
	detailExists  = "already exists"
)

// IsDuplicate reports whether err is Mailchimp's 400 for a POST of an ID
// the store already holds.
func IsDuplicate(err error) bool { return hasDetail(err, detailExists) }

// IsMissingProduct reports whether err is Mailchimp's 400 for an order or
// cart line naming a product or variant the store does not hold.
func IsMissingProduct(err error) bool {
	return hasDetail(err, detailMissing) && hasDetail(err, "product")
}

func hasDetail(err error, s string) bool {
	var e *APIError
	return errors.As(err, &e) && e.Status == http.StatusBadRequest && strings.Contains(strings.ToLower(e.Detail), s)
}

// Order is the body of POST …/orders. Customer is sent whole only there:
// Mailchimp keeps an order's customer, and synclayer never updates its
// opt_in_status.
type Order struct {
	ID                 string          `json:"id"`
	Customer           *Customer       `json:"customer"`
	FinancialStatus    string          `json:"financial_status"`
	CurrencyCode       string          `json:"currency_code"`
	OrderTotal         synclayer.Money `json:"order_total"`
	ProcessedAtForeign string          `json:"processed_at_foreign,omitempty"`
	CancelledAtForeign string          `json:"cancelled_at_foreign,omitempty"`
	Lines              []Line          `json:"lines"`
}

// OrderPatch is the body of PATCH …/orders/{id}: only what changed.
type OrderPatch struct {
	FinancialStatus    string           `json:"financial_status,omitempty"`
	CurrencyCode       string           `json:"currency_code,omitempty"`
	OrderTotal         *synclayer.Money `json:"order_total,omitempty"`
	ProcessedAtForeign string           `json:"processed_at_foreign,omitempty"`
	CancelledAtForeign string           `json:"cancelled_at_foreign,omitempty"`
	Lines              []Line           `json:"lines,omitempty"`
}

// Cart is the body of POST …/carts; PATCH …/carts/{id} takes it without
// ID and Customer.
type Cart struct {
	ID           string          `json:"id,omitempty"`
	Customer     *Customer       `json:"customer,omitempty"`
	CheckoutURL  string          `json:"checkout_url,omitempty"`
	CurrencyCode string          `json:"currency_code"`
	OrderTotal   synclayer.Money `json:"order_total"`
	Lines        []Line          `json:"lines"`
}

// CreateOrder adds an order (POST …/orders).
func (c *Client) CreateOrder(ctx context.Context, store string, o Order) error {
	return c.write(ctx, http.MethodPost, storeRoute+"/orders", storePath(store)+"/orders", o)
}

// PatchOrder updates an order; a 404 *APIError when the store has none.
func (c *Client) PatchOrder(ctx context.Context, store, id string, p OrderPatch) error {
	return c.write(ctx, http.MethodPatch, orderRoute, orderPath(store, id), p)
}

// DeleteOrderLine removes one line of an order.
func (c *Client) DeleteOrderLine(ctx context.Context, store, order, line string) error {
	return c.write(ctx, http.MethodDelete, orderRoute+"/lines/{line_id}", orderPath(store, order)+"/lines/"+url.PathEscape(line), nil)
}

// CreateCart adds a cart (POST …/carts).
func (c *Client) CreateCart(ctx context.Context, store string, k Cart) error {
	return c.write(ctx, http.MethodPost, storeRoute+"/carts", storePath(store)+"/carts", k)
}

// GetCart returns the cart with its lines, or a 404 *APIError.
func (c *Client) GetCart(ctx context.Context, store, id string) (*Cart, error) {
	k := &Cart{}
	if _, err := c.do(ctx, call{method: http.MethodGet, route: cartRoute, path: cartPath(store, id), out: k}); err != nil {
		return nil, err
	}
	return k, nil
}

// PatchCart updates a cart; a 404 *APIError when the store has none.
func (c *Client) PatchCart(ctx context.Context, store, id string, k Cart) error {
	return c.write(ctx, http.MethodPatch, cartRoute, cartPath(store, id), k)
}

// DeleteCart removes a cart from the store; a 404 *APIError when the
// store holds none.
func (c *Client) DeleteCart(ctx context.Context, store, id string) error {
	return c.write(ctx, http.MethodDelete, cartRoute, cartPath(store, id), nil)
}

// DeleteCartLine removes one line of a cart.
func (c *Client) DeleteCartLine(ctx context.Context, store, cart, line string) error {
	return c.write(ctx, http.MethodDelete, cartRoute+"/lines/{line_id}", cartPath(store, cart)+"/lines/"+url.PathEscape(line), nil)
}
