package brevo

import (
	"context"
	"encoding/json"
	"fmt"

	"synclayer"
)

// PlanProductBatch plans the job's product for POST /products/batch with
// PlanProduct, as Handle does for one product.
func (s *ProductCatalog) PlanProductBatch(ctx context.Context, job *synclayer.Job) (BatchItem[Product], error) {
	p, err := s.Store.FindProductByID(ctx, job.RecordKey)
	if synclayer.ErrorCode(err) == synclayer.ENOTFOUND {
		return BatchItem[Product]{}, synclayer.Permanent(fmt.Errorf("product %s no longer exists", job.RecordKey))
	}
	if err != nil {
		return BatchItem[Product]{}, err
	}
	var prev *Product
	if err := loadState(ctx, s.Store, synclayer.ProductStateKey(p.ID), s.Destination, &prev); err != nil {
		return BatchItem[Product]{}, err
	}
	plan, err := PlanProduct(p, prev)
	if err != nil {
		return BatchItem[Product]{}, err
	}
	item := BatchItem[Product]{TraceKey: p.ID}
	sent := prev
	if plan.Op == OpUpsert {
		item.Send, sent = plan.Product, plan.Product
	}
	state, _ := json.Marshal(sent)
	item.State = &synclayer.SyncState{RecordKey: synclayer.ProductStateKey(p.ID), Destination: accountName(s.Destination), RemoteID: p.ID, State: state}
	return item, nil
}
