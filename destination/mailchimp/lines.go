package mailchimp

import (
	"context"
	"fmt"
	"slices"
	"strconv"

	"synclayer"
)

// ProductRef names one variant of one product in the store. A line
// without a variant names the product's own variant, whose ID is the
// product's: Mailchimp requires a variant on every line, and allows a
// variant to share its product's ID.
type ProductRef struct {
	Product string `json:"product"`
	Variant string `json:"variant"`
}

func refOf(it synclayer.OrderItem) ProductRef {
	v := it.VariantID
	if v == "" {
		v = it.ProductID
	}
	return ProductRef{Product: it.ProductID, Variant: v}
}

// lines converts order or cart items to Mailchimp lines, numbered by
// position ("1", "2", …), and returns the variants they name, each once,
// with the minimal variant each would be created as.
func lines(items []synclayer.OrderItem) ([]Line, []ProductRef, map[ProductRef]Variant) {
	out := make([]Line, 0, len(items))
	var refs []ProductRef
	minimal := map[ProductRef]Variant{}
	for i, it := range items {
		r := refOf(it)
		out = append(out, Line{ID: strconv.Itoa(i + 1), ProductID: r.Product, ProductVariantID: r.Variant,
			Quantity: it.Quantity, Price: money(it.Price)})
		if _, seen := minimal[r]; seen {
			continue
		}
		refs = append(refs, r)
		title := firstNonEmpty(it.Name, it.SKU, it.ProductID)
		price := money(it.Price)
		minimal[r] = Variant{ID: r.Variant, Title: title, SKU: it.SKU, Price: &price}
	}
	return out, refs, minimal
}

// missing returns the refs not in known.
func missing(refs, known []ProductRef) []ProductRef {
	var out []ProductRef
	for _, r := range refs {
		if !slices.Contains(known, r) {
			out = append(out, r)
		}
	}
	return out
}

// union returns known with refs added, each once.
func union(known, refs []ProductRef) []ProductRef {
	out := slices.Clone(known)
	for _, r := range refs {
		if !slices.Contains(out, r) {
			out = append(out, r)
		}
	}
	return out
}

// ensureCalls are the planned calls that make sure each ref exists.
func ensureCalls(store string, refs []ProductRef, minimal map[ProductRef]Variant) []synclayer.PlannedCall {
	var out []synclayer.PlannedCall
	for _, r := range refs {
		out = append(out, synclayer.PlannedCall{Method: "PUT", Path: variantPath(store, r.Product, r.Variant), Body: minimal[r]})
	}
	return out
}

// ensure makes sure the variant r names exists, so a line can name it.
// It reads first, so a product the catalog sent in full is never
// overwritten by a line's minimal one; a missing variant is added under
// its product, and a missing product is created with it (a product needs
// at least one variant). It returns the trace line.
func (m *commerce) ensure(ctx context.Context, r ProductRef, v Variant) (string, error) {
	store := m.opt.StoreID
	err := m.client.GetVariant(ctx, store, r.Product, r.Variant)
	if err == nil {
		return "", nil
	}
	if !IsNotFound(err) {
		return "", err
	}
	err = m.client.PutVariant(ctx, store, r.Product, v)
	if err == nil {
		return "mailchimp: PUT " + variantRoute + " → 200 (variant " + r.Variant + " added for an order line)", nil
	}
	if !IsNotFound(err) {
		return "", err
	}
	p := Product{ID: r.Product, Title: v.Title, Variants: []Variant{v}}
	err = m.client.CreateProduct(ctx, store, p)
	switch {
	case IsDuplicate(err): // created meanwhile by the catalog
		if err := m.client.PutVariant(ctx, store, r.Product, v); err != nil {
			return "", err
		}
	case err != nil:
		return "", err
	}
	return fmt.Sprintf("mailchimp: POST %s/products → 200 (product %s created from an order line)", storeRoute, r.Product), nil
}

// ensureAll ensures each of refs and returns the trace lines.
func (m *commerce) ensureAll(ctx context.Context, refs []ProductRef, minimal map[ProductRef]Variant) ([]string, error) {
	var notes []string
	for _, r := range refs {
		note, err := m.ensure(ctx, r, minimal[r])
		if err != nil {
			return notes, fmt.Errorf("make sure product %s (variant %s) exists: %w", r.Product, r.Variant, err)
		}
		if note != "" {
			notes = append(notes, note)
		}
	}
	return notes, nil
}

// retryLines runs write, and once more after making sure of every line's
// product when Mailchimp says a line names one it does not hold (deleted
// inside Mailchimp since it was made sure of).
func (m *commerce) retryLines(ctx context.Context, ls []Line, minimal map[ProductRef]Variant, write func() error) error {
	err := write()
	if !IsMissingProduct(err) {
		return err
	}
	refs := make([]ProductRef, 0, len(ls))
	for _, l := range ls {
		refs = union(refs, []ProductRef{{Product: l.ProductID, Variant: l.ProductVariantID}})
	}
	if _, err := m.ensureAll(ctx, refs, minimal); err != nil {
		return err
	}
	return write()
}
