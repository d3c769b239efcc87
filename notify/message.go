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
// the contact up through the admin API.
type EventData struct {
	Skill       string `json:"skill"`
	Destination string `json:"destination"`
	ContactID   string `json:"contactId"`
	JobID       int64  `json:"jobId"`
	Reason      string `json:"reason,omitempty"`
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
