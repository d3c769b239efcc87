package faults

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"time"

	"synclayer"
)

// crash is one kill -9 and restart, and what it took to recover.
type crash struct {
	restartAt, readyAt time.Time
	pending, running   map[int64]bool // IDs of the jobs in that state at the kill

	// Set by watchRecovery, under harness.mu; -1 until seen.
	first, firstRunning, all time.Duration
}

// crash kills the server, notes which jobs it held, restarts it, and
// watches those jobs recover.
func (h *harness) crash(ctx context.Context) error {
	start := time.Now()
	h.srv.kill()
	h.fault("kill", start)
	h.rep.Kills++
	h.mark(fmt.Sprintf("kill -9 #%d", h.rep.Kills))
	c := &crash{first: -1, firstRunning: -1, all: -1}
	c.pending, c.running = h.jobsInFlight(ctx)
	c.restartAt = time.Now()
	if err := h.srv.start(ctx); err != nil {
		return fmt.Errorf("restart after kill %d: %w", h.rep.Kills, err)
	}
	c.readyAt = time.Now()
	h.mark("restarted, ready")
	h.mu.Lock()
	h.crashes = append(h.crashes, c)
	h.mu.Unlock()
	h.watchers.Go(func() { h.watchRecovery(h.bg, c) })
	h.o.Logf("kill %d: %d pending, %d running at the kill; ready after %s", h.rep.Kills, len(c.pending), len(c.running), short(c.readyAt.Sub(c.restartAt)))
	return nil
}

// jobsInFlight returns the IDs of the jobs pending and running. It reads
// the jobs table directly: the store's FindJobs lists at most 1,000, and a
// saturated queue holds more.
func (h *harness) jobsInFlight(ctx context.Context) (pending, running map[int64]bool) {
	pending, running = map[int64]bool{}, map[int64]bool{}
	rows, err := h.sql.QueryContext(ctx, "SELECT id, state FROM jobs WHERE state IN ('pending', 'running')")
	if err != nil {
		h.o.Logf("list jobs in flight: %v", err)
		return pending, running
	}
	defer rows.Close()
	for rows.Next() {
		var id int64
		var state string
		if rows.Scan(&id, &state) == nil {
			if synclayer.JobState(state) == synclayer.JobRunning {
				running[id] = true
			} else {
				pending[id] = true
			}
		}
	}
	return pending, running
}

// stillInFlight returns which of ids are still pending or running, or nil
// when the database cannot be read (during a PostgreSQL restart).
func (h *harness) stillInFlight(ctx context.Context, ids []int64) map[int64]bool {
	live := map[int64]bool{}
	for len(ids) > 0 {
		chunk := ids[:min(len(ids), 500)]
		ids = ids[len(chunk):]
		list := make([]string, len(chunk))
		for i, id := range chunk {
			list[i] = strconv.FormatInt(id, 10)
		}
		rows, err := h.sql.QueryContext(ctx, "SELECT id FROM jobs WHERE state IN ('pending', 'running') AND id IN ("+strings.Join(list, ",")+")")
		if err != nil {
			return nil
		}
		for rows.Next() {
			var id int64
			if rows.Scan(&id) == nil {
				live[id] = true
			}
		}
		rows.Close()
	}
	return live
}

// watchRecovery polls the queue until every job that was pending or
// running at the kill has left those states: delivered, or (for a running
// job whose lease expired) absorbed by a pending job for the same contact.
// A running job cannot leave before its dead worker's lease expires.
func (h *harness) watchRecovery(ctx context.Context, c *crash) {
	total := len(c.pending) + len(c.running)
	left := map[int64]bool{}
	for len(left) < total && time.Since(c.restartAt) < time.Minute && ctx.Err() == nil {
		var waiting []int64
		for _, set := range []map[int64]bool{c.pending, c.running} {
			for id := range set {
				if !left[id] {
					waiting = append(waiting, id)
				}
			}
		}
		live := h.stillInFlight(ctx, waiting)
		if live == nil {
			time.Sleep(100 * time.Millisecond)
			continue
		}
		since := time.Since(c.restartAt)
		h.mu.Lock()
		for _, set := range []map[int64]bool{c.pending, c.running} {
			for id := range set {
				if live[id] || left[id] {
					continue
				}
				left[id] = true
				if c.first < 0 {
					c.first = since
				}
				if c.running[id] && c.firstRunning < 0 {
					c.firstRunning = since
				}
			}
		}
		if len(left) == total {
			c.all = since
		}
		h.mu.Unlock()
		time.Sleep(100 * time.Millisecond)
	}
}

func (h *harness) recoveries() []Recovery {
	h.mu.Lock()
	defer h.mu.Unlock()
	var out []Recovery
	for _, c := range h.crashes {
		out = append(out, Recovery{AtKill: len(c.pending) + len(c.running), Running: len(c.running), Ready: c.readyAt.Sub(c.restartAt),
			First: c.first, FirstRunning: c.firstRunning, All: c.all})
	}
	return out
}
