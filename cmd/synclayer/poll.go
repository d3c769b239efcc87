package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"time"

	"synclayer"
	"synclayer/skill"
)

// pollCheckpoint names the stored cursor of source's listing of kind.
func pollCheckpoint(source, kind string) string { return "poll:" + source + ":" + kind }

// startPolls runs, for each source that lists its changes on a schedule
// (synclayer.Poller, with a PollInterval), a loop that polls once at
// start and then every interval: each kind its skills need is listed
// from its stored cursor and ingested, so a store that sends no webhooks
// (Magento Open Source) still reaches every destination within the
// interval. Across instances sharing a store one of them polls each
// window: the window's key is taken once (AddKey), as reconcile does.
func (m *Main) startPolls() {
	for _, name := range sortedNames(m.sources) {
		p, ok := m.sources[name].(synclayer.Poller)
		if !ok || p.PollInterval() <= 0 || len(p.ListKinds()) == 0 {
			continue
		}
		every := p.PollInterval()
		m.Logger.Info("polling started", "source", name, "every", every.String(), "kinds", m.pollKinds(name, p))
		m.everyWindow("poll:"+name, every, true, func(ctx context.Context) { m.pollSource(ctx, name, p) })
	}
}

// pollSource lists each kind the skills need once, from its cursor, and
// logs what it did. A kind that stops (the platform refused, the store
// is down) does not keep the others from being read.
func (m *Main) pollSource(ctx context.Context, name string, p synclayer.Poller) {
	for _, kind := range m.pollKinds(name, p) {
		n, err := m.poll(ctx, name, kind, p)
		switch {
		case err != nil && ctx.Err() != nil:
			return
		case err != nil:
			m.Logger.Warn("polling stopped; it goes on from the stored cursor next time", "source", name, "kind", kind, "events", n, "err", err)
		case n > 0:
			m.Logger.Info("polled", "source", name, "kind", kind, "events", n)
		}
	}
}

// pollKinds are what source lists: of its ListKinds, those an enabled
// skill taking events from it needs (customer-sync customers,
// order-events orders, product-catalog products, cart-events carts).
// customer-sync is read as it runs now, since the admin API can change it.
func (m *Main) pollKinds(source string, p synclayer.Poller) []string {
	var need []string
	m.skills.mu.RLock()
	cs := m.skills.cfg
	m.skills.mu.RUnlock()
	if cs != nil && cs.Enabled && slices.Contains(cs.Source, source) {
		need = append(need, synclayer.ListCustomers)
	}
	for _, s := range m.Config.commerceSkills() {
		if s.enabled() && slices.Contains(s.cfg.Source, source) {
			switch s.name {
			case skill.OrderEventsName:
				need = append(need, synclayer.ListOrders)
			case skill.ProductCatalogName:
				need = append(need, synclayer.ListProducts)
			}
		}
	}
	if cc := m.Config.Skills.CartEvents; cc.enabled() && slices.Contains(cc.Source, source) {
		need = append(need, synclayer.ListCarts)
	}
	var kinds []string
	for _, k := range p.ListKinds() {
		if slices.Contains(need, k) {
			kinds = append(kinds, k)
		}
	}
	return kinds
}

// poll reads source's kind from its stored cursor (or from PollStart, the
// first time) page by page (listInto). It returns how many new events it
// ingested (a listing reads its last seconds again: those are
// duplicates). A rate limit is waited out up to the interval.
func (m *Main) poll(ctx context.Context, name, kind string, p synclayer.Poller) (int, error) {
	c, err := m.listInto(ctx, name, pollCheckpoint(name, kind), kind, p, p.PollStart, p.PollInterval())
	return c.New, err
}

// listCounts is what one listing into ingest did.
type listCounts struct {
	Read    int // records listed
	New     int // of them, events not read before (another update time)
	Applied int // of them, events that changed the canonical record
	Failed  int // records the API returned that could not be read
}

// listStart returns where the first listing under cpName starts: the
// time start gave the first time it was asked, stored, so a first
// listing that fails before its first page is committed (a crash, the
// store's API down) starts again from the same time, not from a later
// one that would skip the changes made in between.
func (m *Main) listStart(ctx context.Context, cpName string, start func(now time.Time) time.Time) (time.Time, error) {
	name := cpName + ":start"
	switch cp, err := m.DB.FindCheckpoint(ctx, name); {
	case err == nil:
		var at time.Time
		if err := json.Unmarshal(cp.Detail, &at); err != nil {
			return at, fmt.Errorf("decode the stored listing start %s: %w", name, err)
		}
		return at, nil
	case synclayer.ErrorCode(err) != synclayer.ENOTFOUND:
		return time.Time{}, err
	}
	at := start(time.Now())
	detail, _ := json.Marshal(at)
	return at, m.DB.SaveCheckpoint(ctx, &synclayer.Checkpoint{Name: name, Detail: detail, UpdatedAt: time.Now()})
}

// listInto lists source's kind from the cursor stored under cpName (or,
// the first time, from listStart's time) page by page, ingesting each
// page before storing the cursor after it, so a crash reads a page again
// (its events are deduplicated) and never skips one. The events carry
// the block's name as a webhook delivery's do. A rate limit is waited
// out (what Retry-After asks, up to maxWait, five times a page at most)
// and the page asked again; any other error stops the listing, to go on
// from the stored cursor next time. Polling and the source
// reconciliation both list this way.
func (m *Main) listInto(ctx context.Context, name, cpName, kind string, l synclayer.Lister, start func(now time.Time) time.Time, maxWait time.Duration) (listCounts, error) {
	var c listCounts
	req := synclayer.ListRequest{Kind: kind}
	var position int64
	switch cp, err := m.DB.FindCheckpoint(ctx, cpName); {
	case synclayer.ErrorCode(err) == synclayer.ENOTFOUND:
		if req.Since, err = m.listStart(ctx, cpName, start); err != nil {
			return c, err
		}
	case err != nil:
		return c, err
	default:
		if err := json.Unmarshal(cp.Detail, &req.Cursor); err != nil {
			return c, fmt.Errorf("decode the stored listing cursor %s: %w", cpName, err)
		}
		position = cp.Position
	}
	waits := 0
	for {
		page, err := l.List(ctx, req)
		var ra *synclayer.RetryAfterError
		if errors.As(err, &ra) && ra.Throttled && ra.After <= maxWait && waits < 5 {
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
			// only the fields are logged; the messages are kept with the
			// rejected webhooks, for inspection (GET /api/v1/rejections,
			// and the dashboard's connections page).
			m.Logger.Warn("records the source's API returned could not be read; they are skipped (see the rejections)", "source", name, "kind", kind, "records", len(page.Failed), "fields", fields)
			for _, f := range page.Failed {
				rej := &synclayer.Rejection{Source: name, ReceivedAt: time.Now().UTC(), Status: http.StatusUnprocessableEntity,
					Code: synclayer.ErrorCode(f), Message: "listed " + kind + ": " + synclayer.ErrorMessage(f)}
				if err := m.DB.RecordRejection(ctx, rej, 1000); err != nil {
					m.Logger.Warn("record rejection", "err", err)
				}
			}
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
			for _, r := range results {
				if !r.Duplicate {
					c.New++
				}
				if r.Status == synclayer.EventApplied && !r.Duplicate {
					c.Applied++
				}
			}
		}
		position++
		detail, _ := json.Marshal(page.Next)
		if err := m.DB.SaveCheckpoint(ctx, &synclayer.Checkpoint{Name: cpName, Position: position, Detail: detail, UpdatedAt: time.Now()}); err != nil {
			return c, err
		}
		req, waits = synclayer.ListRequest{Kind: kind, Cursor: page.Next}, 0
		if !page.More {
			return c, nil
		}
	}
}
