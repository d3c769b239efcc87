package brevo

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strings"

	"synclayer"
)

// ProductCatalogName is the skill's name in config, metrics and job rows.
const ProductCatalogName = "product-catalog"

// ProductCatalog is the product-catalog skill: canonical products (each
// variant a product with its parentId) to POST /products, and their
// categories to POST /categories, both with updateEnabled. Its jobs are
// keyed by product ID, or by synclayer.CategoryKey for a category.
type ProductCatalog struct {
	Store  synclayer.Store
	Client *Client
	Logger *slog.Logger
}

// ProductPlan is what a product or category delivery will do.
type ProductPlan struct {
	Op       Op        `json:"op"`
	Product  *Product  `json:"product,omitempty"`
	Category *Category `json:"category,omitempty"`
	Reason   string    `json:"reason,omitempty"`
}

// ProductStateKey is the sync-state key of a product, apart from its job
// key so that a product and an order with the same ID never share one.
func ProductStateKey(id string) string { return "product:" + id }

// PlanProduct decides the Brevo call for product p given the product Brevo
// last received (prev, nil when never sent). Everything the catalog holds
// is sent whole, with updateEnabled; when Brevo already holds exactly
// that, nothing is sent, so a platform update that changed nothing synced
// makes no call, and a stock change does. A delete sends isDeleted with
// the name Brevo requires; a product never sent needs no delete.
func PlanProduct(p *synclayer.Product, prev *Product) (ProductPlan, error) {
	if p.Deleted && (prev == nil || prev.IsDeleted != nil && *prev.IsDeleted) {
		return ProductPlan{Op: OpNone, Reason: "deleted, and Brevo does not hold it as a live product"}, nil
	}
	req := Product{ID: p.ID, Name: p.Name, URL: p.URL, ImageURL: p.ImageURL, SKU: p.SKU, ParentID: p.ParentID,
		Stock: p.Stock, Categories: append([]string{}, p.Categories...), UpdateEnabled: true}
	if !p.Price.IsZero() {
		price := p.Price
		req.Price = &price
	}
	if req.Name == "" && prev != nil {
		req.Name = prev.Name
	}
	if req.Name == "" {
		return ProductPlan{}, synclayer.Permanent(errors.New("the product has no name, which Brevo requires"))
	}
	switch {
	case p.Deleted:
		req.IsDeleted, req.DeletedAt = ptr(true), FormatTime(p.DeletedAt)
	case prev != nil && prev.IsDeleted != nil && *prev.IsDeleted:
		req.IsDeleted = ptr(false) // restored on the platform
	}
	if prev != nil && sameJSON(*prev, req) {
		return ProductPlan{Op: OpNone, Reason: "nothing the product sync sends has changed"}, nil
	}
	return ProductPlan{Op: OpUpsert, Product: &req}, nil
}

// PlanCategory decides the Brevo call for category c given what Brevo last
// received (prev, nil when never sent). Categories count against Brevo's
// scarce "other" rate-limit bucket, so an unchanged one is never re-sent.
func PlanCategory(c *synclayer.Category, prev *Category) ProductPlan {
	req := Category{ID: c.ID, Name: c.Name, URL: c.URL, UpdateEnabled: true}
	if prev != nil && sameJSON(*prev, req) {
		return ProductPlan{Op: OpNone, Reason: "Brevo holds the category as it is"}
	}
	return ProductPlan{Op: OpUpsert, Category: &req}
}

// Handle brings the job's product or category up to date in Brevo, from
// its state when the job runs. A missing record is permanent.
func (s *ProductCatalog) Handle(ctx context.Context, job *synclayer.Job) (*synclayer.SyncState, *synclayer.TraceEntry, error) {
	if id, ok := strings.CutPrefix(job.RecordKey, "category:"); ok {
		return s.handleCategory(ctx, id)
	}
	p, err := s.Store.FindProductByID(ctx, job.RecordKey)
	if synclayer.ErrorCode(err) == synclayer.ENOTFOUND {
		return nil, nil, synclayer.Permanent(fmt.Errorf("product %s no longer exists", job.RecordKey))
	}
	if err != nil {
		return nil, nil, err
	}
	var prev *Product
	if err := loadState(ctx, s.Store, ProductStateKey(p.ID), &prev); err != nil {
		return nil, nil, err
	}
	plan, err := PlanProduct(p, prev)
	if err != nil {
		return nil, nil, err
	}
	summary, sent := "brevo: no call ("+plan.Reason+")", prev
	if plan.Op == OpUpsert {
		created, err := s.Client.UpsertProduct(ctx, *plan.Product)
		if err != nil {
			return nil, nil, err
		}
		summary = "brevo: POST /products → 204 updated"
		if created {
			summary = "brevo: POST /products → 201 created"
		}
		if plan.Product.IsDeleted != nil && *plan.Product.IsDeleted {
			summary += " (marked deleted)"
		}
		sent = plan.Product
	}
	return record(ProductStateKey(p.ID), p.ID, p.ID, sent, plan, summary, p.Version)
}

func (s *ProductCatalog) handleCategory(ctx context.Context, id string) (*synclayer.SyncState, *synclayer.TraceEntry, error) {
	c, err := s.Store.FindCategoryByID(ctx, id)
	if synclayer.ErrorCode(err) == synclayer.ENOTFOUND {
		return nil, nil, synclayer.Permanent(fmt.Errorf("category %s no longer exists", id))
	}
	if err != nil {
		return nil, nil, err
	}
	key := synclayer.CategoryKey(id)
	var prev *Category
	if err := loadState(ctx, s.Store, key, &prev); err != nil {
		return nil, nil, err
	}
	plan := PlanCategory(c, prev)
	summary, sent := "brevo: no call ("+plan.Reason+")", prev
	if plan.Op == OpUpsert {
		created, err := s.Client.UpsertCategory(ctx, *plan.Category)
		if err != nil {
			return nil, nil, err
		}
		summary = "brevo: POST /categories → 204 updated"
		if created {
			summary = "brevo: POST /categories → 201 created"
		}
		sent = plan.Category
	}
	return record(key, id, key, sent, plan, summary, c.Version)
}

// record returns what Brevo now holds and the delivery's trace entry,
// which goes under the job's record key, as the queue's failure entries
// do: products belong to no contact.
func record(key, remoteID, traceKey string, sent any, plan ProductPlan, summary string, version int64) (*synclayer.SyncState, *synclayer.TraceEntry, error) {
	state, _ := json.Marshal(sent)
	detail, _ := json.Marshal(map[string]any{"destination": "brevo", "plan": plan, "version": version})
	return &synclayer.SyncState{RecordKey: key, Destination: "brevo", RemoteID: remoteID, State: state},
		&synclayer.TraceEntry{ContactID: traceKey, Kind: synclayer.TraceDelivery, Summary: summary, Detail: detail}, nil
}
