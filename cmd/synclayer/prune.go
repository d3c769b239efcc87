package main

import (
	"context"
	"time"
)

// pruneBatch is how many rows one prune transaction deletes: short enough
// that SQLite's single writer is free again within milliseconds, so
// ingest goes on while a backfill's history goes.
const pruneBatch = 1000

// startPrune deletes, every hour, the events and trace entries older than
// storage.retention (store.DB.PruneHistory); across instances sharing a
// store one of them prunes each hour. With retention off it does nothing.
func (m *Main) startPrune() {
	keep := m.Config.Storage.retention
	if keep <= 0 {
		m.Logger.Info("retention is off: events and trace entries are kept")
		return
	}
	m.Logger.Info("pruning started", "retention", keep.String(), "every", time.Hour.String())
	m.everyWindow("prune", time.Hour, false, func(ctx context.Context) { m.prune(ctx, time.Now()) })
}

// prune deletes the events and trace entries older than storage.retention
// at now, logging how many; with retention off it does nothing.
func (m *Main) prune(ctx context.Context, now time.Time) (events, trace int, err error) {
	keep := m.Config.Storage.retention
	if keep <= 0 {
		return 0, 0, nil
	}
	before := now.Add(-keep)
	events, trace, err = m.DB.PruneHistory(ctx, before, pruneBatch)
	switch {
	case err != nil && ctx.Err() != nil: // stopping: the rest goes next time
	case err != nil:
		m.Logger.Warn("pruning stopped; the rest goes next hour", "events", events, "trace", trace, "before", before.UTC().Format(time.RFC3339), "err", err)
	case events > 0 || trace > 0:
		m.Logger.Info("pruned", "events", events, "trace", trace, "before", before.UTC().Format(time.RFC3339))
	}
	return events, trace, err
}
