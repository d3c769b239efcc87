package synclayer

import (
	"context"
	"time"
)

// Rejection is a webhook request that was refused, kept so an operator can
// see what a sender got wrong. Headers hold no signatures or credentials and
// Body is truncated.
type Rejection struct {
	ID         int64             `json:"id"`
	Source     string            `json:"source"`
	ReceivedAt time.Time         `json:"receivedAt"`
	Status     int               `json:"status"`
	Code       string            `json:"code"`
	Message    string            `json:"message"`
	Headers    map[string]string `json:"headers"`
	Body       []byte            `json:"-"`
}

// RejectionStore keeps the most recent rejections.
type RejectionStore interface {
	// RecordRejection stores r and prunes all but the newest keep rejections.
	RecordRejection(ctx context.Context, r *Rejection, keep int) error
	FindRejections(ctx context.Context, limit int) ([]*Rejection, error)
	// SummarizeRejections counts the kept rejections received since since,
	// per source, with the newest one's reason; sorted by source.
	SummarizeRejections(ctx context.Context, since time.Time) ([]*RejectionSummary, error)
}

// RejectionSummary is one source's rejections over a window.
type RejectionSummary struct {
	Source string
	Count  int
	Last   *Rejection // the newest
}
