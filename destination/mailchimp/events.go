package mailchimp

import (
	"context"
	"net/http"
)

// MemberEvent is the body of POST /lists/{list_id}/members/{subscriber_hash}/events
// (the spec's Events): a custom event on an audience member. Name is 2 to
// 30 characters; every property value is a string. IsSyncing true keeps
// the event from triggering automations. OccurredAt is ISO 8601; empty
// leaves the time to Mailchimp.
type MemberEvent struct {
	Name       string            `json:"name"`
	Properties map[string]string `json:"properties,omitempty"`
	IsSyncing  bool              `json:"is_syncing,omitempty"`
	OccurredAt string            `json:"occurred_at,omitempty"`
}

// AddMemberEvent records ev on the member with hash (204). A member the
// audience does not hold is a 404 *APIError (IsNotFound), as is an
// audience that does not exist.
func (c *Client) AddMemberEvent(ctx context.Context, listID, hash string, ev MemberEvent) error {
	_, err := c.do(ctx, call{method: http.MethodPost, route: memberRoute + "/events",
		path: memberPath(listID, hash) + "/events", body: ev})
	return err
}
