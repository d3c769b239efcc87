package notify

import (
	"context"
	"fmt"

	"synclayer"
)

// Handler delivers the notification a NotifySkill job names. It is the
// queue's handler for those jobs, so sending gets the queue's leases,
// retries with backoff and dead letters.
type Handler struct {
	Store   synclayer.NotificationStore
	Senders map[synclayer.NotificationChannel]synclayer.NotificationSender
}

// Handle sends the stored notification as it was made: same ID, same
// body. A notification that is gone, or whose channel is no longer
// configured, is dead-lettered with the reason.
func (h *Handler) Handle(ctx context.Context, job *synclayer.Job) (*synclayer.SyncState, *synclayer.TraceEntry, error) {
	n, err := h.Store.FindNotification(ctx, job.RecordKey)
	if synclayer.ErrorCode(err) == synclayer.ENOTFOUND {
		return nil, nil, synclayer.Permanent(fmt.Errorf("notification %s is no longer stored", job.RecordKey))
	}
	if err != nil {
		return nil, nil, err
	}
	s := h.Senders[n.Channel]
	if s == nil {
		return nil, nil, synclayer.Permanent(fmt.Errorf("notification channel %s is not configured", n.Channel))
	}
	return nil, nil, s.Send(ctx, n)
}
