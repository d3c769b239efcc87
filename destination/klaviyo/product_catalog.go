package klaviyo

import (
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strings"

	"synclayer"
)

// ProductSync is product-catalog on one Klaviyo account: products become
// catalog items of the $custom:::$default catalog, keyed by the product
// ID as external_id; variants (products with a ParentID) become catalog
// variants of their parent's item; categories become catalog categories.
// Build it with Destination.ProductSync.
type ProductSync struct {
	client *Client
	log    *slog.Logger
}

var _ synclayer.ProductSync = (*ProductSync)(nil)

// catalogState is what product-catalog records: what Klaviyo was last
// sent for one product (Item or Variant) or category, and whether it was
// deleted since.
type catalogState struct {
	Item     *CatalogItem     `json:"item,omitempty"`
	Variant  *CatalogVariant  `json:"variant,omitempty"`
	Category *CatalogCategory `json:"category,omitempty"`
	Deleted  bool             `json:"deleted,omitempty"`
}

// catalogDetail is a catalog plan's Detail: the one write Apply makes,
// after removing Remove (a product that became or stopped being a
// variant).
type catalogDetail struct {
	Method string        `json:"method"`
	Remove *catalogState `json:"remove,omitempty"`
	Write  catalogState  `json:"write"`
}

func decodeCatalogState(raw json.RawMessage) (*catalogState, error) {
	if isNull(raw) {
		return nil, nil
	}
	st := &catalogState{}
	if err := json.Unmarshal(raw, st); err != nil {
		return nil, fmt.Errorf("klaviyo: decode catalog sync state: %w", err)
	}
	return st, nil
}

// PlanProduct decides the catalog write for p given what Klaviyo was last
// sent (prev). Everything is sent whole; when Klaviyo holds exactly that,
// nothing is. The product's name is also its description, which the spec
// requires and the canonical product does not keep; a variant without a
// SKU sends its product ID as SKU, which the spec also requires. A
// product without a name or URL is a permanent error. A deleted product
// Klaviyo does not hold needs no call.
func (s *ProductSync) PlanProduct(p *synclayer.Product, prevRaw json.RawMessage) (*synclayer.Plan, error) {
	prev, err := decodeCatalogState(prevRaw)
	if err != nil {
		return nil, err
	}
	held := prev != nil && !prev.Deleted
	if p.Deleted {
		if !held {
			return &synclayer.Plan{Op: synclayer.PlanNone, Next: prevRaw, Reason: "deleted, and Klaviyo's catalog does not hold it"}, nil
		}
		d := &catalogDetail{Method: http.MethodDelete, Write: *prev}
		return catalogPlan(synclayer.PlanDelete, d, catalogState{Item: prev.Item, Variant: prev.Variant, Deleted: true}), nil
	}
	switch {
	case strings.TrimSpace(p.Name) == "":
		return nil, synclayer.Permanent(errors.New("klaviyo: the product has no name, which a Klaviyo catalog title requires"))
	case p.URL == "":
		return nil, synclayer.Permanent(errors.New("klaviyo: the product has no URL, which Klaviyo's catalog requires"))
	case strings.Contains(p.ID, ":::") || strings.Contains(p.ParentID, ":::"):
		return nil, synclayer.Permanent(errors.New("klaviyo: the product ID holds \":::\", which Klaviyo catalog IDs use as separator"))
	}
	var next catalogState
	if p.ParentID == "" {
		next.Item = &CatalogItem{ExternalID: p.ID, Title: p.Name, Description: p.Name, URL: p.URL, Price: p.Price,
			ImageURL: p.ImageURL, CategoryIDs: append([]string{}, p.Categories...)}
	} else {
		var stock int64
		if p.Stock != nil {
			stock = *p.Stock
		}
		next.Variant = &CatalogVariant{ExternalID: p.ID, ItemID: p.ParentID, Title: p.Name, Description: p.Name,
			SKU: firstNonEmpty(p.SKU, p.ID), URL: p.URL, Price: p.Price, InventoryQuantity: stock, ImageURL: p.ImageURL}
	}
	d := &catalogDetail{Method: http.MethodPost, Write: next}
	op := synclayer.PlanCreate
	if held {
		sameKind := (prev.Item != nil) == (next.Item != nil) && (prev.Variant == nil || prev.Variant.ItemID == next.Variant.ItemID)
		switch {
		case sameKind && string(mustJSON(prev)) == string(mustJSON(next)):
			return &synclayer.Plan{Op: synclayer.PlanNone, Next: prevRaw, Reason: "nothing the catalog sends has changed"}, nil
		case sameKind:
			d.Method, op = http.MethodPatch, synclayer.PlanUpdate
		default:
			d.Remove, op = prev, synclayer.PlanUpdate // became a variant, stopped being one, or moved
		}
	}
	return catalogPlan(op, d, next), nil
}

// PlanCategory decides the catalog write for category c given what
// Klaviyo was last sent (prev): a create, a rename, or nothing.
func (s *ProductSync) PlanCategory(c *synclayer.Category, prevRaw json.RawMessage) (*synclayer.Plan, error) {
	prev, err := decodeCatalogState(prevRaw)
	if err != nil {
		return nil, err
	}
	switch {
	case strings.TrimSpace(c.Name) == "":
		return nil, synclayer.Permanent(errors.New("klaviyo: the category has no name, which Klaviyo requires"))
	case strings.Contains(c.ID, ":::"):
		return nil, synclayer.Permanent(errors.New("klaviyo: the category ID holds \":::\", which Klaviyo catalog IDs use as separator"))
	}
	next := catalogState{Category: &CatalogCategory{ExternalID: c.ID, Name: c.Name}}
	if prev != nil && prev.Category != nil && *prev.Category == *next.Category {
		return &synclayer.Plan{Op: synclayer.PlanNone, Next: prevRaw, Reason: "Klaviyo holds the category as it is"}, nil
	}
	d := &catalogDetail{Method: http.MethodPost, Write: next}
	op := synclayer.PlanCreate
	if prev != nil && prev.Category != nil {
		d.Method, op = http.MethodPatch, synclayer.PlanUpdate
	}
	return catalogPlan(op, d, next), nil
}

func catalogPlan(op synclayer.PlanOp, d *catalogDetail, next catalogState) *synclayer.Plan {
	p := &synclayer.Plan{Op: op, Next: mustJSON(next), Detail: d}
	if d.Remove != nil {
		path, _ := d.Remove.path()
		p.Calls = append(p.Calls, synclayer.PlannedCall{Method: http.MethodDelete, Path: path})
	}
	path, body := d.Write.path()
	if d.Method == http.MethodPost {
		path = d.Write.collection()
	}
	if d.Method == http.MethodDelete {
		body = nil
	}
	return appendCall(p, d.Method, path, body)
}

func appendCall(p *synclayer.Plan, method, path string, body any) *synclayer.Plan {
	p.Calls = append(p.Calls, synclayer.PlannedCall{Method: method, Path: path, Body: body})
	return p
}

// collection is the state's collection path; path is its resource path
// and the body of an update.
func (st *catalogState) collection() string {
	switch {
	case st.Item != nil:
		return "/api/catalog-items"
	case st.Variant != nil:
		return "/api/catalog-variants"
	}
	return "/api/catalog-categories"
}

func (st *catalogState) path() (string, any) {
	switch {
	case st.Item != nil:
		return st.collection() + "/" + CatalogID(st.Item.ExternalID), st.Item.body(false)
	case st.Variant != nil:
		return st.collection() + "/" + CatalogID(st.Variant.ExternalID), st.Variant.body(false)
	case st.Category != nil:
		return st.collection() + "/" + CatalogID(st.Category.ExternalID), st.Category.body(false)
	}
	return st.collection(), nil
}
