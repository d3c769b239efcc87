package ingest

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"

	"synclayer"
)

// applyProduct stores what a product event says about a product, its
// variants and its categories, newer-wins by the source's updated_at, and
// enqueues a delivery for each record whose content changed. A platform
// update that changes nothing a product holds (Shopify sends one for
// every small edit) keeps the newer time and enqueues nothing.
func (in *Ingester) applyProduct(ctx context.Context, tx synclayer.Tx, ev *synclayer.Event) ([]string, error) {
	pc := ev.Product
	routes := in.routesFor(RecordProducts, ev.Source)
	if len(routes) == 0 {
		ev.Status, ev.Reason = synclayer.EventUnchanged, "no skill takes products from "+ev.Source+"; enable product-catalog for it"
		return nil, nil
	}
	id := synclayer.CanonicalID(ev.Source, pc.SourceID)
	if err := tx.Lock(ctx, "product:"+id); err != nil {
		return nil, err
	}
	var changed []string // record keys to deliver
	for _, cat := range pc.Categories {
		cat.ID = synclayer.CanonicalID(ev.Source, cat.ID)
		ok, err := saveCategory(ctx, tx, &cat)
		if err != nil {
			return nil, err
		}
		if ok {
			changed = append(changed, synclayer.CategoryKey(cat.ID))
		}
	}
	var products []*synclayer.Product
	if pc.Delete {
		held, err := findProduct(ctx, tx, id)
		if err != nil {
			return nil, err
		}
		if held != nil {
			variants, err := tx.FindProductVariants(ctx, id)
			if err != nil {
				return nil, err
			}
			for _, p := range append([]*synclayer.Product{held}, variants...) {
				if !p.Deleted {
					p.Deleted, p.DeletedAt, p.UpdatedAt = true, ev.OccurredAt, later(p.UpdatedAt, ev.OccurredAt)
					products = append(products, p)
				}
			}
		}
	} else {
		for _, p := range append([]*synclayer.Product{pc.Product}, pc.Variants...) {
			q := canonicalProduct(ev.Source, p)
			next, err := nextProduct(ctx, tx, q)
			if err != nil {
				return nil, err
			}
			if next != nil {
				products = append(products, next)
			}
		}
		if pc.AllVariants {
			gone, err := removedVariants(ctx, tx, id, pc.Variants, ev)
			if err != nil {
				return nil, err
			}
			products = append(products, gone...)
		}
	}
	for _, p := range products {
		if err := tx.SaveProduct(ctx, p); err != nil {
			return nil, err
		}
		changed = append(changed, p.ID)
	}
	if len(changed) == 0 {
		ev.Status, ev.Reason = synclayer.EventUnchanged, "nothing the product sync sends has changed"
		if pc.Delete && len(products) == 0 {
			ev.Reason = "no such product to delete"
		}
		return nil, in.traceProduct(ctx, tx, ev, id, nil)
	}
	var skills []string
	for _, key := range changed {
		s, err := enqueue(ctx, tx, routes, key, ev.ReceivedAt)
		if err != nil {
			return nil, err
		}
		skills = append(skills, s...)
	}
	ev.Status = synclayer.EventApplied
	return skills, in.traceProduct(ctx, tx, ev, id, changed)
}

func findProduct(ctx context.Context, tx synclayer.Tx, id string) (*synclayer.Product, error) {
	p, err := tx.FindProductByID(ctx, id)
	if synclayer.ErrorCode(err) == synclayer.ENOTFOUND {
		return nil, nil
	}
	return p, err
}

func canonicalProduct(source string, p *synclayer.Product) *synclayer.Product {
	q := *p
	q.ID, q.Source = synclayer.CanonicalID(source, p.SourceID), source
	if q.ParentID != "" {
		q.ParentID = synclayer.CanonicalID(source, p.ParentID)
	}
	q.Categories = nil
	for _, c := range p.Categories {
		q.Categories = append(q.Categories, synclayer.CanonicalID(source, c))
	}
	return &q
}

// nextProduct returns p to save when it is newer than what is held and
// says something new, or nil. A newer p that says nothing new is saved
// here with its time only, so an older delivery arriving later is stale.
func nextProduct(ctx context.Context, tx synclayer.Tx, p *synclayer.Product) (*synclayer.Product, error) {
	held, err := findProduct(ctx, tx, p.ID)
	if err != nil || held == nil {
		return p, err
	}
	if p.UpdatedAt.Before(held.UpdatedAt) {
		return nil, nil
	}
	p.Version = held.Version
	if !p.SameContent(held) {
		return p, nil
	}
	if p.UpdatedAt.After(held.UpdatedAt) {
		held.UpdatedAt = p.UpdatedAt
		return nil, tx.SaveProduct(ctx, held)
	}
	return nil, nil
}

// removedVariants marks deleted the held variants of parent that the
// platform's full list no longer has.
func removedVariants(ctx context.Context, tx synclayer.Tx, parent string, listed []*synclayer.Product, ev *synclayer.Event) ([]*synclayer.Product, error) {
	held, err := tx.FindProductVariants(ctx, parent)
	if err != nil {
		return nil, err
	}
	var gone []*synclayer.Product
	for _, v := range held {
		if v.Deleted || slices.ContainsFunc(listed, func(p *synclayer.Product) bool { return synclayer.CanonicalID(ev.Source, p.SourceID) == v.ID }) {
			continue
		}
		v.Deleted, v.DeletedAt, v.UpdatedAt = true, ev.OccurredAt, later(v.UpdatedAt, ev.OccurredAt)
		gone = append(gone, v)
	}
	return gone, nil
}

// saveCategory saves c when it is new or its name or URL changed, newer
// wins, and reports whether it did.
func saveCategory(ctx context.Context, tx synclayer.Tx, c *synclayer.Category) (bool, error) {
	held, err := tx.FindCategoryByID(ctx, c.ID)
	switch {
	case synclayer.ErrorCode(err) == synclayer.ENOTFOUND:
	case err != nil:
		return false, err
	case c.UpdatedAt.Before(held.UpdatedAt) || (held.Name == c.Name && held.URL == c.URL):
		return false, nil
	default:
		c.Version = held.Version
	}
	return true, tx.SaveCategory(ctx, c)
}

// traceProduct records the event under the product's ID: products belong
// to no contact, and the trace is keyed by record.
func (in *Ingester) traceProduct(ctx context.Context, tx synclayer.Tx, ev *synclayer.Event, id string, changed []string) error {
	what := "nothing the product sync sends changed"
	if ev.Reason != "" {
		what = ev.Reason
	}
	if len(changed) > 0 {
		what = "changed " + strings.Join(changed, ", ")
	}
	detail, _ := json.Marshal(map[string]any{"source": ev.Source, "topic": ev.Topic, "occurredAt": ev.OccurredAt, "changed": changed})
	return tx.AppendTrace(ctx, &synclayer.TraceEntry{ContactID: id, At: ev.ReceivedAt, Kind: synclayer.TraceEvent, EventID: ev.ID,
		Summary: fmt.Sprintf("%s from %s (%s): %s", ev.Type, ev.Source, ev.Topic, what), Detail: detail})
}
