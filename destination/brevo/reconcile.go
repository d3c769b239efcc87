package brevo

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"synclayer"
	"synclayer/normalize"
)

const (
	// reconcilePage is the contacts per page of Reconcile's reads: half of
	// Brevo's maximum, so one answer (every attribute of every contact)
	// stays a few megabytes, well inside the client's 15 s timeout.
	reconcilePage = MaxContactPage / 2
	// reconcileOverlap is how far before a pass's start the next pass
	// begins reading: it covers a change Brevo lists a little after it
	// made it, and one made in the same millisecond as the pass started.
	// What it reads twice has the same dedupe keys.
	reconcileOverlap = 2 * time.Minute
	// maxAnchors caps the contacts of a page the cursor remembers (anchors).
	maxAnchors = 10
	// reconcileTopic is the Topic of Reconcile's events.
	reconcileTopic = "reconcile"
	// smsPlaceholder is the domain of the address Brevo gives a contact
	// known only by its SMS number (33058407248@mailin-sms.com in the
	// spec's GET /contacts example): no one's email.
	smsPlaceholder = "@mailin-sms.com"
)

// ReconcileInterval is webhook.reconcile_interval: 15m by default when the
// section has a webhook block, 0 when it is off or there is no block.
func (d *Destination) ReconcileInterval() time.Duration { return d.reconcile }

// Reconcile reads one page of the contacts Brevo changed since the cursor
// (GET /contacts?modifiedSince, oldest created first) and returns an
// opt-out for each that Brevo blocklists, for the unsubscribes, bounces
// and complaints whose webhook was lost, or that no webhook reports (a
// blocklisting by hand or by import).
//
// Each contact blocklisted for email or SMS is one customer_updated event
// of source the destination's name, topic "reconcile", at its modifiedAt:
// an email (or SMS) opt-out at that time, the contact named by its email,
// or by its SMS number when Brevo holds only a placeholder address. It is
// customer_updated, as contact_updated's blocklisting is, rather than an
// unsubscribe activity: a state read back cannot tell an unsubscribe from a
// bounce, a complaint or a block by hand, and the same blocklisted contact
// is read again after any later change to it, where an activity would run
// its workflows each time. Nothing else becomes an event, and never an
// opt-in: a list membership or a lifted block may be synclayer's own
// earlier write. The dedupe key is the SHA-256 hex of "reconcile", the
// identity ("email:<address>" or "phone:<E.164>"), modifiedAt in Unix
// milliseconds and the channels ("email", "sms" or "email,sms"): a contact
// read twice counts once, and one changed again later is a new event.
//
// Brevo sorts by creation only, so the cursor is not a modifiedAt to resume
// from. A pass reads every contact modified after since, page by page by
// offset, with since fixed; the cursor carries since, the offset, the IDs
// of the page's last contacts, and the since of the next pass: the start of
// this one (the earlier of now and Brevo's Date header at its first page)
// less reconcileOverlap. Nothing is skipped: a contact changed during the
// pass stays where it was in the creation order and is read there, or was
// read already and is read again by the next pass, which starts before
// the change; a contact changed for the first time joins the list and
// shifts the rest on, which the remembered IDs detect, so none is read
// twice; when none of them is found (contacts deleted meanwhile shifted the
// rest back), the pass starts over, reading again rather than skipping.
// On the first run ("") since is now less the interval.
//
// Each read takes at most half of the contacts bucket's budget, waiting
// for the rest (limiter.acquireSpare), so reconciliation never takes the
// requests deliveries need; they share the client's limiter. A 429 is a
// synclayer.RetryAfter error; a 401 or 403 a permanent EUNAUTHORIZED one
// naming api_key; a cursor that does not parse a permanent EINVALID one.
// On an error the cursor is not advanced.
func (d *Destination) Reconcile(ctx context.Context, cursor string, now time.Time, known synclayer.SyncStateReader) ([]*synclayer.Event, string, bool, error) {
	if d.reconcile == 0 {
		return nil, cursor, false, synclayer.FieldErrorf("webhook.reconcile_interval", "is off for destinations.%s, so there is nothing to reconcile", d.name)
	}
	cur, err := parseCursor(cursor)
	if err != nil {
		return nil, cursor, false, err
	}
	now = now.UTC()
	if cur.Since.IsZero() {
		cur.Since = now.Add(-d.reconcile)
	}
	limit := d.reconcilePage
	offset := cur.Offset
	if len(cur.Seen) > 0 {
		// Read from the remembered contacts on, to find where the last
		// page ended now.
		offset = max(cur.Offset-len(cur.Seen), 0)
	}
	page, err := d.client.ListContacts(ctx, ContactQuery{ModifiedSince: cur.Since, Limit: limit, Offset: offset, Sort: "asc", Background: true})
	if err != nil {
		return nil, cursor, false, d.reconcileError(err)
	}
	if cur.Next.IsZero() { // the pass's first page
		start := now
		if !page.Date.IsZero() && page.Date.Before(start) {
			start = page.Date // Brevo's clock is behind synclayer's
		}
		cur.Next = start.Add(-reconcileOverlap)
		if cur.Next.Before(cur.Since) {
			cur.Next = cur.Since
		}
	}
	fresh, lost := page.Contacts, false
	if len(cur.Seen) > 0 {
		fresh, lost = afterAnchors(page.Contacts, cur.Seen)
	}
	events, err := d.reconcileEvents(ctx, fresh, now, known)
	if err != nil {
		return nil, cursor, false, err
	}

	next := cur
	switch {
	case lost:
		d.log.LogAttrs(ctx, slog.LevelInfo, "brevo reconcile: contacts deleted while paging moved the list; reading this pass again from the start",
			slog.String("destination", d.name))
		next.Offset, next.Seen = 0, nil
		return events, next.String(), true, nil
	case len(page.Contacts) == limit:
		next.Offset = offset + len(page.Contacts)
		next.Seen = nil
		for _, c := range page.Contacts[len(page.Contacts)-anchorCount(limit):] {
			next.Seen = append(next.Seen, c.ID)
		}
		return events, next.String(), true, nil
	}
	return events, reconcileCursor{Since: cur.Next}.String(), false, nil
}

// anchorCount is how many of a page's last contacts the cursor remembers:
// up to maxAnchors, and under half the page, so a page still brings new
// contacts.
func anchorCount(limit int) int { return max(min(maxAnchors, limit/2), 1) }

// afterAnchors returns the contacts of page after the last remembered one
// it holds, leaving out any remembered; lost is true, with the whole page,
// when it holds none of them.
func afterAnchors(page []*Contact, seen []int64) (fresh []*Contact, lost bool) {
	last := -1
	for i, c := range page {
		if slices.Contains(seen, c.ID) {
			last = i
		}
	}
	if last < 0 {
		return page, true
	}
	for _, c := range page[last+1:] {
		if !slices.Contains(seen, c.ID) {
			fresh = append(fresh, c)
		}
	}
	return fresh, false
}

// reconcileError names api_key on a refused key, which retrying cannot fix.
func (d *Destination) reconcileError(err error) error {
	if s := synclayer.HTTPStatus(err); s == http.StatusUnauthorized || s == http.StatusForbidden {
		return synclayer.Permanent(fmt.Errorf("%w: %w", &synclayer.Error{Code: synclayer.EUNAUTHORIZED, Field: "api_key",
			Message: fmt.Sprintf("Brevo refused destinations.%s.api_key (%d) when reconciling: check that the key is valid and may read contacts", d.name, s)}, err))
	}
	return fmt.Errorf("reconcile: %w", err)
}

// reconcileEvents are the opt-outs of the blocklisted contacts in cs
// that synclayer does not know of: a block the contact's sync state
// records (one synclayer made, or one Brevo reported and synclayer then
// wrote) is left out, because Brevo keeps a block synclayer did not make
// even after a newer opt-in elsewhere, and reading it back with the time
// of a later write would opt that person out again.
func (d *Destination) reconcileEvents(ctx context.Context, cs []*Contact, now time.Time, known synclayer.SyncStateReader) ([]*synclayer.Event, error) {
	var out []*synclayer.Event
	for _, c := range cs {
		if !c.EmailBlacklisted && !c.SMSBlacklisted {
			continue // a list membership or a lifted block is never an opt-in
		}
		if c.ExtID != "" && known != nil {
			st, err := known.FindSyncState(ctx, c.ExtID, d.name)
			switch {
			case synclayer.ErrorCode(err) == synclayer.ENOTFOUND:
			case err != nil:
				return nil, fmt.Errorf("reconcile: read what %s holds for %s: %w", d.name, c.ExtID, err)
			default:
				if held, err := decodeState(st.State); err == nil && held != nil {
					nc := *c
					nc.EmailBlacklisted = c.EmailBlacklisted && !held.EmailBlacklisted
					nc.SMSBlacklisted = c.SMSBlacklisted && !held.SMSBlacklisted
					if !nc.EmailBlacklisted && !nc.SMSBlacklisted {
						continue // synclayer knows of the block already
					}
					c = &nc
				}
			}
		}
		if ev := d.optOut(c, now); ev != nil {
			out = append(out, ev)
			continue
		}
		d.log.LogAttrs(ctx, slog.LevelWarn, "brevo reconcile: a blocklisted contact has no email or SMS number synclayer can match; skipped",
			slog.String("destination", d.name), slog.Int64("brevo_id", c.ID))
	}
	return out, nil
}

// optOut is c's opt-out event, or nil when nothing identifies c.
func (d *Destination) optOut(c *Contact, now time.Time) *synclayer.Event {
	fields := map[string]json.RawMessage{}
	var identity string
	email, err := normalize.Email(c.Email)
	if err != nil || strings.HasSuffix(email, smsPlaceholder) {
		email = ""
	}
	if email != "" {
		fields[synclayer.FieldEmail], identity = jsonText(email), "email:"+email
	} else if sms, ok := c.Attributes["SMS"]; ok {
		if p, ok := phoneValue(mustJSON(sms)); ok {
			var s string
			_ = json.Unmarshal(p, &s)
			fields[synclayer.FieldPhone], identity = p, "phone:"+s
		}
	}
	if identity == "" {
		return nil
	}
	at, stamp := c.ModifiedAt, strconv.FormatInt(c.ModifiedAt.UnixMilli(), 10)
	if at.IsZero() {
		// modifiedAt is required by the spec; without it the contact
		// still opts out, now, and counts once for what Brevo wrote.
		at, stamp = now, "raw:"+c.RawModifiedAt
	}
	ch := &synclayer.CustomerChange{Fields: fields}
	var channels []string
	if c.EmailBlacklisted && email != "" {
		ch.EmailConsent = &synclayer.ConsentChange{State: synclayer.ConsentUnsubscribed, At: at}
		channels = append(channels, "email")
	}
	if c.SMSBlacklisted {
		ch.SMSConsent = &synclayer.ConsentChange{State: synclayer.ConsentUnsubscribed, At: at}
		channels = append(channels, "sms")
	}
	if len(channels) == 0 {
		return nil // an email block on a placeholder address blocks no one's email
	}
	payload := mustJSON(map[string]any{
		"id": c.ID, "email": c.Email, "emailBlacklisted": c.EmailBlacklisted, "smsBlacklisted": c.SMSBlacklisted,
		"modifiedAt": c.RawModifiedAt, "listIds": orEmpty(c.ListIDs),
	})
	return &synclayer.Event{
		Source: d.name, Topic: reconcileTopic, Type: synclayer.EventCustomerUpdated, OccurredAt: at, ReceivedAt: now,
		DedupeKey: dedupeKey(reconcileTopic, identity, stamp, strings.Join(channels, ",")), Payload: payload, Customer: ch,
	}
}

// reconcileCursor is Reconcile's cursor, stored as JSON:
//
//	{"v":1,"since":"2026-05-01T11:45:00Z"}                                            between passes
//	{"v":1,"since":"…","next":"2026-05-01T11:58:00Z","offset":500,"seen":[491,…,500]} within one
type reconcileCursor struct {
	V      int       `json:"v"`
	Since  time.Time `json:"since"`            // the pass reads the contacts modified after it
	Next   time.Time `json:"next,omitzero"`    // the next pass's since, fixed at this pass's first page
	Offset int       `json:"offset,omitempty"` // the position after the last contact read
	Seen   []int64   `json:"seen,omitempty"`   // the IDs of the last contacts read, in order
}

func parseCursor(s string) (reconcileCursor, error) {
	var c reconcileCursor
	if s == "" {
		return c, nil
	}
	if err := json.Unmarshal([]byte(s), &c); err != nil || c.V != 1 || c.Since.IsZero() || c.Offset < 0 {
		return reconcileCursor{}, synclayer.Permanent(synclayer.FieldErrorf("cursor", "%q is not a Brevo reconciliation cursor", normalize.Clip(s)))
	}
	return c, nil
}

func (c reconcileCursor) String() string {
	c.V = 1
	c.Since, c.Next = c.Since.UTC(), c.Next.UTC()
	return string(mustJSON(c))
}
