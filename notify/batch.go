package notify

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"regexp"
	"slices"
	"time"

	"synclayer"
)

// BatchFailure is one record a batch run could not load, by its line.
type BatchFailure struct {
	Line   int    `json:"line,omitempty"`
	Reason string `json:"reason"`
}

// BatchData is the data of a batch_completed notification: what one
// backfill, resync or flush did. It names the file by its base name and
// carries counts and reasons, no personal data.
type BatchData struct {
	Run        string         `json:"run"` // backfill or resync
	Skill      string         `json:"skill"`
	File       string         `json:"file,omitempty"`
	Source     string         `json:"source,omitempty"` // the source whose API a backfill --from listed
	StartedAt  time.Time      `json:"startedAt"`
	Read       int            `json:"read"`
	Written    int            `json:"written"`
	Skipped    int            `json:"skipped"`
	Failed     int            `json:"failed"`
	Failures   []BatchFailure `json:"failures,omitempty"`
	Imported   int            `json:"imported"`  // records sent in batch calls
	Realtime   int            `json:"realtime"`  // records sent one by one (consent changes among them)
	Unchanged  int            `json:"unchanged"` // records Brevo already held as they are
	PushFailed int            `json:"pushFailed"`
	Calls      int            `json:"calls"` // batch calls Brevo accepted
}

// BatchCompleted stores the batch_completed notification of a finished
// run and queues its delivery, when events includes batch_completed. Its
// ID is derived from the run and its end, so a retried store makes it once.
// It reports whether a notification was added.
func BatchCompleted(ctx context.Context, st synclayer.NotificationStore, events []synclayer.NotificationType, runID string, at time.Time, data BatchData) (bool, error) {
	if !slices.Contains(events, synclayer.NotifyBatchCompleted) {
		return false, nil
	}
	data.Failures = slices.Clone(data.Failures)
	for i := range data.Failures {
		data.Failures[i].Reason = MaskValues(data.Failures[i].Reason)
	}
	body, err := json.Marshal(struct {
		Type      synclayer.NotificationType `json:"type"`
		Timestamp time.Time                  `json:"timestamp"`
		Data      BatchData                  `json:"data"`
	}{synclayer.NotifyBatchCompleted, at.UTC(), data})
	if err != nil {
		return false, err
	}
	sum := sha256.Sum256([]byte(runID + "\x00" + at.UTC().Format(time.RFC3339Nano)))
	n := &synclayer.Notification{ID: "msg_batch_completed_" + hex.EncodeToString(sum[:8]), Channel: synclayer.ChannelWebhook,
		Type: synclayer.NotifyBatchCompleted, Body: body, CreatedAt: at}
	added := false
	err = st.NotificationTx(ctx, func(tx synclayer.NotificationTx) error {
		var err error
		added, err = tx.AddNotification(ctx, n)
		return err
	})
	return added, err
}

var (
	quoted     = regexp.MustCompile(`"(?:[^"\\]|\\.)*"`)
	columnName = regexp.MustCompile(`^"[A-Z][A-Za-z ]{0,40}"$`)
)

// MaskValues replaces the quoted values in a failure reason with "…", so
// a notification carries no email or other value read from a file. Quoted
// column names ("Total Spent": capitalized words) are kept, since they
// say where the problem is.
func MaskValues(reason string) string {
	return quoted.ReplaceAllStringFunc(reason, func(q string) string {
		if columnName.MatchString(q) {
			return q
		}
		return `"…"`
	})
}
