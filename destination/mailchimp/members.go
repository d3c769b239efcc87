package mailchimp

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
)

// Member statuses, as Mailchimp names them. Archived is only ever read:
// it is what DELETE leaves.
const (
	StatusSubscribed    = "subscribed"
	StatusUnsubscribed  = "unsubscribed"
	StatusCleaned       = "cleaned"
	StatusPending       = "pending"
	StatusTransactional = "transactional"
	StatusArchived      = "archived"
)

// MemberRequest is the body of PUT (add or update) and PATCH (update) of
// a member. Empty fields are not sent: Status in particular is sent only
// when synclayer means to change the member's status, since a PUT with
// status "subscribed" resubscribes an unsubscribed member. StatusIfNew
// applies only when the address is not yet in the audience. PATCH does
// not accept StatusIfNew or "transactional".
type MemberRequest struct {
	EmailAddress string         `json:"email_address,omitempty"`
	StatusIfNew  string         `json:"status_if_new,omitempty"`
	Status       string         `json:"status,omitempty"`
	MergeFields  map[string]any `json:"merge_fields,omitempty"`
}

// Member is what Mailchimp holds for an audience member.
type Member struct {
	ID           string                     `json:"id"` // the subscriber hash
	EmailAddress string                     `json:"email_address"`
	Status       string                     `json:"status"`
	MergeFields  map[string]json.RawMessage `json:"merge_fields,omitempty"`
	Tags         []MemberTag                `json:"tags,omitempty"`
	LastChanged  string                     `json:"last_changed,omitempty"` // ISO 8601
}

// MemberTag is a tag as a member reports it.
type MemberTag struct {
	ID   int64  `json:"id"`
	Name string `json:"name"`
}

// Tag is one entry of POST …/tags: Status "active" adds the tag (creating
// it when new), "inactive" removes it.
type Tag struct {
	Name   string `json:"name"`
	Status string `json:"status"`
}

const memberRoute = "/lists/{list_id}/members/{subscriber_hash}"

func memberPath(listID, hash string) string {
	return "/lists/" + url.PathEscape(listID) + "/members/" + url.PathEscape(hash)
}

// GetMember returns the member with hash; an *APIError with status 404
// (IsNotFound) when the audience holds none, as after a permanent delete.
// An archived member is returned with status "archived".
func (c *Client) GetMember(ctx context.Context, listID, hash string) (*Member, error) {
	m := &Member{}
	_, err := c.do(ctx, call{method: http.MethodGet, route: memberRoute, path: memberPath(listID, hash), out: m})
	if err != nil {
		return nil, err
	}
	return m, nil
}

// PutMember adds or updates the member with hash.
func (c *Client) PutMember(ctx context.Context, listID, hash string, req MemberRequest) (*Member, error) {
	m := &Member{}
	_, err := c.do(ctx, call{method: http.MethodPut, route: memberRoute, path: memberPath(listID, hash), body: req, out: m})
	if err != nil {
		return nil, err
	}
	return m, nil
}

// PatchMember updates an existing member; with EmailAddress set it
// changes the member's address, and so its subscriber hash.
func (c *Client) PatchMember(ctx context.Context, listID, hash string, req MemberRequest) (*Member, error) {
	m := &Member{}
	_, err := c.do(ctx, call{method: http.MethodPatch, route: memberRoute, path: memberPath(listID, hash), body: req, out: m})
	if err != nil {
		return nil, err
	}
	return m, nil
}

// ArchiveMember archives the member (DELETE): it leaves the audience's
// counts but keeps its history, and a later PUT adds it back.
func (c *Client) ArchiveMember(ctx context.Context, listID, hash string) error {
	_, err := c.do(ctx, call{method: http.MethodDelete, route: memberRoute, path: memberPath(listID, hash)})
	return err
}

// DeleteMemberPermanent erases the member's personal data. Mailchimp then
// refuses to re-add the address ("Forgotten Email Not Subscribed") until
// the person signs up again themselves.
func (c *Client) DeleteMemberPermanent(ctx context.Context, listID, hash string) error {
	_, err := c.do(ctx, call{method: http.MethodPost, route: memberRoute + "/actions/delete-permanent",
		path: memberPath(listID, hash) + "/actions/delete-permanent"})
	return err
}

// UpdateMemberTags adds and removes tags on the member. It sets
// is_syncing, so tag-triggered automations do not fire for a sync.
func (c *Client) UpdateMemberTags(ctx context.Context, listID, hash string, tags []Tag) error {
	return c.postTags(ctx, listID, hash, tags, true)
}

// TagMember adds and removes tags on the member with is_syncing false, so
// Mailchimp's tag-triggered automations fire: it is for workflow actions,
// which change a tag on purpose.
func (c *Client) TagMember(ctx context.Context, listID, hash string, tags []Tag) error {
	return c.postTags(ctx, listID, hash, tags, false)
}

func (c *Client) postTags(ctx context.Context, listID, hash string, tags []Tag, syncing bool) error {
	body := struct {
		Tags      []Tag `json:"tags"`
		IsSyncing bool  `json:"is_syncing"`
	}{tags, syncing}
	_, err := c.do(ctx, call{method: http.MethodPost, route: memberRoute + "/tags",
		path: memberPath(listID, hash) + "/tags", body: body})
	return err
}
