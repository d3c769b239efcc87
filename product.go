package synclayer

import (
	"context"
	"encoding/json"
	"time"
)

// Product events, whatever the platform called them.
const (
	EventProductCreated EventType = "product_created"
	EventProductUpdated EventType = "product_updated"
	EventProductDeleted EventType = "product_deleted"
)

// Product is the one canonical record of a product or of one variant of
// it. A variant is a product of its own with ParentID set, as Brevo holds
// it, so an order line can name both. It holds only what a destination
// is sent: a platform update that changes nothing here (a new updated_at,
// a description) changes nothing downstream.
type Product struct {
	ID         string    `json:"id,omitempty"` // CanonicalID(Source, SourceID)
	Source     string    `json:"source,omitempty"`
	SourceID   string    `json:"sourceId"`
	ParentID   string    `json:"parentId,omitempty"` // canonical ID of the product this is a variant of
	SKU        string    `json:"sku,omitempty"`
	Name       string    `json:"name"`
	URL        string    `json:"url,omitempty"`
	ImageURL   string    `json:"imageUrl,omitempty"`
	Price      Money     `json:"price"`
	Stock      *int64    `json:"stock,omitempty"` // nil when the platform does not track it
	Categories []string  `json:"categories,omitempty"`
	Deleted    bool      `json:"deleted,omitempty"`
	DeletedAt  time.Time `json:"deletedAt,omitzero"`
	UpdatedAt  time.Time `json:"updatedAt"` // the source's own time; decides newer-wins
	Version    int64     `json:"version,omitempty"`
}

// SameContent reports whether p and q say the same thing about the product,
// leaving out the version and the source's update time.
func (p *Product) SameContent(q *Product) bool {
	a, b := *p, *q
	a.Version, b.Version, a.UpdatedAt, b.UpdatedAt = 0, 0, time.Time{}, time.Time{}
	if len(a.Categories) == 0 {
		a.Categories = nil
	}
	if len(b.Categories) == 0 {
		b.Categories = nil
	}
	x, _ := json.Marshal(a)
	y, _ := json.Marshal(b)
	return string(x) == string(y)
}

// Category is a product category, as products name it by ID.
type Category struct {
	ID        string    `json:"id"` // CanonicalID(source, the source's category ID)
	Name      string    `json:"name"`
	URL       string    `json:"url,omitempty"`
	UpdatedAt time.Time `json:"updatedAt"`
	Version   int64     `json:"version,omitempty"`
}

// ProductChange is what one event says about a product. IDs in it are the
// source's own; ingest makes them canonical.
type ProductChange struct {
	SourceID   string     `json:"sourceId"`
	Product    *Product   `json:"product,omitempty"`    // the product as it now stands; nil for a delete
	Variants   []*Product `json:"variants,omitempty"`   // its variants, when the platform sends them within it
	Categories []Category `json:"categories,omitempty"` // the categories it names, with their names
	Delete     bool       `json:"delete,omitempty"`
	// AllVariants says Variants is the whole list, so a variant the store
	// holds that is not in it was removed (Shopify sends every variant).
	AllVariants bool `json:"allVariants,omitempty"`
}

// CategoryKey is the record key of a category's delivery job, which the
// product-catalog skill shares with products.
func CategoryKey(id string) string { return "category:" + id }

// ProductStore reads canonical products outside a transaction.
type ProductStore interface {
	// FindProductByID returns the product, or ENOTFOUND.
	FindProductByID(ctx context.Context, id string) (*Product, error)
	// FindCategoryByID returns the category, or ENOTFOUND.
	FindCategoryByID(ctx context.Context, id string) (*Category, error)
}

// ProductTx is the part of an ingest transaction that writes products.
type ProductTx interface {
	// FindProductByID returns the product, or ENOTFOUND.
	FindProductByID(ctx context.Context, id string) (*Product, error)
	// FindProductVariants returns the products whose parent is parentID.
	FindProductVariants(ctx context.Context, parentID string) ([]*Product, error)
	// SaveProduct inserts or updates p and bumps its version.
	SaveProduct(ctx context.Context, p *Product) error
	// FindCategoryByID returns the category, or ENOTFOUND.
	FindCategoryByID(ctx context.Context, id string) (*Category, error)
	// SaveCategory inserts or updates c and bumps its version.
	SaveCategory(ctx context.Context, c *Category) error
}
