package klaviyo

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"log/slog"
	"strconv"
	"time"

	"synclayer"
	"synclayer/normalize"
)

// The window around a sync state's save in which an unsubscribe can be
// the echo of synclayer's own: Klaviyo stamps it when it runs the job,
// after the 202 that precedes the save, and the clocks may differ a
// little.
const (
	ownEchoBefore = 5 * time.Minute
	ownEchoAfter  = time.Hour
)

// reconcileEvents are the opt-out events of found that are news: found
// less the echoes of synclayer's own unsubscribes (ownEcho) and the
// opt-outs of profiles without an email, which are logged.
func (d *Destination) reconcileEvents(ctx context.Context, found []optOut, now time.Time, known synclayer.SyncStateReader) ([]*synclayer.Event, error) {
	var out []*synclayer.Event
	for _, o := range found {
		email, err := normalize.Email(o.email)
		if err != nil {
			d.log.LogAttrs(ctx, slog.LevelWarn, "klaviyo reconcile: an opt-out's profile has no email synclayer can match; skipped",
				slog.String("destination", d.name), slog.String("klaviyo_id", o.profileID), slog.String("kind", o.kind))
			continue
		}
		echo, err := d.ownEcho(ctx, o, known)
		if err != nil {
			return nil, err
		}
		if !echo {
			out = append(out, d.optOutEvent(o, email, now))
		}
	}
	return out, nil
}

// ownEcho reports whether o can be synclayer's own unsubscribe read back:
// an unsubscribe of a profile whose sync state records that synclayer
// unsubscribed it and set nothing since (UnsubscribedByUs, ConsentByUs,
// Consent UNSUBSCRIBED), stamped by Klaviyo within [saved − ownEchoBefore,
// saved + ownEchoAfter] of that state. Every other kind is news, since
// synclayer never bounces, complains or suppresses, and so is an
// unsubscribe outside the window, or of a profile synclayer never
// unsubscribed. What it drops is no news: synclayer unsubscribed the
// profile because its own contact was opted out, and Klaviyo records an
// unsubscribe only when the consent changes, so a second one there needs
// a resubscription inside Klaviyo first, all within the hour. Only that
// case, with an opt-in made elsewhere in between and not yet delivered
// (a delivery clears UnsubscribedByUs), would lose an opt-out: see
// docs/platforms/klaviyo.md.
func (d *Destination) ownEcho(ctx context.Context, o optOut, known synclayer.SyncStateReader) (bool, error) {
	if o.kind != KindUnsubscribe || o.externalID == "" || known == nil || o.at.IsZero() {
		return false, nil
	}
	st, err := known.FindSyncState(ctx, o.externalID, d.name)
	switch {
	case synclayer.ErrorCode(err) == synclayer.ENOTFOUND:
		return false, nil
	case err != nil:
		return false, fmt.Errorf("reconcile: read what %s holds for %s: %w", d.name, o.externalID, err)
	}
	held, err := decodeState(st.State)
	if err != nil || held == nil || !held.UnsubscribedByUs || !held.ConsentByUs || held.Consent != ConsentUnsubscribed {
		return false, nil
	}
	saved := st.UpdatedAt
	return !o.at.Before(saved.Add(-ownEchoBefore)) && !o.at.After(saved.Add(ownEchoAfter)), nil
}

// optOutEvent is o as an email opt-out of email at Klaviyo's time.
func (d *Destination) optOutEvent(o optOut, email string, now time.Time) *synclayer.Event {
	at, stamp := o.at, strconv.FormatInt(o.at.Truncate(time.Second).Unix(), 10)
	if at.IsZero() {
		// Klaviyo's time did not read: the opt-out still counts, now,
		// once for what Klaviyo wrote.
		at, stamp = now, "raw:"+o.raw
	}
	who := o.profileID
	if who == "" {
		who = "email:" + email
	}
	payload := map[string]any{"profile_id": o.profileID, "email": email, "kind": o.kind, "detail": o.detail, "timestamp": o.raw}
	if o.externalID != "" {
		payload["external_id"] = o.externalID
	}
	return &synclayer.Event{
		Source: d.name, Topic: reconcileTopic, Type: synclayer.EventCustomerUpdated, OccurredAt: at, ReceivedAt: now,
		DedupeKey: dedupeKey(reconcileTopic, who, o.kind, stamp), Payload: mustJSON(payload),
		Customer: &synclayer.CustomerChange{
			Fields:       map[string]json.RawMessage{synclayer.FieldEmail: mustJSON(email)},
			EmailConsent: &synclayer.ConsentChange{State: synclayer.ConsentUnsubscribed, At: at},
		},
	}
}

// dedupeKey is the SHA-256 hex of parts, each length-prefixed so no two
// lists of parts share a key.
func dedupeKey(parts ...string) string {
	h := sha256.New()
	for _, p := range parts {
		fmt.Fprintf(h, "%d:%s;", len(p), p)
	}
	return hex.EncodeToString(h.Sum(nil))
}
