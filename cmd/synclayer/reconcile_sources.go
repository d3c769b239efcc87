package main

import (
	"context"
	"slices"
	"time"

	"synclayer"
)

// sourceReconcileCheckpoint names the stored listing cursor of source's
// reconciliation.
func sourceReconcileCheckpoint(source string) string { return "reconcile-source:" + source }

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
// cursor (the first time: since the interval before the first pass) page
// by page, as polling does (listInto): a crash reads a page again and
// never skips one. Their dedupe keys (kind, id, update time) and
// ingest's newer-wins make a customer whose webhook came count once. A
// rate limit is waited out up to a minute.
func (m *Main) reconcileSource(ctx context.Context, name string, r synclayer.SourceReconciler, now time.Time) (listCounts, error) {
	every := r.ReconcileInterval()
	return m.listInto(ctx, name, sourceReconcileCheckpoint(name), synclayer.ListCustomers, r,
		func(time.Time) time.Time { return now.Add(-every) }, time.Minute)
}
