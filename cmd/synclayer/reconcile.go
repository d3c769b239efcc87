package main

import (
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"strconv"
	"time"

	"synclayer"
)

// reconcileCheckpoint names the stored cursor of destination's
// reconciliation.
func reconcileCheckpoint(destination string) string { return "reconcile:" + destination }

// startReconcile runs, for each destination that can list what changed
// on its side (synclayer.Reconciler) and is asked to, a loop that
// every ReconcileInterval reads the changes since its stored cursor and
// ingests them, so an opt-out whose webhook was lost still arrives within
// the interval. Across instances sharing a store one of them reconciles
// each window: the window's key is taken once (AddKey).
func (m *Main) startReconcile() {
	for _, name := range sortedNames(m.destinations) {
		r, ok := m.destinations[name].(synclayer.Reconciler)
		if !ok || r.ReconcileInterval() <= 0 {
			continue
		}
		every := r.ReconcileInterval()
		m.Logger.Info("reconciliation started", "destination", name, "every", every.String())
		m.everyWindow("reconcile:"+name, every, false, func(ctx context.Context) {
			if n, err := m.reconcile(ctx, name, r); err != nil {
				m.Logger.Warn("reconciliation stopped; it goes on from the stored cursor next time", "destination", name, "events", n, "err", err)
			} else if n > 0 {
				m.Logger.Info("reconciled", "destination", name, "events", n)
			}
		})
	}
}

// everyWindow runs run once in each window of every (and at once, with
// atStart), until the program stops. Across instances sharing a store one
// of them runs each window: the window's key (key:<unix start>) is taken
// once (AddKey); a window another instance took, or one whose key the
// store could not record, is left to the next.
func (m *Main) everyWindow(key string, every time.Duration, atStart bool, run func(ctx context.Context)) {
	ctx, cancel := context.WithCancel(context.Background())
	m.addCancel(cancel)
	m.wg.Add(1)
	go func() {
		defer m.wg.Done()
		for first := true; ; first = false {
			if !first || !atStart {
				// A little jitter, so instances started together do not
				// all wake at the window's start.
				wait := time.Until(time.Now().Truncate(every).Add(every)) + rand.N(every/20+1)
				select {
				case <-ctx.Done():
					return
				case <-time.After(wait):
				}
			}
			window := time.Now().Truncate(every)
			mine := false
			err := m.DB.NotificationTx(ctx, func(tx synclayer.NotificationTx) (err error) {
				mine, err = tx.AddKey(ctx, key+":"+strconv.FormatInt(window.Unix(), 10), time.Now())
				return err
			})
			if err == nil && mine {
				run(ctx)
			}
		}
	}()
}

// reconcile reads destination's changes since its stored cursor, page by
// page, ingesting each page before storing the cursor after it, so a
// crash reads a page again (its events are deduplicated) and never skips
// one. It returns how many events it ingested.
func (m *Main) reconcile(ctx context.Context, name string, r synclayer.Reconciler) (int, error) {
	var cursor string
	switch cp, err := m.DB.FindCheckpoint(ctx, reconcileCheckpoint(name)); {
	case synclayer.ErrorCode(err) == synclayer.ENOTFOUND:
	case err != nil:
		return 0, err
	default:
		if err := json.Unmarshal(cp.Detail, &cursor); err != nil {
			return 0, fmt.Errorf("decode the stored reconciliation cursor: %w", err)
		}
	}
	total := 0
	for page := 0; ; page++ {
		events, next, more, err := r.Reconcile(ctx, cursor, time.Now(), m.DB)
		if err != nil {
			return total, err
		}
		for _, ev := range events {
			ev.Source = name // as a webhook delivery's events carry it
		}
		if len(events) > 0 {
			if _, err := m.Ingester.Ingest(ctx, events); err != nil {
				return total, err
			}
			total += len(events)
		}
		detail, _ := json.Marshal(next)
		if err := m.DB.SaveCheckpoint(ctx, &synclayer.Checkpoint{Name: reconcileCheckpoint(name), Position: int64(page + 1), Detail: detail, UpdatedAt: time.Now()}); err != nil {
			return total, err
		}
		cursor = next
		if !more {
			return total, nil
		}
	}
}
