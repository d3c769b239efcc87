package batch

import (
	"context"
	"encoding/json"
	"fmt"

	"synclayer"
	"synclayer/destination/brevo"
	"synclayer/skill"
)

// commerceBatch gathers one e-commerce batch call within its count and
// byte limits.
type commerceBatch[T any] struct {
	send     []T
	items    []synclayer.ImportItem
	bytes    int
	maxCount int
	maxBytes int
}

// full reports whether adding an item of size n would break a limit.
func (b *commerceBatch[T]) full(n int) bool {
	return len(b.send) > 0 && (len(b.send)+1 > b.maxCount || b.bytes+n+envelope > b.maxBytes)
}

func (f *Flusher) flushOrders(ctx context.Context) (Stats, error) {
	var st Stats
	b := &commerceBatch[brevo.Order]{maxCount: brevo.MaxOrderBatch, maxBytes: brevo.MaxOrderBatchBytes}
	send := func() {
		if len(b.send) == 0 {
			return
		}
		id, _, err := f.cfg.Client.ImportOrders(ctx, b.send, f.cfg.Historical)
		if err != nil {
			f.failAll(ctx, b.items, err, &st)
		} else if err := f.finishAtOnce(ctx, id, fmt.Sprintf("brevo: POST /orders/status/batch → 202 (batch %s, historical %v)", id, f.cfg.Historical), b.items); err != nil {
			f.cfg.Logger.Warn("recording an order batch failed; its orders are sent again", "err", err)
			st.reason(err.Error())
		} else {
			st.Imported += len(b.items)
			st.Calls++
		}
		b.send, b.items, b.bytes = nil, nil, 0
	}
	for {
		jobs, err := f.claim(ctx, st.Claimed)
		if err != nil {
			return st, err
		}
		if len(jobs) == 0 {
			break
		}
		st.Claimed += len(jobs)
		var unchanged []synclayer.ImportItem
		for _, j := range jobs {
			it, err := f.cfg.Orders.PlanOrderBatch(ctx, j)
			if err != nil {
				f.fail(ctx, j, err, &st)
				continue
			}
			item := synclayer.NewImportItem(j, it.State, it.TraceKey)
			if it.Send == nil {
				unchanged = append(unchanged, item)
				continue
			}
			raw, _ := json.Marshal(it.Send)
			if b.full(len(raw)) {
				send()
			}
			b.send, b.items, b.bytes = append(b.send, *it.Send), append(b.items, item), b.bytes+len(raw)+1
		}
		if err := f.finishAtOnce(ctx, "none", "brevo: no call (batch: Brevo holds the order as it is)", unchanged); err != nil {
			return st, err
		}
		st.Unchanged += len(unchanged)
		if len(jobs) < claimChunk {
			break
		}
	}
	send()
	return st, nil
}

func (f *Flusher) flushProducts(ctx context.Context) (Stats, error) {
	var st Stats
	b := &commerceBatch[brevo.Product]{maxCount: brevo.MaxProductBatch, maxBytes: brevo.MaxImportBytes}
	send := func() {
		if len(b.send) == 0 {
			return
		}
		created, updated, err := f.cfg.Client.UpsertProducts(ctx, b.send)
		if err != nil {
			f.failAll(ctx, b.items, err, &st)
		} else if err := f.finishAtOnce(ctx, "products", fmt.Sprintf("brevo: POST /products/batch → 201 (%d created, %d updated)", created, updated), b.items); err != nil {
			f.cfg.Logger.Warn("recording a product batch failed; its products are sent again", "err", err)
			st.reason(err.Error())
		} else {
			st.Imported += len(b.items)
			st.Calls++
		}
		b.send, b.items, b.bytes = nil, nil, 0
	}
	for {
		jobs, err := f.claim(ctx, st.Claimed)
		if err != nil {
			return st, err
		}
		if len(jobs) == 0 {
			break
		}
		st.Claimed += len(jobs)
		var unchanged []synclayer.ImportItem
		var categories, products []*synclayer.Job
		for _, j := range jobs {
			if skill.IsCategoryJob(j) {
				categories = append(categories, j)
			} else {
				products = append(products, j)
			}
		}
		// Categories first, so the products naming them find them.
		f.realtime(ctx, f.cfg.Products, categories, &st)
		for _, j := range products {
			it, err := f.cfg.Products.PlanProductBatch(ctx, j)
			if err != nil {
				f.fail(ctx, j, err, &st)
				continue
			}
			item := synclayer.NewImportItem(j, it.State, it.TraceKey)
			if it.Send == nil {
				unchanged = append(unchanged, item)
				continue
			}
			raw, _ := json.Marshal(it.Send)
			if b.full(len(raw)) {
				send()
			}
			b.send, b.items, b.bytes = append(b.send, *it.Send), append(b.items, item), b.bytes+len(raw)+1
		}
		if err := f.finishAtOnce(ctx, "none", "brevo: no call (batch: nothing the product sync sends has changed)", unchanged); err != nil {
			return st, err
		}
		st.Unchanged += len(unchanged)
		if len(jobs) < claimChunk {
			break
		}
	}
	send()
	return st, nil
}
