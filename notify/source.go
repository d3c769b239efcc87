package notify

import (
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"time"

	"synclayer"
)

// Source health: a source that used to send webhooks and has gone quiet
// (Shopify drops a subscription after repeated failures; a store's
// webhooks were deleted), and a source whose deliveries are refused as
// unauthorized (a secret rotated on one side only), each open one
// incident, told once to Slack and to the webhook (source_silent,
// source_rejected), and closed with a recovered message when the source
// sends again or stops being refused.

// SourceData is the data of a source_silent or source_rejected webhook
// notification.
type SourceData struct {
	Source        string    `json:"source"`
	LastEventAt   time.Time `json:"lastEventAt,omitzero"`
	SilentSeconds int64     `json:"silentSeconds,omitempty"`
	// ChangedSince is how many records the source's API shows changed
	// since its last webhook; absent without API access.
	ChangedSince  *int  `json:"changedSince,omitempty"`
	Refused       int   `json:"refused,omitempty"`       // 401s in the window
	WindowSeconds int64 `json:"windowSeconds,omitempty"` // the window they were counted in
}

// evaluateSources opens and closes the sources' incidents from their
// activity; act is read before the transaction.
func (n *Notifier) evaluateSources(ctx context.Context, tx synclayer.NotificationTx, open map[incidentKey]*synclayer.Incident,
	act map[string]synclayer.SourceActivity, now time.Time) error {
	for _, src := range n.cfg.Sources {
		a := act[src]
		if n.cfg.SilenceAfter > 0 {
			key := incidentKey{synclayer.SourceIncident(src), synclayer.NotifySourceSilent}
			inc := open[key]
			silent := !a.LastEvent.IsZero() && now.Sub(a.LastEvent) > n.cfg.SilenceAfter
			api, asked := n.changes[src]
			quietStore := silent && asked && api.known && api.changed == 0
			switch {
			case quietStore:
				// Nothing changed in the store either: no webhook was due.
			case silent && inc == nil:
				inc = &synclayer.Incident{Skill: key.skill, Kind: key.kind, OpenedAt: now, LastAt: a.LastEvent}
				if err := tx.SaveIncident(ctx, inc); err != nil {
					return err
				}
				open[key] = inc
				quiet := now.Sub(a.LastEvent).Round(time.Minute)
				data := SourceData{Source: src, LastEventAt: a.LastEvent.UTC(), SilentSeconds: int64(quiet / time.Second)}
				since := ""
				if asked && api.known {
					data.ChangedSince = &api.changed
					since = fmt.Sprintf(", while its API shows %d records changed since", api.changed)
				}
				text := fmt.Sprintf(":mute: *Source %s has sent no webhook for %s* (its last at %s UTC%s). Check that its webhook subscriptions still exist and point at synclayer (`synclayer sources check`), and that the store can reach it.",
					src, quiet, a.LastEvent.UTC().Format("2006-01-02 15:04"), since)
				if err := n.sourceAlert(ctx, tx, inc, text, data); err != nil {
					return err
				}
			case !silent && inc != nil && a.LastEvent.After(inc.LastAt):
				if err := n.close(ctx, tx, inc, a.LastEvent); err != nil {
					return err
				}
				delete(open, key)
			}
		}
		if n.cfg.RefusedThreshold > 0 {
			key := incidentKey{synclayer.SourceIncident(src), synclayer.NotifySourceRejected}
			inc := open[key]
			over := a.Unauthorized >= n.cfg.RefusedThreshold
			switch {
			case over && inc == nil:
				inc = &synclayer.Incident{Skill: key.skill, Kind: key.kind, OpenedAt: now, LastAt: a.LastRefused, Failures: a.Unauthorized}
				if err := tx.SaveIncident(ctx, inc); err != nil {
					return err
				}
				open[key] = inc
				text := fmt.Sprintf(":lock: *Source %s: %d deliveries refused as unauthorized* in the last %s. Its signing secret was probably rotated on one side only: set sources.%s.secret to the platform's current one (previous_secrets keeps the old one accepted meanwhile).",
					src, a.Unauthorized, n.cfg.RefusedWindow, src)
				if err := n.sourceAlert(ctx, tx, inc, text, SourceData{Source: src, Refused: a.Unauthorized, WindowSeconds: int64(n.cfg.RefusedWindow / time.Second)}); err != nil {
					return err
				}
			case over:
				inc.LastAt, inc.Failures = maxTime(inc.LastAt, a.LastRefused), max(inc.Failures, a.Unauthorized)
				if err := tx.SaveIncident(ctx, inc); err != nil {
					return err
				}
			case inc != nil && a.Unauthorized == 0:
				if err := n.close(ctx, tx, inc, now); err != nil {
					return err
				}
				delete(open, key)
			}
		}
	}
	return nil
}

// sourceAlert adds an incident's Slack message and, when Events asks for
// its type, its webhook notification, both keyed by the incident.
func (n *Notifier) sourceAlert(ctx context.Context, tx synclayer.NotificationTx, inc *synclayer.Incident, text string, data SourceData) error {
	if n.cfg.Slack {
		if err := n.alert(ctx, tx, inc, slackBody(text)); err != nil {
			return err
		}
	}
	if !slices.Contains(n.cfg.Events, inc.Kind) {
		return nil
	}
	body, err := json.Marshal(struct {
		Type      synclayer.NotificationType `json:"type"`
		Timestamp time.Time                  `json:"timestamp"`
		Data      SourceData                 `json:"data"`
	}{inc.Kind, inc.OpenedAt.UTC(), data})
	if err != nil {
		return err
	}
	_, err = tx.AddNotification(ctx, &synclayer.Notification{ID: fmt.Sprintf("msg_%s_i%d", inc.Kind, inc.ID), Channel: synclayer.ChannelWebhook,
		Type: inc.Kind, Body: body, CreatedAt: inc.OpenedAt})
	return err
}

// askChanges asks, for each source silent by its activity, its API how
// many records changed since its last webhook (Config.Changes), again
// after ChangesEvery or a newer webhook. An API that cannot answer (down,
// refusing) counts as unknown: the source is judged on silence alone,
// and the error is logged.
func (n *Notifier) askChanges(ctx context.Context, act map[string]synclayer.SourceActivity, now time.Time) {
	if n.cfg.Changes == nil || n.cfg.SilenceAfter <= 0 {
		return
	}
	if n.changes == nil {
		n.changes = map[string]apiChanges{}
	}
	every := cmp.Or(n.cfg.ChangesEvery, 15*time.Minute)
	for _, src := range n.cfg.Sources {
		a := act[src]
		if a.LastEvent.IsZero() || now.Sub(a.LastEvent) <= n.cfg.SilenceAfter {
			delete(n.changes, src)
			continue
		}
		if c, ok := n.changes[src]; ok && now.Sub(c.at) < every && c.lastEvent.Equal(a.LastEvent) {
			continue
		}
		actx, cancel := context.WithTimeout(ctx, 30*time.Second)
		changed, known, err := n.cfg.Changes(actx, src, a.LastEvent)
		cancel()
		if err != nil {
			if n.cfg.Logger != nil {
				n.cfg.Logger.Warn("could not ask the source's API what changed; judging its silence without it", "source", src, "err", err)
			}
			known = false
		}
		n.changes[src] = apiChanges{at: now, lastEvent: a.LastEvent, changed: changed, known: known}
	}
}
