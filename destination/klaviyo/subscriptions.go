package klaviyo

import (
	"context"
	"errors"
	"fmt"
	"net/http"

	"synclayer"
)

// Per-call profile limits of the bulk endpoints, from the spec's operation
// descriptions; batch work must split above them.
const (
	MaxSubscribeProfiles   = 1000 // POST /api/profile-subscription-bulk-create-jobs
	MaxUnsubscribeProfiles = 100  // POST /api/profile-subscription-bulk-delete-jobs
	MaxListMembers         = 1000 // POST and DELETE /api/lists/{id}/relationships/profiles
)

// Subscriber is one profile of a subscribe job: its email, and its
// Klaviyo ID when known, which Klaviyo then uses for the lookup.
type Subscriber struct {
	ProfileID string
	Email     string
}

// Subscribe grants email marketing consent (SUBSCRIBED) to each profile,
// creating profiles Klaviyo does not know, and adds them to listID when it
// is set; the list's opt-in setting (single or double) then applies, else
// the account's default. It answers 202: Klaviyo runs the job later.
//
// Klaviyo lifts UNSUBSCRIBE, SPAM_COMPLAINT and USER_SUPPRESSED
// suppressions of the profiles, so call it only for people whose opt-in is
// newer than any opt-out Klaviyo holds. No historical_import or
// consented_at is sent: those skip double opt-in and "added to list"
// flows, and consented_at without historical_import is an error.
func (c *Client) Subscribe(ctx context.Context, listID, customSource string, subs ...Subscriber) error {
	k := call{method: http.MethodPost, route: "/api/profile-subscription-bulk-create-jobs", path: "/api/profile-subscription-bulk-create-jobs"}
	if len(subs) == 0 || len(subs) > MaxSubscribeProfiles {
		return synclayer.Permanent(c.wrap(k, fmt.Errorf("a subscribe job takes 1 to %d profiles, not %d", MaxSubscribeProfiles, len(subs))))
	}
	profiles := make([]any, len(subs))
	for i, s := range subs {
		p := map[string]any{"type": "profile", "attributes": map[string]any{
			"email": s.Email,
			"subscriptions": map[string]any{"email": map[string]any{
				"marketing": map[string]any{"consent": ConsentSubscribed},
			}},
		}}
		if s.ProfileID != "" {
			p["id"] = s.ProfileID
		}
		profiles[i] = p
	}
	attrs := map[string]any{"profiles": map[string]any{"data": profiles}}
	if customSource != "" {
		attrs["custom_source"] = customSource
	}
	data := map[string]any{"type": "profile-subscription-bulk-create-job", "attributes": attrs}
	if listID != "" {
		data["relationships"] = map[string]any{"list": map[string]any{"data": map[string]any{"type": "list", "id": listID}}}
	}
	k.body = map[string]any{"data": data}
	_, err := c.do(ctx, k)
	return err
}

// Unsubscribe revokes email marketing consent (UNSUBSCRIBED) of each
// email, globally: it sends no list, because Klaviyo unsubscribes the
// members of a given list from that list only, which is not an opt-out.
// Unknown emails get a new, unsubscribed profile. It answers 202.
func (c *Client) Unsubscribe(ctx context.Context, emails ...string) error {
	k := call{method: http.MethodPost, route: "/api/profile-subscription-bulk-delete-jobs", path: "/api/profile-subscription-bulk-delete-jobs"}
	if len(emails) == 0 || len(emails) > MaxUnsubscribeProfiles {
		return synclayer.Permanent(c.wrap(k, fmt.Errorf("an unsubscribe job takes 1 to %d profiles, not %d", MaxUnsubscribeProfiles, len(emails))))
	}
	profiles := make([]any, len(emails))
	for i, e := range emails {
		profiles[i] = map[string]any{"type": "profile", "attributes": map[string]any{
			"email": e,
			"subscriptions": map[string]any{"email": map[string]any{
				"marketing": map[string]any{"consent": ConsentUnsubscribed},
			}},
		}}
	}
	k.body = map[string]any{"data": map[string]any{
		"type":       "profile-subscription-bulk-delete-job",
		"attributes": map[string]any{"profiles": map[string]any{"data": profiles}},
	}}
	_, err := c.do(ctx, k)
	return err
}

// DeletionTarget names the profile of a data-privacy deletion by exactly
// one identifier: Klaviyo rejects a request with several.
type DeletionTarget struct {
	ProfileID string
	Email     string
}

// RequestDeletion asks Klaviyo to delete every profile matching target,
// with its data, as for a GDPR erasure. It answers 202; the deletion runs
// later and the profile then appears on the account's Deleted Profiles page.
func (c *Client) RequestDeletion(ctx context.Context, target DeletionTarget) error {
	k := call{method: http.MethodPost, route: "/api/data-privacy-deletion-jobs", path: "/api/data-privacy-deletion-jobs"}
	profile := map[string]any{"type": "profile"}
	switch {
	case target.ProfileID != "" && target.Email != "":
		return synclayer.Permanent(c.wrap(k, errors.New("a deletion takes one identifier: the profile ID or the email, not both")))
	case target.ProfileID != "":
		profile["id"], profile["attributes"] = target.ProfileID, map[string]any{}
	case target.Email != "":
		profile["attributes"] = map[string]any{"email": target.Email}
	default:
		return synclayer.Permanent(c.wrap(k, errors.New("a deletion needs the profile ID or the email")))
	}
	k.body = map[string]any{"data": map[string]any{
		"type":       "data-privacy-deletion-job",
		"attributes": map[string]any{"profile": map[string]any{"data": profile}},
	}}
	_, err := c.do(ctx, k)
	return err
}
