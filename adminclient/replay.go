package adminclient

import (
	"context"
	"net/http"

	"synclayer"
)

// ReplayRequest selects the stored events to replay. Since and Until are
// RFC 3339 times or durations ago ("24h", "7d"); Until defaults to now,
// Skill to customer-sync, Source to every source the skill takes.
type ReplayRequest struct {
	Since  string `json:"since"`
	Until  string `json:"until,omitempty"`
	Skill  string `json:"skill,omitempty"`
	Source string `json:"source,omitempty"`
	DryRun bool   `json:"dryRun,omitempty"`
}

// Replay queues again, through the skill as it runs now, every contact the
// events req selects touched, and reports what it matched and queued
// (operator). Consent holds, and a contact a destination holds unchanged
// is skipped when delivered. With DryRun it only counts.
func (c *Client) Replay(ctx context.Context, req ReplayRequest) (*synclayer.ReplayResult, error) {
	var out synclayer.ReplayResult
	if err := c.do(ctx, http.MethodPost, "/api/v1/replay", nil, req, &out); err != nil {
		return nil, err
	}
	return &out, nil
}
