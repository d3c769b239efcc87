package klaviyo

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"

	"synclayer"
)

// catalogPrefix starts every catalog ID: the only integration ($custom)
// and catalog ($default) the API supports, then the external ID.
const catalogPrefix = "$custom:::$default:::"

// CatalogID is the Klaviyo ID of the catalog item, variant or category
// whose external ID is externalID.
func CatalogID(externalID string) string { return catalogPrefix + externalID }

// CatalogItem is a catalog item. Title, Description and URL are required
// when it is created; a zero Price or an empty ImageURL sends none on
// create and clears it (null) on update. CategoryIDs are external IDs of
// catalog categories and replace the item's categories.
type CatalogItem struct {
	ExternalID  string          `json:"externalId"`
	Title       string          `json:"title"`
	Description string          `json:"description"`
	URL         string          `json:"url"`
	Price       synclayer.Money `json:"price,omitzero"`
	ImageURL    string          `json:"imageUrl,omitempty"`
	CategoryIDs []string        `json:"categoryIds,omitempty"`
}

// CatalogVariant is a variant of catalog item ItemID (an external ID).
// The spec requires every field but ImageURL when it is created.
type CatalogVariant struct {
	ExternalID        string          `json:"externalId"`
	ItemID            string          `json:"itemId"`
	Title             string          `json:"title"`
	Description       string          `json:"description"`
	SKU               string          `json:"sku"`
	URL               string          `json:"url"`
	Price             synclayer.Money `json:"price"`
	InventoryQuantity int64           `json:"inventoryQuantity"`
	ImageURL          string          `json:"imageUrl,omitempty"`
}

// CatalogCategory is a catalog category.
type CatalogCategory struct {
	ExternalID string `json:"externalId"`
	Name       string `json:"name"`
}

func orNull(s string) any {
	if s == "" {
		return nil
	}
	return s
}

func moneyOrNull(m synclayer.Money) any {
	if m.IsZero() {
		return nil
	}
	return m
}

func (it CatalogItem) body(create bool) any {
	attrs := map[string]any{"title": it.Title, "description": it.Description, "url": it.URL,
		"price": moneyOrNull(it.Price), "image_full_url": orNull(it.ImageURL)}
	cats := make([]any, len(it.CategoryIDs))
	for i, id := range it.CategoryIDs {
		cats[i] = map[string]any{"type": "catalog-category", "id": CatalogID(id)}
	}
	data := map[string]any{"type": "catalog-item", "attributes": attrs,
		"relationships": map[string]any{"categories": map[string]any{"data": cats}}}
	if create {
		attrs["external_id"], attrs["integration_type"], attrs["catalog_type"] = it.ExternalID, "$custom", "$default"
		for _, k := range []string{"price", "image_full_url"} {
			if attrs[k] == nil {
				delete(attrs, k)
			}
		}
	} else {
		data["id"] = CatalogID(it.ExternalID)
	}
	return map[string]any{"data": data}
}

func (v CatalogVariant) body(create bool) any {
	price := v.Price
	if price.IsZero() {
		price = synclayer.MustMoney("0")
	}
	attrs := map[string]any{"title": v.Title, "description": v.Description, "sku": v.SKU, "url": v.URL,
		"price": price, "inventory_quantity": v.InventoryQuantity, "image_full_url": orNull(v.ImageURL)}
	data := map[string]any{"type": "catalog-variant", "attributes": attrs}
	if create {
		attrs["external_id"], attrs["integration_type"], attrs["catalog_type"] = v.ExternalID, "$custom", "$default"
		if v.ImageURL == "" {
			delete(attrs, "image_full_url")
		}
		data["relationships"] = map[string]any{"item": map[string]any{"data": map[string]any{"type": "catalog-item", "id": CatalogID(v.ItemID)}}}
	} else {
		data["id"] = CatalogID(v.ExternalID)
	}
	return map[string]any{"data": data}
}

func (g CatalogCategory) body(create bool) any {
	data := map[string]any{"type": "catalog-category", "attributes": map[string]any{"name": g.Name}}
	if create {
		data["attributes"] = map[string]any{"external_id": g.ExternalID, "name": g.Name, "integration_type": "$custom", "catalog_type": "$default"}
	} else {
		data["id"] = CatalogID(g.ExternalID)
	}
	return map[string]any{"data": data}
}

// catalogResource is one of the three catalog collections.
type catalogResource string

const (
	resourceItem     catalogResource = "catalog-items"
	resourceVariant  catalogResource = "catalog-variants"
	resourceCategory catalogResource = "catalog-categories"
)

// CreateCatalogItem creates it (201). An item that already exists is a
// permanent 409 for which IsConflict is true; a category it names that
// Klaviyo does not hold is a retryable error (see catalogWrite).
func (c *Client) CreateCatalogItem(ctx context.Context, it CatalogItem) error {
	return c.catalogWrite(ctx, http.MethodPost, resourceItem, "", it.body(true))
}

// UpdateCatalogItem updates it (200); a missing item is a permanent 404
// for which IsNotFound is true.
func (c *Client) UpdateCatalogItem(ctx context.Context, it CatalogItem) error {
	return c.catalogWrite(ctx, http.MethodPatch, resourceItem, it.ExternalID, it.body(false))
}

// CreateCatalogVariant creates v (201) under its item, which must exist.
func (c *Client) CreateCatalogVariant(ctx context.Context, v CatalogVariant) error {
	return c.catalogWrite(ctx, http.MethodPost, resourceVariant, "", v.body(true))
}

// UpdateCatalogVariant updates v (200).
func (c *Client) UpdateCatalogVariant(ctx context.Context, v CatalogVariant) error {
	return c.catalogWrite(ctx, http.MethodPatch, resourceVariant, v.ExternalID, v.body(false))
}

// CreateCatalogCategory creates g (201).
func (c *Client) CreateCatalogCategory(ctx context.Context, g CatalogCategory) error {
	return c.catalogWrite(ctx, http.MethodPost, resourceCategory, "", g.body(true))
}

// UpdateCatalogCategory renames g (200); its items are left as they are.
func (c *Client) UpdateCatalogCategory(ctx context.Context, g CatalogCategory) error {
	return c.catalogWrite(ctx, http.MethodPatch, resourceCategory, g.ExternalID, g.body(false))
}

// DeleteCatalogItem, DeleteCatalogVariant and DeleteCatalogCategory
// delete by external ID (204); a missing one is a 404 for IsNotFound.
func (c *Client) DeleteCatalogItem(ctx context.Context, externalID string) error {
	return c.catalogWrite(ctx, http.MethodDelete, resourceItem, externalID, nil)
}

func (c *Client) DeleteCatalogVariant(ctx context.Context, externalID string) error {
	return c.catalogWrite(ctx, http.MethodDelete, resourceVariant, externalID, nil)
}

func (c *Client) DeleteCatalogCategory(ctx context.Context, externalID string) error {
	return c.catalogWrite(ctx, http.MethodDelete, resourceCategory, externalID, nil)
}

// relatedRetry is how long a write that names a related resource Klaviyo
// does not hold yet waits: the parent item's or the category's own job
// is usually queued beside it.
const relatedRetry = 3 * time.Second

// catalogWrite sends one catalog write. A 404 pointing into
// /data/relationships (JSON:API's answer for a related resource that does
// not exist) is made retryable after relatedRetry rather than permanent.
func (c *Client) catalogWrite(ctx context.Context, method string, r catalogResource, externalID string, body any) error {
	k := call{method: method, route: "/api/" + string(r), path: "/api/" + string(r), body: body}
	if externalID != "" {
		if strings.Contains(externalID, ":::") {
			return synclayer.Permanent(c.wrap(k, errors.New("a catalog external ID cannot hold \":::\", which separates the parts of a Klaviyo catalog ID")))
		}
		k.route += "/{id}"
		k.path += "/" + url.PathEscape(CatalogID(externalID))
	}
	_, err := c.do(ctx, k)
	var e *APIError
	if errors.As(err, &e) && e.Status == http.StatusNotFound {
		for _, o := range e.Errors {
			if o.Source != nil && strings.HasPrefix(o.Source.Pointer, "/data/relationships") {
				return synclayer.RetryAfter(fmt.Errorf("klaviyo: %s %s: a related catalog resource is not in Klaviyo yet (its own delivery may not have run): %w", k.method, k.route, e), relatedRetry)
			}
		}
	}
	return err
}

// IsConflict reports whether err is Klaviyo's 409, as for a catalog item
// that already exists.
func IsConflict(err error) bool { return statusOf(err) == http.StatusConflict }
