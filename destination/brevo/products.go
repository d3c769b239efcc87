package brevo

import (
	"context"
	"net/http"

	"synclayer"
)

// Product is the body of POST /products. Name is required, on creation and
// by the spec on every call. A variant names its product in ParentID.
// Categories are category IDs (see UpsertCategory). A deleted product is
// sent with IsDeleted and DeletedAt; Brevo keeps it, marked deleted.
// Omitted fields keep the value Brevo holds.
type Product struct {
	ID            string           `json:"id"`
	Name          string           `json:"name"`
	URL           string           `json:"url,omitempty"`
	ImageURL      string           `json:"imageUrl,omitempty"`
	SKU           string           `json:"sku,omitempty"`
	Price         *synclayer.Money `json:"price,omitempty"` // sent digit for digit
	Categories    []string         `json:"categories"`      // always sent, so a removed category is removed in Brevo too; nil is sent as []
	ParentID      string           `json:"parentId,omitempty"`
	Stock         *int64           `json:"stock,omitempty"`
	IsDeleted     *bool            `json:"isDeleted,omitempty"` // true to delete; false only to restore a deleted product
	DeletedAt     string           `json:"deletedAt,omitempty"` // TimeLayout
	UpdateEnabled bool             `json:"updateEnabled,omitempty"`
}

// Category is the body of POST /categories. Name is required on creation.
type Category struct {
	ID            string `json:"id"`
	Name          string `json:"name,omitempty"`
	URL           string `json:"url,omitempty"`
	IsDeleted     bool   `json:"isDeleted,omitempty"`
	DeletedAt     string `json:"deletedAt,omitempty"`
	UpdateEnabled bool   `json:"updateEnabled,omitempty"`
}

// UpsertProduct creates the product (201, created true) or, with
// UpdateEnabled, updates the one with its ID (204). It counts against the
// "products" bucket, 2 requests a second on Brevo's general tier. Without
// UpdateEnabled an existing ID is a permanent 400.
func (c *Client) UpsertProduct(ctx context.Context, p Product) (created bool, err error) {
	if p.Categories == nil {
		p.Categories = []string{}
	}
	status, err := c.do(ctx, call{method: http.MethodPost, route: "/products", path: "/products", body: p})
	return status == http.StatusCreated, err
}

// UpsertCategory creates the category (201, created true) or, with
// UpdateEnabled, updates it (204). It counts against the "other" bucket,
// which Brevo's general tier caps at 100 requests an hour, so send each
// category only when it changes.
func (c *Client) UpsertCategory(ctx context.Context, cat Category) (created bool, err error) {
	status, err := c.do(ctx, call{method: http.MethodPost, route: "/categories", path: "/categories", body: cat})
	return status == http.StatusCreated, err
}
