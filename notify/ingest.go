package notify

import (
	"cmp"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"slices"
	"strings"

	"synclayer"
)

// DrainFailedEvents takes every event marked as failed at ingest, in
// batches of 100, and makes their sync_failed notifications.
//
// Once per record: a failure counts in its skill's sync_failed incident,
// and a record (source, the platform's record ID, the reason with its
// values masked) is notified and counted once per incident. A record that
// keeps failing (the platform redelivering a bad webhook under a new ID,
// or updates that all carry the invalid email) keeps the incident open
// and sends nothing more; once QuietPeriod passes without a failure of the
// skill the incident closes, and a later failure of the record is
// notified again. An event without a record ID is its own record.
func (n *Notifier) DrainFailedEvents(ctx context.Context) error {
	for {
		taken, err := n.cfg.Store.TakeFailedEvents(ctx, 100, func(tx synclayer.NotificationTx, evs []*synclayer.FailedEvent) error {
			open, err := openIncidents(ctx, tx)
			if err != nil {
				return err
			}
			for _, fe := range evs {
				if err := n.ingestFailure(ctx, tx, open, fe); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil || taken < 100 {
			return err
		}
	}
}

func (n *Notifier) ingestFailure(ctx context.Context, tx synclayer.NotificationTx, open map[incidentKey]*synclayer.Incident, fe *synclayer.FailedEvent) error {
	skill, dest := n.cfg.IngestSkill(fe.Source)
	skill = cmp.Or(skill, "ingest")
	inc, opened, err := n.incident(ctx, tx, open, skill, fe.ReceivedAt)
	if err != nil {
		return err
	}
	record := cmp.Or(fe.SourceRecordID, "event "+fe.ID)
	reason := MaskValues(fe.Reason)
	sum := sha256.Sum256([]byte(fe.Source + "\x00" + record + "\x00" + reason))
	added, err := tx.AddKey(ctx, fmt.Sprintf("fail:%d:%s", inc.ID, hex.EncodeToString(sum[:12])), fe.ReceivedAt)
	if err != nil {
		return err
	}
	if added {
		inc.Failures++
	}
	if err := tx.SaveIncident(ctx, inc); err != nil {
		return err
	}
	if !added {
		return nil
	}
	if opened && n.cfg.Slack {
		if err := n.alert(ctx, tx, inc, ingestFailureText(fe, skill, n.cfg.Owner(skill), record, reason, n.cfg.QuietPeriod)); err != nil {
			return err
		}
	}
	if !slices.Contains(n.cfg.Events, synclayer.NotifySyncFailed) {
		return nil
	}
	data := EventData{Skill: skill, Destination: dest, Stage: StageIngest, Source: fe.Source, SourceRecordID: fe.SourceRecordID,
		EventID: fe.ID, Field: failedField(fe.Reason), Reason: reason}
	body, err := json.Marshal(Event{Type: synclayer.NotifySyncFailed, Timestamp: fe.ReceivedAt.UTC(), Data: data})
	if err != nil {
		return err
	}
	_, err = tx.AddNotification(ctx, &synclayer.Notification{ID: "msg_sync_failed_" + fe.ID, Channel: synclayer.ChannelWebhook,
		Type: synclayer.NotifySyncFailed, Body: body, CreatedAt: fe.ReceivedAt})
	return err
}

// failedField names the field an ingest reason is about: "invalid email:
// …" is about email, and a record with neither email nor phone lacks an
// identity. Other reasons name none.
func failedField(reason string) string {
	switch {
	case strings.HasPrefix(reason, "invalid "):
		f, _, _ := strings.Cut(strings.TrimPrefix(reason, "invalid "), ":")
		if !strings.Contains(f, " ") {
			return f
		}
	case strings.Contains(reason, "neither email nor phone"):
		return "email"
	}
	return ""
}
