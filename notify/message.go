package notify

import (
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"synclayer"
)

// Event is the body of a webhook notification:
// {"type": "sync_failed", "timestamp": "...", "data": {...}}.
type Event struct {
	Type      synclayer.NotificationType `json:"type"`
	Timestamp time.Time                  `json:"timestamp"` // when the delivery finished
	Data      EventData                  `json:"data"`
}

// EventData names the skill, the record and, for a failure, the reason.
// It carries the contact's ID and no personal data: the receiver can look
// the contact up through the admin API. Stage says where the record
// failed: "delivery" (a dead-lettered job, with ContactID and JobID) or
// "ingest" (an event that cannot be synced, with the source, the
// platform's record ID and the event ID, since there is no contact).
type EventData struct {
	Skill          string `json:"skill"`
	Destination    string `json:"destination"`
	Stage          string `json:"stage"`
	ContactID      string `json:"contactId,omitempty"`
	JobID          int64  `json:"jobId,omitempty"`
	Source         string `json:"source,omitempty"`
	SourceRecordID string `json:"sourceRecordId,omitempty"`
	EventID        string `json:"eventId,omitempty"`
	Field          string `json:"field,omitempty"`
	Reason         string `json:"reason,omitempty"`
}

// Stages of EventData.
const (
	StageIngest   = "ingest"
	StageDelivery = "delivery"
)

// RecoveredData is the data of a recovered notification: an incident
// closed. Duration runs from the first failure to the last one; the
// incident closed QuietPeriod after it (sync_failed) or at the first
// check under the threshold (error_rate). Failures counts the records
// that failed in a sync_failed incident, and the most attempts failed in
// one window in an error_rate incident.
type RecoveredData struct {
	Skill           string                     `json:"skill"`
	Incident        synclayer.NotificationType `json:"incident"` // sync_failed or error_rate
	IncidentID      int64                      `json:"incidentId"`
	OpenedAt        time.Time                  `json:"openedAt"`
	LastFailureAt   time.Time                  `json:"lastFailureAt"`
	ClosedAt        time.Time                  `json:"closedAt"`
	DurationSeconds int64                      `json:"durationSeconds"`
	Failures        int                        `json:"failures"`
}

func owner(name string) string {
	if name == "" {
		return "no owner set (skills.<name>.owner)"
	}
	return "owner: " + name
}

func failureText(d *synclayer.Delivery, who string, quiet time.Duration) json.RawMessage {
	return slackBody(fmt.Sprintf("*synclayer: %s is failing* (%s)\n"+
		"A delivery to %s failed for good and was dead-lettered: contact `%s`: %s\n"+
		"Further failures count in this incident without more alerts until %s pass without one. See `synclayer dlq list`.",
		d.Skill, owner(who), d.Destination, d.RecordKey, clip(d.Reason), quiet))
}

func ingestFailureText(fe *synclayer.FailedEvent, skill, who, record, reason string, quiet time.Duration) json.RawMessage {
	return slackBody(fmt.Sprintf("*synclayer: %s is failing* (%s)\n"+
		"An event from %s (%s) was stored but cannot be synced: record `%s`: %s\n"+
		"Further failures count in this incident without more alerts until %s pass without one. See /ui/failures.",
		skill, owner(who), fe.Source, fe.Topic, record, clip(reason), quiet))
}

func recoveredText(inc *synclayer.Incident, who string) json.RawMessage {
	switch inc.Kind {
	case synclayer.NotifySourceSilent:
		return slackBody(fmt.Sprintf("*synclayer: %s sends again*\nIts webhooks resumed at %s UTC after the silence noticed at %s UTC.",
			strings.TrimPrefix(inc.Skill, "source:"), inc.LastAt.UTC().Format("2006-01-02 15:04"), inc.OpenedAt.UTC().Format("2006-01-02 15:04")))
	case synclayer.NotifySourceRejected:
		return slackBody(fmt.Sprintf("*synclayer: %s is no longer refused*\nNo delivery was refused as unauthorized since; %d were, at most, in one window.",
			strings.TrimPrefix(inc.Skill, "source:"), inc.Failures))
	}
	what, count := "failures", fmt.Sprintf("%d records failed during it", inc.Failures)
	if inc.Kind == synclayer.NotifyErrorRate {
		what, count = "error rate", fmt.Sprintf("at most %d attempts failed in one window", inc.Failures)
	}
	return slackBody(fmt.Sprintf("*synclayer: %s recovered* (%s)\n"+
		"The %s incident that opened at %s UTC is closed: it lasted %s, to its last failure at %s UTC; %s.",
		inc.Skill, owner(who), what, inc.OpenedAt.UTC().Format("2006-01-02 15:04"), lasted(inc),
		inc.LastAt.UTC().Format("15:04"), count))
}

func lasted(inc *synclayer.Incident) time.Duration {
	return max(inc.LastAt.Sub(inc.OpenedAt), 0).Round(time.Second)
}

func rateText(skill, who string, failed, attempts int, threshold float64, window time.Duration) json.RawMessage {
	return slackBody(fmt.Sprintf("*synclayer: %s error rate is %.0f%%* (%s)\n"+
		"%d of %d delivery attempts failed over the last %s, at or above the %.0f%% threshold. "+
		"This incident closes once the rate is back under it; `GET /api/v1/stats` has the figures.",
		skill, 100*float64(failed)/float64(attempts), owner(who), failed, attempts, window, 100*threshold))
}

func clip(s string) string {
	s = strings.TrimSpace(s)
	if len(s) > 300 {
		return s[:300] + "…"
	}
	return s
}

// slackBody is an incoming-webhook message: plain text, which Slack
// renders with its mrkdwn.
func slackBody(text string) json.RawMessage {
	b, _ := json.Marshal(map[string]string{"text": text})
	return b
}
