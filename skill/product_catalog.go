package skill

import (
	"context"
	"fmt"
	"strings"

	"synclayer"
)

// ProductCatalogName is the skill's name in config, metrics and job rows.
const ProductCatalogName = "product-catalog"

// ProductCatalog runs product-catalog for one destination. Its jobs are
// keyed by product ID, or by synclayer.CategoryKey for a category; the
// trace line goes under the job's key, since products belong to no
// contact.
type ProductCatalog struct {
	Store       synclayer.Store
	Destination string
	Sync        synclayer.ProductSync
}

// IsCategoryJob reports whether a product-catalog job is a category's.
func IsCategoryJob(j *synclayer.Job) bool { return strings.HasPrefix(j.RecordKey, "category:") }

// Handle delivers one product or category job. A missing record is
// permanent.
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
	key := synclayer.ProductStateKey(p.ID)
	prev, err := held(ctx, s.Store, key, s.Destination)
	if err != nil {
		return nil, nil, err
	}
	plan, err := s.Sync.PlanProduct(p, prev)
	if err != nil {
		return nil, nil, err
	}
	return s.run(ctx, plan, key, p.ID, p.ID, prev, p.Version)
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
	prev, err := held(ctx, s.Store, key, s.Destination)
	if err != nil {
		return nil, nil, err
	}
	plan, err := s.Sync.PlanCategory(c, prev)
	if err != nil {
		return nil, nil, err
	}
	return s.run(ctx, plan, key, id, key, prev, c.Version)
}

func (s *ProductCatalog) run(ctx context.Context, plan *synclayer.Plan, key, remoteID, traceKey string, prev []byte, version int64) (*synclayer.SyncState, *synclayer.TraceEntry, error) {
	summary := s.Destination + ": no call (" + plan.Reason + ")"
	if plan.Op != synclayer.PlanNone {
		var err error
		if summary, err = s.Sync.Apply(ctx, plan); err != nil {
			return nil, nil, err
		}
	}
	st, trace := delivered(s.Destination, key, remoteID, traceKey, summary, plan, prev, map[string]any{"version": version})
	return st, trace, nil
}
