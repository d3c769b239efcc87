package mailchimp

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"synclayer"
)

// ProductSync is product-catalog's Mailchimp side. A canonical product
// is a Mailchimp product carrying one variant of its own ID (Mailchimp
// requires at least one, and a line without a variant names it); a
// canonical product with a ParentID is a variant of the product ParentID.
type ProductSync struct{ *commerce }

var _ synclayer.ProductSync = (*ProductSync)(nil)

// NewProductSync is ProductSync for a client of one's own. Errors name
// options.<key>.
func NewProductSync(c *Client, cfg synclayer.SkillConfig) (*ProductSync, error) {
	m, err := newCommerce(c, cfg)
	if err != nil {
		return nil, err
	}
	return &ProductSync{m}, nil
}

// productState is what Mailchimp holds for a canonical product: a
// product's own fields and own variant, or a variant and its parent.
type productState struct {
	Parent  string   `json:"parent,omitempty"`
	Product *Product `json:"product,omitempty"`
	Variant *Variant `json:"variant,omitempty"`
	Deleted bool     `json:"deleted,omitempty"`
}

// productDetail is the plan's own description, which Apply follows.
type productDetail struct {
	ID        string   `json:"id"`
	Parent    string   `json:"parent,omitempty"`  // for a variant
	Create    *Product `json:"create,omitempty"`  // POST …/products
	Patch     *Product `json:"patch,omitempty"`   // PATCH …/products/{id}
	Full      *Product `json:"full,omitempty"`    // the whole product, to POST should the PATCH find none
	Variant   *Variant `json:"variant,omitempty"` // PUT …/variants/{id}
	Delete    bool     `json:"delete,omitempty"`
	OldParent string   `json:"oldParent,omitempty"` // a variant moved from: DELETE it there
}

// PlanProduct decides the calls that bring Mailchimp from prev to p: a
// POST of a new product with its own variant, then PATCHes of only the
// fields that changed and a PUT of its variant when that changed; a PUT
// of a variant under its parent; a DELETE of a deleted one. A deleted
// product Mailchimp never held needs no call.
func (s *ProductSync) PlanProduct(p *synclayer.Product, prevRaw json.RawMessage) (*synclayer.Plan, error) {
	var prev *productState
	if len(prevRaw) > 0 && string(prevRaw) != "null" {
		prev = &productState{}
		if err := json.Unmarshal(prevRaw, prev); err != nil {
			return nil, fmt.Errorf("decode Mailchimp product sync state: %w", err)
		}
	}
	live := prev != nil && !prev.Deleted
	store := s.opt.StoreID
	if p.Deleted {
		if !live {
			return none(prevRaw, "deleted, and Mailchimp does not hold it"), nil
		}
		next := *prev
		next.Deleted = true
		d := productDetail{ID: p.ID, Parent: prev.Parent, Delete: true}
		path := productPath(store, p.ID)
		if prev.Parent != "" {
			path = variantPath(store, prev.Parent, p.ID)
		}
		return &synclayer.Plan{Op: synclayer.PlanDelete, Next: mustJSON(next), Detail: d,
			Calls: []synclayer.PlannedCall{{Method: "DELETE", Path: path}}}, nil
	}
	name := p.Name
	if name == "" && live && prev.Variant != nil {
		name = prev.Variant.Title
	}
	if name == "" {
		return nil, synclayer.Permanent(errors.New("the product has no name, which Mailchimp requires as its title"))
	}
	v := Variant{ID: p.ID, Title: name, URL: p.URL, SKU: p.SKU, ImageURL: p.ImageURL, InventoryQuantity: p.Stock}
	if !p.Price.IsZero() {
		price := p.Price
		v.Price = &price
	}
	op := synclayer.PlanUpdate
	if !live {
		op = synclayer.PlanCreate
	}
	d := productDetail{ID: p.ID, Parent: p.ParentID}
	var calls []synclayer.PlannedCall
	next := productState{Parent: p.ParentID, Variant: &v}
	if p.ParentID != "" {
		if live && prev.Parent == p.ParentID && sameJSON(prev.Variant, &v) {
			return none(prevRaw, "Mailchimp holds the variant as it is"), nil
		}
		if live && prev.Parent != "" && prev.Parent != p.ParentID {
			d.OldParent = prev.Parent
			calls = append(calls, synclayer.PlannedCall{Method: "DELETE", Path: variantPath(store, prev.Parent, p.ID)})
		}
		d.Variant = &v
		calls = append(calls, synclayer.PlannedCall{Method: "PUT", Path: variantPath(store, p.ParentID, p.ID), Body: v})
		return &synclayer.Plan{Op: op, Calls: calls, Next: mustJSON(next), Detail: d}, nil
	}
	own := Product{ID: p.ID, Title: name, URL: p.URL, ImageURL: p.ImageURL}
	next.Product = &own
	full := own
	full.Variants = []Variant{v}
	if !live || prev.Product == nil {
		d.Create = &full
		calls = append(calls, synclayer.PlannedCall{Method: "POST", Path: storePath(store) + "/products", Body: full})
		return &synclayer.Plan{Op: op, Calls: calls, Next: mustJSON(next), Detail: d}, nil
	}
	var patch Product
	changed := false
	if prev.Product.Title != own.Title {
		patch.Title, changed = own.Title, true
	}
	if prev.Product.URL != own.URL {
		patch.URL, changed = own.URL, true
	}
	if prev.Product.ImageURL != own.ImageURL {
		patch.ImageURL, changed = own.ImageURL, true
	}
	if changed {
		d.Patch, d.Full = &patch, &full
		calls = append(calls, synclayer.PlannedCall{Method: "PATCH", Path: productPath(store, p.ID), Body: patch})
	}
	if !sameJSON(prev.Variant, &v) {
		d.Variant = &v
		calls = append(calls, synclayer.PlannedCall{Method: "PUT", Path: variantPath(store, p.ID, p.ID), Body: v})
	}
	if len(calls) == 0 {
		return none(prevRaw, "nothing the product sync sends has changed"), nil
	}
	return &synclayer.Plan{Op: op, Calls: calls, Next: mustJSON(next), Detail: d}, nil
}

// PlanCategory needs no call: Mailchimp's e-commerce API has no categories.
func (s *ProductSync) PlanCategory(_ *synclayer.Category, prev json.RawMessage) (*synclayer.Plan, error) {
	return none(prev, "Mailchimp has no categories"), nil
}

// Apply makes the plan's calls and returns the trace line. A POST of a
// product Mailchimp already holds (an order line created it, or an answer
// was lost) becomes a PATCH and a PUT of its variant; a PATCH of a
// product deleted inside Mailchimp becomes a POST; a variant whose parent
// Mailchimp does not hold yet creates the parent with it, which the
// parent's own delivery then completes. DELETEs of what is gone succeed.
func (s *ProductSync) Apply(ctx context.Context, plan *synclayer.Plan) (string, error) {
	if plan.Op == synclayer.PlanNone {
		return "mailchimp: no call (" + plan.Reason + ")", nil
	}
	var d productDetail
	remarshal(plan.Detail, &d)
	store, c := s.opt.StoreID, s.client
	var notes []string
	add := func(s string) { notes = append(notes, "mailchimp: "+s) }
	fail := func(err error) (string, error) { return strings.Join(notes, "; "), err }
	if d.Delete {
		var err error
		if d.Parent != "" {
			err = c.DeleteVariant(ctx, store, d.Parent, d.ID)
			add("DELETE " + variantRoute + " → " + gone(err, "204 deleted"))
		} else {
			err = c.DeleteProduct(ctx, store, d.ID)
			add("DELETE " + productRoute + " → " + gone(err, "204 deleted"))
		}
		if err != nil && !IsNotFound(err) {
			return fail(err)
		}
		return strings.Join(notes, "; "), nil
	}
	if d.OldParent != "" {
		if err := c.DeleteVariant(ctx, store, d.OldParent, d.ID); err != nil && !IsNotFound(err) {
			return fail(err)
		}
		add("DELETE " + variantRoute + " → 204 (the variant moved to another product)")
	}
	create := d.Create
	if d.Patch != nil {
		err := c.PatchProduct(ctx, store, d.ID, *d.Patch)
		switch {
		case IsNotFound(err):
			add("PATCH " + productRoute + " → 404 (deleted inside Mailchimp: created again)")
			create = d.Full
		case err != nil:
			return fail(err)
		default:
			add("PATCH " + productRoute + " → 200")
		}
	}
	if create != nil {
		err := c.CreateProduct(ctx, store, *create)
		switch {
		case IsDuplicate(err):
			patch := Product{Title: create.Title, URL: create.URL, ImageURL: create.ImageURL}
			if err := c.PatchProduct(ctx, store, d.ID, patch); err != nil {
				return fail(err)
			}
			add("POST " + storeRoute + "/products → 400 (Mailchimp holds the product already); PATCH " + productRoute + " → 200")
			v := create.Variants[0]
			d.Variant = &v
		case err != nil:
			return fail(err)
		default:
			add("POST " + storeRoute + "/products → 200 (product " + d.ID + " created)")
			return strings.Join(notes, "; "), nil
		}
	}
	if d.Variant != nil {
		parent := firstNonEmpty(d.Parent, d.ID)
		err := c.PutVariant(ctx, store, parent, *d.Variant)
		if IsNotFound(err) && d.Parent != "" {
			p := Product{ID: parent, Title: d.Variant.Title, Variants: []Variant{*d.Variant}}
			if err = c.CreateProduct(ctx, store, p); IsDuplicate(err) {
				err = c.PutVariant(ctx, store, parent, *d.Variant)
			}
			add("PUT " + variantRoute + " → 404 (no parent product yet: created it with this variant)")
		} else if err == nil {
			add("PUT " + variantRoute + " → 200 (variant " + d.Variant.ID + ")")
		}
		if err != nil {
			return fail(err)
		}
	}
	return strings.Join(notes, "; "), nil
}

func sameJSON(a, b any) bool { return string(mustJSON(a)) == string(mustJSON(b)) }
