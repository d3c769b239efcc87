package brevo

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"synclayer"
	"synclayer/queue"
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

// commerceFlush is what differs between the order and product flushes.
type commerceFlush[T any] struct {
	what     string // "order", "product": for log lines
	limits   *commerceBatch[T]
	noChange string // the trace summary of a record Brevo holds as it is
	// realtime picks the jobs that go out one by one through handler
	// (categories), before the batch; nil for none.
	realtime func(*synclayer.Job) bool
	handler  queue.Handler
	plan     func(context.Context, *synclayer.Job) (BatchItem[T], error)
	// call sends one batch and returns its ID and trace summary.
	call func(context.Context, []T) (id, summary string, err error)
}

func (f *Flusher) flushOrders(ctx context.Context) (synclayer.BatchStats, error) {
	return flushCommerce(ctx, f, commerceFlush[Order]{
		what:     "order",
		limits:   &commerceBatch[Order]{maxCount: MaxOrderBatch, maxBytes: MaxOrderBatchBytes},
		noChange: "brevo: no call (batch: Brevo holds the order as it is)",
		plan:     f.cfg.Orders.PlanOrderBatch,
		call: func(ctx context.Context, orders []Order) (string, string, error) {
			id, _, err := f.cfg.Client.ImportOrders(ctx, orders, f.cfg.Historical)
			return id, fmt.Sprintf("brevo: POST /orders/status/batch → 202 (batch %s, historical %v)", id, f.cfg.Historical), err
		},
	})
}

func (f *Flusher) flushProducts(ctx context.Context) (synclayer.BatchStats, error) {
	return flushCommerce(ctx, f, commerceFlush[Product]{
		what:     "product",
		limits:   &commerceBatch[Product]{maxCount: MaxProductBatch, maxBytes: MaxImportBytes},
		noChange: "brevo: no call (batch: nothing the product sync sends has changed)",
		realtime: skill.IsCategoryJob, // categories first, so the products naming them find them
		handler:  f.cfg.Products,
		plan:     f.cfg.Products.PlanProductBatch,
		call: func(ctx context.Context, products []Product) (string, string, error) {
			created, updated, err := f.cfg.Client.UpsertProducts(ctx, products)
			return "products", fmt.Sprintf("brevo: POST /products/batch → 201 (%d created, %d updated)", created, updated), err
		},
	})
}

// flushCommerce drains a commerce skill's batch queue: each claimed job is
// planned as realtime would plan it; a record Brevo holds as it is
// completes with no call, the rest go out in batch calls within the
// limits, and each call completes its jobs at once.
func flushCommerce[T any](ctx context.Context, f *Flusher, c commerceFlush[T]) (synclayer.BatchStats, error) {
	var st synclayer.BatchStats
	b := c.limits
	var since time.Time // when the first record of the batch being built was planned
	send := func() {
		if len(b.send) == 0 {
			return
		}
		id, summary, err := c.call(ctx, b.send)
		if err != nil {
			f.failAll(ctx, b.items, err, &st)
		} else if err := f.finishAtOnce(ctx, id, summary, b.items, since); err != nil {
			f.cfg.Logger.Warn("recording a "+c.what+" batch failed; its "+c.what+"s are sent again", "err", err)
			st.Reason(err.Error())
		} else {
			st.Batched += len(b.items)
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
		planned := f.cfg.Now() // before any sync state of the chunk is read
		batched := jobs
		if c.realtime != nil {
			var now []*synclayer.Job
			batched = nil
			for _, j := range jobs {
				if c.realtime(j) {
					now = append(now, j)
				} else {
					batched = append(batched, j)
				}
			}
			f.realtime(ctx, c.handler, now, &st)
		}
		var unchanged []synclayer.ImportItem
		for _, j := range batched {
			it, err := c.plan(ctx, j)
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
			if len(b.send) == 0 {
				since = planned
			}
			b.send, b.items, b.bytes = append(b.send, *it.Send), append(b.items, item), b.bytes+len(raw)+1
		}
		if err := f.finishAtOnce(ctx, "none", c.noChange, unchanged, planned); err != nil {
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
