package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"time"

	"synclayer"
)

// sourceReconcileCheckpoint names the stored listing cursor of source's
// reconciliation.
func sourceReconcileCheckpoint(source string) string { return "reconcile-source:" + source }

// sourceReconcileCounts is what one reconciliation of a source did.
type sourceReconcileCounts struct {
	Read    int // customers listed
	New     int // of them, events not read before (another update time)
	Applied int // of them, events that changed the canonical contact
	Failed  int // records the API returned that could not be read
}

// startSourceReconcile runs, for each source that asks to be reconciled
// (synclayer.SourceReconciler, with a ReconcileInterval) and lists
// customers, a loop that every interval lists the customers updated since
// the last pass and ingests them, so a change whose webhook never came (a
// subscription the platform removed, an outage) still arrives within the
// interval. A Poller that polls is left out: polling reads the same
// changes more often. Across instances sharing a store one of them
// reconciles each window (everyWindow).
func (m *Main) startSourceReconcile() {
	for _, name := range sortedNames(m.sources) {
		r, ok := m.sources[name].(synclayer.SourceReconciler)
		if !ok || r.ReconcileInterval() <= 0 || !slices.Contains(r.ListKinds(), synclayer.ListCustomers) {
			continue
		}
		if p, ok := r.(synclayer.Poller); ok && p.PollInterval() > 0 {
			continue
		}
		every := r.ReconcileInterval()
		m.Logger.Info("source reconciliation started", "source", name, "every", every.String())
		m.everyWindow("reconcile-source:"+name, every, false, func(ctx context.Context) {
			// customer-sync is read as it runs now: the admin API can
			// enable it, or take the source off it, after the start.
			if !m.customersFrom(name) {
				return
			}
			c, err := m.reconcileSource(ctx, name, r, time.Now())
			switch {
			case err != nil && ctx.Err() != nil:
			case err != nil:
				m.Logger.Warn("source reconciliation stopped; it goes on from the stored cursor next time", "source", name,
					"read", c.Read, "new", c.New, "applied", c.Applied, "err", err)
			default:
				m.Logger.Info("reconciled source", "source", name, "read", c.Read, "new", c.New, "applied", c.Applied, "failed", c.Failed)
			}
		})
	}
}

// customersFrom reports whether customer-sync, as it runs now, takes
// source's events.
func (m *Main) customersFrom(source string) bool {
	m.skills.mu.RLock()
	cs := m.skills.cfg
	m.skills.mu.RUnlock()
	return cs != nil && cs.Enabled && slices.Contains(cs.Source, source)
}

// reconcileSource lists source's customers updated since its stored
// cursor (the first time: since now less the interval) page by page,
// ingesting each page before storing the cursor after it, as poll does:
// a crash reads a page again and never skips one. The events carry the
// block's name as a webhook's do; their dedupe keys (kind, id, update
// time) and ingest's newer-wins make a customer whose webhook came count
// once. A rate limit is waited out (up to a minute, five times a page at
// most) and the page asked again; any other error stops the pass.
func (m *Main) reconcileSource(ctx context.Context, name string, r synclayer.SourceReconciler, now time.Time) (sourceReconcileCounts, error) {
	var c sourceReconcileCounts
	cpName := sourceReconcileCheckpoint(name)
	req := synclayer.ListRequest{Kind: synclayer.ListCustomers}
	var position int64
	switch cp, err := m.DB.FindCheckpoint(ctx, cpName); {
	case synclayer.ErrorCode(err) == synclayer.ENOTFOUND:
		req.Since = now.Add(-r.ReconcileInterval())
	case err != nil:
		return c, err
	default:
		if err := json.Unmarshal(cp.Detail, &req.Cursor); err != nil {
			return c, fmt.Errorf("decode the stored reconciliation cursor %s: %w", cpName, err)
		}
		position = cp.Position
	}
	waits := 0
	for {
		page, err := r.List(ctx, req)
		var ra *synclayer.RetryAfterError
		if errors.As(err, &ra) && ra.Throttled && ra.After <= time.Minute && waits < 5 {
			waits++
			select {
			case <-ctx.Done():
				return c, ctx.Err()
			case <-time.After(ra.After):
			}
			continue
		}
		if err != nil {
			return c, err
		}
		if len(page.Failed) > 0 {
			c.Failed += len(page.Failed)
			fields := make([]string, 0, len(page.Failed))
			for _, f := range page.Failed {
				var e *synclayer.Error
				if errors.As(f, &e) && e.Field != "" {
					fields = append(fields, e.Field)
				}
			}
			// The messages may quote a record's values (an email), so
			// only the fields are logged.
			m.Logger.Warn("records the source's API returned could not be read; they are skipped", "source", name, "kind", req.Kind, "records", len(page.Failed), "fields", fields)
		}
		for _, ev := range page.Events {
			ev.Source = name
		}
		if len(page.Events) > 0 {
			results, err := m.Ingester.Ingest(ctx, page.Events)
			if err != nil {
				return c, err
			}
			c.Read += len(page.Events)
			for _, res := range results {
				if !res.Duplicate {
					c.New++
				}
				if res.Status == synclayer.EventApplied {
					c.Applied++
				}
			}
		}
		position++
		detail, _ := json.Marshal(page.Next)
		if err := m.DB.SaveCheckpoint(ctx, &synclayer.Checkpoint{Name: cpName, Position: position, Detail: detail, UpdatedAt: time.Now()}); err != nil {
			return c, err
		}
		req, waits = synclayer.ListRequest{Kind: synclayer.ListCustomers, Cursor: page.Next}, 0
		if !page.More {
			return c, nil
		}
	}
}
