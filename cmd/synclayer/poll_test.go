package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"synclayer"
)

// scriptedPoller is a Poller whose pages are scripted: each List answers
// the next step, and records the cursor it was asked for.
type scriptedPoller struct {
	synclayer.Poller // the Magento source it stands in for (Name, Parse)

	mu      sync.Mutex
	steps   []func(req synclayer.ListRequest) (synclayer.ListPage, error)
	cursors []string
	since   []time.Time
	start   time.Time // PollStart's answer; zero: the Magento source's
}

func (p *scriptedPoller) PollStart(now time.Time) time.Time {
	if p.start.IsZero() {
		return p.Poller.PollStart(now)
	}
	return p.start
}

func (p *scriptedPoller) List(_ context.Context, req synclayer.ListRequest) (synclayer.ListPage, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.cursors = append(p.cursors, req.Cursor)
	p.since = append(p.since, req.Since)
	if len(p.steps) == 0 {
		return synclayer.ListPage{Next: req.Cursor}, nil
	}
	step := p.steps[0]
	p.steps = p.steps[1:]
	return step(req)
}

func (p *scriptedPoller) PollInterval() time.Duration { return time.Minute }

func customerPage(next string, more bool, emails ...string) func(synclayer.ListRequest) (synclayer.ListPage, error) {
	return func(synclayer.ListRequest) (synclayer.ListPage, error) {
		page := synclayer.ListPage{Next: next, More: more, Total: -1}
		for _, email := range emails {
			at := time.Date(2026, 11, 20, 10, 0, 0, 0, time.UTC)
			page.Events = append(page.Events, &synclayer.Event{Source: "someone-else", DedupeKey: "scripted:" + email, Topic: "scripted",
				Type: synclayer.EventCustomerUpdated, OccurredAt: at, ReceivedAt: at,
				Customer: &synclayer.CustomerChange{SourceID: email, Fields: map[string]json.RawMessage{synclayer.FieldEmail: json.RawMessage(fmt.Sprintf("%q", email))}}})
		}
		return page, nil
	}
}

// TestPoll_Cursor: each page is ingested before its cursor is stored, so
// a poll stopped by an error goes on next time from the last page it
// ingested; a rate limit is waited out and the page asked again; the
// events carry the source block's name.
func TestPoll_Cursor(t *testing.T) {
	t.Parallel()
	e, _ := startMagento(t, "0")
	p := &scriptedPoller{Poller: e.poller()}
	p.steps = append(p.steps,
		customerPage("c1", true, "poll-a@example.com"),
		func(synclayer.ListRequest) (synclayer.ListPage, error) {
			return synclayer.ListPage{}, synclayer.Throttled(errors.New("429"), 10*time.Millisecond)
		},
		customerPage("c2", true, "poll-b@example.com"),
		func(synclayer.ListRequest) (synclayer.ListPage, error) {
			return synclayer.ListPage{}, synclayer.Permanent(errors.New("refused"))
		},
	)
	ctx := context.Background()
	n, err := e.m.poll(ctx, "magento", synclayer.ListCustomers, p)
	if n != 2 || err == nil || err.Error() != "refused" {
		t.Fatalf("poll: %d events, %v; want 2, then the refusal", n, err)
	}
	p.steps = append(p.steps, customerPage("c3", false, "poll-c@example.com"))
	if n, err := e.m.poll(ctx, "magento", synclayer.ListCustomers, p); n != 1 || err != nil {
		t.Fatalf("the next poll: %d events, %v", n, err)
	}
	if want := []string{"", "c1", "c1", "c2", "c2"}; !slices.Equal(p.cursors, want) {
		t.Errorf("cursors asked %q, want %q (the first poll from PollStart)", p.cursors, want)
	}
	cp, err := e.m.DB.FindCheckpoint(ctx, pollCheckpoint("magento", synclayer.ListCustomers))
	if err != nil || string(cp.Detail) != `"c3"` || cp.Position != 3 {
		t.Errorf("checkpoint %+v %v, want c3 after three pages", cp, err)
	}
	e.waitIdle(30 * time.Second)
	for _, email := range []string{"poll-a@example.com", "poll-b@example.com", "poll-c@example.com"} {
		e.contact(email)
	}
	evs, err := e.m.DB.FindEvents(ctx, synclayer.EventFilter{})
	if err != nil || len(evs) != 3 {
		t.Fatalf("%d events stored (%v), want 3", len(evs), err)
	}
	for _, ev := range evs {
		if ev.Source != "magento" {
			t.Errorf("event %s of source %q, want the block's name magento", ev.DedupeKey, ev.Source)
		}
	}
}

// TestPoll_StartIsKept: a first poll that fails before its first page is
// committed starts again from the same PollStart, not from a later one
// that would skip the changes made in between.
func TestPoll_StartIsKept(t *testing.T) {
	t.Parallel()
	e, _ := startMagento(t, "0")
	first := time.Date(2026, 12, 1, 9, 0, 0, 0, time.UTC)
	p := &scriptedPoller{Poller: e.poller(), start: first}
	p.steps = append(p.steps, func(synclayer.ListRequest) (synclayer.ListPage, error) {
		return synclayer.ListPage{}, errors.New("the store's API is down")
	})
	ctx := context.Background()
	if _, err := e.m.poll(ctx, "magento", synclayer.ListCustomers, p); err == nil {
		t.Fatal("the failing poll reported no error")
	}
	p.start = first.Add(time.Hour) // what PollStart would say an hour later
	p.steps = append(p.steps, customerPage("c1", false, "start-a@example.com"))
	if n, err := e.m.poll(ctx, "magento", synclayer.ListCustomers, p); n != 1 || err != nil {
		t.Fatalf("the second poll: %d events, %v", n, err)
	}
	if len(p.since) != 2 || !p.since[0].Equal(first) || !p.since[1].Equal(first) {
		t.Errorf("listings started at %v, want both at the first PollStart %v", p.since, first)
	}
}

// TestPoll_FailedRecordsAreKept: a listed record that cannot be read is
// skipped, the listing goes on, and its reason is kept with the rejected
// webhooks for inspection.
func TestPoll_FailedRecordsAreKept(t *testing.T) {
	t.Parallel()
	e, _ := startMagento(t, "0")
	p := &scriptedPoller{Poller: e.poller()}
	p.steps = append(p.steps, func(req synclayer.ListRequest) (synclayer.ListPage, error) {
		page, _ := customerPage("c1", false, "kept-a@example.com")(req)
		page.Failed = []error{synclayer.FieldErrorf("items[1].updated_at", "\"yesterday\" is not a time such as 2026-11-20 10:00:00")}
		return page, nil
	})
	ctx := context.Background()
	if n, err := e.m.poll(ctx, "magento", synclayer.ListCustomers, p); n != 1 || err != nil {
		t.Fatalf("poll: %d events, %v; want the readable one", n, err)
	}
	rejs, err := e.m.DB.FindRejections(ctx, 10)
	if err != nil || len(rejs) != 1 {
		t.Fatalf("rejections %+v, %v; want the unreadable record's", rejs, err)
	}
	if r := rejs[0]; r.Source != "magento" || r.Status != 422 || r.Code != synclayer.EINVALID || !strings.Contains(r.Message, "items[1].updated_at") {
		t.Errorf("rejection %+v", r)
	}
}

// TestPoll_Kinds: a source lists only what an enabled skill taking its
// events needs.
func TestPoll_Kinds(t *testing.T) {
	t.Parallel()
	e, _ := startMagento(t, "0")
	if got := e.m.pollKinds("magento", e.poller()); !slices.Equal(got, []string{synclayer.ListCustomers, synclayer.ListOrders, synclayer.ListProducts}) {
		t.Errorf("kinds %v with customer-sync, order-events and product-catalog on magento", got)
	}
	if got := e.m.pollKinds("shopify", e.poller()); !slices.Equal(got, []string{synclayer.ListCustomers}) {
		t.Errorf("kinds %v for shopify, which only customer-sync takes", got)
	}
	if got := e.m.pollKinds("woocommerce-eu", e.poller()); len(got) != 0 {
		t.Errorf("kinds %v for a source no skill takes", got)
	}
}
