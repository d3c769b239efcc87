package brevo

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"

	"synclayer"
	"synclayer/skill"
)

// ProductCatalog is the product-catalog skill: canonical products (each
// variant a product with its parentId) to POST /products, and their
// categories to POST /categories, both with updateEnabled. Its jobs are
// keyed by product ID, or by synclayer.CategoryKey for a category.
type ProductCatalog struct {
	Store  synclayer.Store
	Client *Client
	// Destination is the account's name in config; "" means brevo.
	Destination string
	Logger      *slog.Logger
}

// ProductPlan is what a product or category delivery will do.
type ProductPlan struct {
	Op       Op        `json:"op"`
	Product  *Product  `json:"product,omitempty"`
	Category *Category `json:"category,omitempty"`
	Reason   string    `json:"reason,omitempty"`
}

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

// Handle brings the job's product or category up to date in Brevo
// through the shared runner; the batch path hands it categories.
func (s *ProductCatalog) Handle(ctx context.Context, job *synclayer.Job) (*synclayer.SyncState, *synclayer.TraceEntry, error) {
	return (&skill.ProductCatalog{Store: s.Store, Destination: accountName(s.Destination), Sync: productSync{s.Client}}).Handle(ctx, job)
}

// productSync is Brevo's side of product-catalog: POST /products and POST
// /categories, both with updateEnabled.
type productSync struct{ client *Client }

var _ synclayer.ProductSync = productSync{}

func (productSync) Prepare(context.Context) error { return nil }

func (productSync) PlanProduct(p *synclayer.Product, prev json.RawMessage) (*synclayer.Plan, error) {
	var held *Product
	if err := decodeHeld(prev, &held); err != nil {
		return nil, fmt.Errorf("decode Brevo sync state of product %s: %w", p.ID, err)
	}
	plan, err := PlanProduct(p, held)
	if err != nil {
		return nil, err
	}
	if plan.Op != OpUpsert {
		return &synclayer.Plan{Op: synclayer.PlanNone, Reason: plan.Reason, Detail: plan}, nil
	}
	return &synclayer.Plan{Op: synclayer.PlanUpsert, Detail: plan, Next: mustJSON(plan.Product),
		Calls: []synclayer.PlannedCall{{Method: "POST", Path: "/products", Body: plan.Product}}}, nil
}

func (productSync) PlanCategory(c *synclayer.Category, prev json.RawMessage) (*synclayer.Plan, error) {
	var held *Category
	if err := decodeHeld(prev, &held); err != nil {
		return nil, fmt.Errorf("decode Brevo sync state of category %s: %w", c.ID, err)
	}
	plan := PlanCategory(c, held)
	if plan.Op != OpUpsert {
		return &synclayer.Plan{Op: synclayer.PlanNone, Reason: plan.Reason, Detail: plan}, nil
	}
	return &synclayer.Plan{Op: synclayer.PlanUpsert, Detail: plan, Next: mustJSON(plan.Category),
		Calls: []synclayer.PlannedCall{{Method: "POST", Path: "/categories", Body: plan.Category}}}, nil
}

func (s productSync) Apply(ctx context.Context, plan *synclayer.Plan) (string, error) {
	p := plan.Detail.(ProductPlan)
	if p.Category != nil {
		created, err := s.client.UpsertCategory(ctx, *p.Category)
		if err != nil {
			return "", err
		}
		if created {
			return "brevo: POST /categories → 201 created", nil
		}
		return "brevo: POST /categories → 204 updated", nil
	}
	created, err := s.client.UpsertProduct(ctx, *p.Product)
	if err != nil {
		return "", err
	}
	summary := "brevo: POST /products → 204 updated"
	if created {
		summary = "brevo: POST /products → 201 created"
	}
	if p.Product.IsDeleted != nil && *p.Product.IsDeleted {
		summary += " (marked deleted)"
	}
	return summary, nil
}
