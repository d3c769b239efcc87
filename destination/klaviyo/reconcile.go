package klaviyo

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"time"

	"synclayer"
	"synclayer/normalize"
)

const (
	// reconcileOverlap is how far before a pass's start the next pass
	// begins reading: Klaviyo processes events asynchronously, so one may
	// be listed a little after its time. What is read twice has the same
	// dedupe keys.
	reconcileOverlap = 10 * time.Minute
	// reconcileTopic is the Topic of Reconcile's events.
	reconcileTopic = "reconcile"
	// streamSuppressions is the pass's read of the suppressed profiles;
	// the others are "events:<kind>:<metric ID>".
	streamSuppressions = "suppressions"
)

// Opt-out kinds: what a suppression reason or an opt-out metric says.
const (
	KindUnsubscribe  = "unsubscribe"
	KindSpam         = "spam"
	KindHardBounce   = "hard_bounce"
	KindSuppressed   = "suppressed"
	KindInvalidEmail = "invalid_email"
)

// OptOutMetrics are the metrics Reconcile reads, by name (compared
// without regard to case), with the kind of opt-out each records: the
// unsubscribes and spam complaints Klaviyo keeps as a consent
// (UNSUBSCRIBED) rather than as a suppression, which a read of the
// suppressed profiles cannot find. Klaviyo's own metrics of these names
// are read, and metrics of the same name from other integrations too (an
// integration recording "Unsubscribed from Email Marketing" says the
// same), except the generic "Unsubscribed", Klaviyo's older name, which
// is read only when Klaviyo records it.
var OptOutMetrics = map[string]string{
	"Unsubscribed from Email Marketing": KindUnsubscribe,
	"Marked Email as Spam":              KindSpam,
	"Unsubscribed":                      KindUnsubscribe,
}

// ReconcileInterval is reconcile_interval: 15m by default, 0 when off.
func (d *Destination) ReconcileInterval() time.Duration { return d.reconcile }

// Reconcile reads one page of the opt-outs made inside Klaviyo since the
// cursor and returns an email opt-out event for each one synclayer does
// not know of: an unsubscribe link, a spam complaint, a hard bounce, a
// suppression by hand. Klaviyo has no webhook synclayer can rely on for
// them (its system webhooks are for Advanced KDP accounts and app
// partners), so they are read, from two places, each giving Klaviyo's own
// time of the opt-out:
//
//   - the profiles with a global suppression after the pass's since (GET
//     /api/profiles filtered and sorted by the suppression's timestamp):
//     HARD_BOUNCE, SPAM_COMPLAINT, UNSUBSCRIBE, USER_SUPPRESSED and
//     INVALID_EMAIL, each suppression one opt-out at its timestamp;
//   - the events of OptOutMetrics after since (GET /api/events by
//     metric_id and datetime), each one opt-out at its datetime: Klaviyo
//     keeps an unsubscribe or a complaint as the consent UNSUBSCRIBED,
//     which no filter of the profiles reaches but the metric records.
//
// Each opt-out is one customer_updated event of source the destination's
// name, topic "reconcile", at Klaviyo's time (never now, unless Klaviyo
// gave none that reads): the profile's email opted out of email. Never an
// opt-in: a subscription read back may be synclayer's own. The dedupe key
// is the SHA-256 hex of "reconcile", the Klaviyo profile ID, the kind
// (KindUnsubscribe, ...) and the time to the second, so an opt-out read
// twice, or found both as a suppression and as an event, counts once.
//
// An unsubscribe is left out when it can be the echo of synclayer's own:
// the profile's sync state (by external_id, which customer-sync sets to
// the contact ID) records that synclayer unsubscribed it and wrote
// nothing since, and Klaviyo's time lies between 5 minutes before and an
// hour after that state was saved (Klaviyo runs the unsubscribe job a
// little after its 202). Synclayer makes no other kind of opt-out, so
// every bounce, complaint and suppression is news; and every opt-out
// carries Klaviyo's own time, so one the store knows already changes
// nothing (an older opt-out never outweighs a newer opt-in).
//
// A pass reads the suppressed profiles, then each opt-out metric's events,
// page by page, with since fixed; the cursor carries since, the pass's
// streams (fixed at its first page, when the account's metrics are
// listed), the stream and Klaviyo's page[cursor] being read, and the next
// pass's since: this pass's start (the earlier of now and Klaviyo's Date
// at the first page) less reconcileOverlap. The first run ("") starts at
// now less the interval.
//
// Each read takes at most half of its bucket's steady and burst budgets
// (limiter.acquireSpare), so deliveries on the same buckets always keep
// the other half. A 429 is a synclayer.RetryAfter error; a 401 or 403 a
// permanent EUNAUTHORIZED one naming api_key; a cursor that does not
// parse a permanent EINVALID one naming cursor. On an error the cursor
// is not advanced.
func (d *Destination) Reconcile(ctx context.Context, cursor string, now time.Time, known synclayer.SyncStateReader) ([]*synclayer.Event, string, bool, error) {
	if d.reconcile == 0 {
		return nil, cursor, false, synclayer.FieldErrorf("reconcile_interval", "is off for destinations.%s, so there is nothing to reconcile", d.name)
	}
	cur, err := parseCursor(cursor)
	if err != nil {
		return nil, cursor, false, err
	}
	now = now.UTC()
	if cur.Since.IsZero() {
		cur.Since = now.Add(-d.reconcile)
	}
	first := cur.Next.IsZero()
	if first {
		if cur.Streams, err = d.streams(ctx); err != nil {
			return nil, cursor, false, d.reconcileError(err)
		}
		cur.At, cur.Page = 0, ""
	}
	if cur.At >= len(cur.Streams) {
		return nil, cursor, false, badCursor(cursor)
	}
	found, page, err := d.readStream(ctx, cur.Streams[cur.At], cur.Since, cur.Page)
	if err != nil {
		return nil, cursor, false, d.reconcileError(err)
	}
	if first {
		start := now
		if !page.date.IsZero() && page.date.Before(start) {
			start = page.date // Klaviyo's clock is behind synclayer's
		}
		// Not clamped to since: a since taken from a clock ahead of
		// Klaviyo's must not push the next pass past what Klaviyo stamps
		// after this one started.
		cur.Next = start.Add(-reconcileOverlap)
	}
	events, err := d.reconcileEvents(ctx, found, now, known)
	if err != nil {
		return nil, cursor, false, err
	}
	next := cur
	switch {
	case page.next != "":
		next.Page = page.next
		return events, next.String(), true, nil
	case cur.At+1 < len(cur.Streams):
		next.At, next.Page = cur.At+1, ""
		return events, next.String(), true, nil
	}
	return events, reconcileCursor{Since: cur.Next}.String(), false, nil
}

// streams are a pass's reads: the suppressed profiles, then the events
// of each of the account's opt-out metrics, by kind and ID.
func (d *Destination) streams(ctx context.Context) ([]string, error) {
	metrics, err := d.client.ListMetrics(ctx, true)
	if err != nil {
		return nil, err
	}
	kinds := map[string]string{}
	for name, kind := range OptOutMetrics {
		kinds[strings.ToLower(name)] = kind
	}
	var out []string
	for _, m := range metrics {
		name := strings.ToLower(strings.TrimSpace(m.Name))
		kind, ok := kinds[name]
		if !ok || (name == "unsubscribed" && !strings.EqualFold(m.Integration, "Klaviyo")) || strings.ContainsAny(m.ID, "\"\\:") {
			continue
		}
		out = append(out, "events:"+kind+":"+m.ID)
	}
	slices.Sort(out)
	return append([]string{streamSuppressions}, slices.Compact(out)...), nil
}

// optOut is one opt-out read from Klaviyo, before the sync state is
// consulted.
type optOut struct {
	profileID, email, externalID string
	kind, detail                 string // detail: the suppression reason or the metric event's ID
	at                           time.Time
	raw                          string // Klaviyo's time as written
}

// streamPage is what one read found besides the opt-outs.
type streamPage struct {
	next string    // Klaviyo's page[cursor] of the next page; "" on the last
	date time.Time // Klaviyo's Date header
}

// readStream reads one page of stream after since.
func (d *Destination) readStream(ctx context.Context, stream string, since time.Time, page string) ([]optOut, streamPage, error) {
	if stream == streamSuppressions {
		p, err := d.client.ListSuppressedProfiles(ctx, SuppressionQuery{After: since, Cursor: page, PageSize: d.pages, Background: true})
		if err != nil {
			return nil, streamPage{}, err
		}
		var out []optOut
		for _, pr := range p.Profiles {
			if pr.EmailMarketing == nil {
				continue
			}
			for _, x := range pr.EmailMarketing.Suppression {
				at, ok := x.Time()
				if ok && !at.After(since) {
					continue // an older suppression of a profile suppressed again
				}
				out = append(out, optOut{profileID: pr.ID, email: pr.Email, externalID: pr.ExternalID,
					kind: suppressionKind(x.Reason), detail: x.Reason, at: at, raw: x.Timestamp})
			}
		}
		return out, streamPage{next: p.Next, date: p.Date}, nil
	}
	kind, metricID, ok := parseStream(stream)
	if !ok {
		return nil, streamPage{}, synclayer.Permanent(synclayer.FieldErrorf("cursor", "names a stream %q Reconcile does not read", normalize.Clip(stream)))
	}
	p, err := d.client.ListEvents(ctx, EventQuery{MetricID: metricID, After: since, Cursor: page, PageSize: d.pages, Background: true})
	if err != nil {
		return nil, streamPage{}, err
	}
	var out []optOut
	for _, ev := range p.Events {
		o := optOut{profileID: ev.ProfileID, kind: kind, detail: ev.ID, at: ev.Time, raw: ev.RawTime}
		if ev.Profile != nil {
			o.email, o.externalID = ev.Profile.Email, ev.Profile.ExternalID
		}
		out = append(out, o)
	}
	return out, streamPage{next: p.Next, date: p.Date}, nil
}

// parseStream reads "events:<kind>:<metric ID>".
func parseStream(s string) (kind, metricID string, ok bool) {
	rest, ok := strings.CutPrefix(s, "events:")
	if !ok {
		return "", "", false
	}
	kind, metricID, ok = strings.Cut(rest, ":")
	return kind, metricID, ok && kind != "" && metricID != ""
}

// suppressionKind is the opt-out kind of a suppression reason; a reason
// the spec does not list is still a global suppression, named as it is.
func suppressionKind(reason string) string {
	switch reason {
	case "UNSUBSCRIBE":
		return KindUnsubscribe
	case "SPAM_COMPLAINT":
		return KindSpam
	case "HARD_BOUNCE":
		return KindHardBounce
	case "USER_SUPPRESSED":
		return KindSuppressed
	case "INVALID_EMAIL":
		return KindInvalidEmail
	}
	return strings.ToLower(reason)
}

// reconcileError names api_key on a refused key, which retrying cannot
// fix: the key may lack the read scopes reconciliation needs.
func (d *Destination) reconcileError(err error) error {
	if s := synclayer.HTTPStatus(err); s == http.StatusUnauthorized || s == http.StatusForbidden {
		return synclayer.Permanent(fmt.Errorf("%w: %w", &synclayer.Error{Code: synclayer.EUNAUTHORIZED, Field: "api_key",
			Message: fmt.Sprintf("Klaviyo refused destinations.%s.api_key (%d) when reading the opt-outs made in Klaviyo: check that the key is valid "+
				"and has the read scopes profiles:read, events:read and metrics:read, or set reconcile_interval: off", d.name, s)}, err))
	}
	return fmt.Errorf("reconcile: %w", err)
}

// reconcileCursor is Reconcile's cursor, stored as JSON:
//
//	{"v":1,"since":"2026-05-01T11:50:00Z"}                                         between passes
//	{"v":1,"since":"…","next":"2026-05-01T12:05:00Z","streams":["suppressions",
//	 "events:spam:RxV8b2","events:unsubscribe:UwnyvV"],"at":1,"page":"<cursor>"}  within one
type reconcileCursor struct {
	V       int       `json:"v"`
	Since   time.Time `json:"since"`             // the pass reads what Klaviyo stamped after it
	Next    time.Time `json:"next,omitzero"`     // the next pass's since, fixed at this pass's first page
	Streams []string  `json:"streams,omitempty"` // the pass's reads, fixed at its first page
	At      int       `json:"at,omitempty"`      // the stream being read
	Page    string    `json:"page,omitempty"`    // Klaviyo's page[cursor] in it; "" for its first page
}

func parseCursor(s string) (reconcileCursor, error) {
	var c reconcileCursor
	if s == "" {
		return c, nil
	}
	if err := json.Unmarshal([]byte(s), &c); err != nil || c.V != 1 || c.Since.IsZero() || c.At < 0 ||
		(!c.Next.IsZero() && (len(c.Streams) == 0 || c.At >= len(c.Streams))) {
		return reconcileCursor{}, badCursor(s)
	}
	return c, nil
}

func badCursor(s string) error {
	return synclayer.Permanent(synclayer.FieldErrorf("cursor", "%q is not a Klaviyo reconciliation cursor", normalize.Clip(s)))
}

func (c reconcileCursor) String() string {
	c.V = 1
	c.Since, c.Next = c.Since.UTC(), c.Next.UTC()
	return string(mustJSON(c))
}
