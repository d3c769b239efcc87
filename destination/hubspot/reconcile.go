package hubspot

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"time"

	"synclayer"
	"synclayer/normalize"
)

var _ synclayer.Reconciler = (*Destination)(nil)

// reconcileOverlap is how far before a pass's start the next pass begins
// reading: HubSpot's search index lags a change by seconds, and what is
// read twice changes nothing the second time.
const reconcileOverlap = 2 * time.Minute

// ReconcileInterval is webhook.reconcile_interval in effect; 0 is off.
func (d *Destination) ReconcileInterval() time.Duration { return d.reconcile }

// reconcileCursor is where a reconciliation stands: the search's lower
// bound on lastmodifieddate, the page token inside it, and where the
// next pass starts.
type reconcileCursor struct {
	Since time.Time `json:"since"`
	After string    `json:"after,omitempty"`
	Next  time.Time `json:"next,omitzero"`
}

func (c reconcileCursor) String() string { return string(mustJSON(c)) }

// Reconcile searches the contacts HubSpot modified since the cursor
// (lastmodifieddate GTE, oldest first, SearchPageSize a page) and
// returns, for each one with an address, its lifecyclestage and
// hubspot_owner_id as a customer_updated from the destination, dated at
// its lastmodifieddate: the fields a CRM owns, whose webhook may have
// been lost. Other mapped properties are not read back this way: a
// record's lastmodifieddate is not the time of each property, and
// HubSpot may still hold synclayer's older copy of a field changed since.
// A query stops short of HubSpot's 10,000 results: the next one starts
// from the last page's lastmodifieddate.
func (d *Destination) Reconcile(ctx context.Context, cursor string, now time.Time, _ synclayer.SyncStateReader) ([]*synclayer.Event, string, bool, error) {
	if d.reconcile == 0 {
		return nil, cursor, false, synclayer.FieldErrorf("webhook.reconcile_interval", "is off for destinations.%s, so there is nothing to reconcile", d.name)
	}
	var cur reconcileCursor
	if cursor != "" {
		if err := json.Unmarshal([]byte(cursor), &cur); err != nil {
			return nil, cursor, false, fmt.Errorf("hubspot: decode the reconciliation cursor: %w", err)
		}
	}
	now = now.UTC()
	if cur.Since.IsZero() {
		cur.Since = now.Add(-d.reconcile)
	}
	if cur.Next.IsZero() { // the pass's first page
		cur.Next = now.Add(-reconcileOverlap)
		if cur.Next.Before(cur.Since) {
			cur.Next = cur.Since
		}
	}
	page, err := d.client.SearchContacts(ctx, SearchRequest{Since: cur.Since, After: cur.After, Limit: SearchPageSize,
		Properties: []string{"email", "lastmodifieddate", PropertyLifecycleStage, PropertyOwner}})
	if err != nil {
		if s := synclayer.HTTPStatus(err); s == http.StatusUnauthorized || s == http.StatusForbidden {
			return nil, cursor, false, synclayer.Permanent(fmt.Errorf("%w: %w", &synclayer.Error{Code: synclayer.EUNAUTHORIZED, Field: "access_token",
				Message: fmt.Sprintf("HubSpot refused destinations.%s.access_token (%d) when reconciling: it needs the crm.objects.contacts.read scope", d.name, s)}, err))
		}
		return nil, cursor, false, fmt.Errorf("reconcile: %w", err)
	}
	var events []*synclayer.Event
	var last time.Time
	for _, o := range page.Results {
		at, err := time.Parse(time.RFC3339Nano, o.Properties["lastmodifieddate"])
		if err != nil {
			continue // no time to date the change by
		}
		last = at
		if ev := reconcileEvent(d.name, o, at, now); ev != nil {
			events = append(events, ev)
		}
	}
	next := cur
	switch after := page.NextAfter(); {
	case after == "":
		return events, reconcileCursor{Since: cur.Next}.String(), false, nil
	case offsetOf(after)+SearchPageSize > MaxSearchResults && !last.IsZero():
		next.Since, next.After = last, "" // a new query from where this one ended
	default:
		next.After = after
	}
	return events, next.String(), true, nil
}

func offsetOf(after string) int {
	n, _ := strconv.Atoi(after)
	return n
}

// reconcileEvent is what a searched contact says of its CRM fields, or
// nil. A stage that is not one of HubSpot's defaults, and an empty owner,
// are left out: a read cannot tell a clear from a value never set.
func reconcileEvent(name string, o Object, at, now time.Time) *synclayer.Event {
	email, err := normalize.Email(o.Properties["email"])
	if err != nil || email == "" {
		return nil
	}
	fields := map[string]json.RawMessage{}
	if st, err := synclayer.ParseLifecycleStage(PropertyLifecycleStage, mustJSON(o.Properties[PropertyLifecycleStage])); err == nil {
		fields[synclayer.FieldLifecycleStage] = mustJSON(string(st))
	}
	if owner := o.Properties[PropertyOwner]; owner != "" {
		fields[synclayer.FieldOwner] = mustJSON(owner)
	}
	if len(fields) == 0 {
		return nil
	}
	key := dedupeKey("reconcile", o.ID, o.Properties[PropertyLifecycleStage], o.Properties[PropertyOwner], at.Format(time.RFC3339Nano))
	fields[synclayer.FieldEmail] = mustJSON(email)
	return &synclayer.Event{Source: name, Topic: "reconcile", Type: synclayer.EventCustomerUpdated, OccurredAt: at, ReceivedAt: now,
		DedupeKey: key, Customer: &synclayer.CustomerChange{SourceID: o.ID, Fields: fields}}
}
