package klaviyo

import (
	"context"
	"fmt"
	"net/http"
	"net/url"

	"synclayer"
)

// List is a Klaviyo list. OptInProcess is "single_opt_in" or
// "double_opt_in", which decides what a subscribe job to it does.
type List struct {
	ID           string
	Name         string
	OptInProcess string
}

// GetList returns the list with ID id. A missing list is a permanent
// error for which IsNotFound is true.
func (c *Client) GetList(ctx context.Context, id string) (*List, error) {
	var w struct {
		Data struct {
			ID         string `json:"id"`
			Attributes struct {
				Name         string `json:"name"`
				OptInProcess string `json:"opt_in_process"`
			} `json:"attributes"`
		} `json:"data"`
	}
	if _, err := c.do(ctx, call{method: http.MethodGet, route: "/api/lists/{id}", path: "/api/lists/" + url.PathEscape(id), out: &w}); err != nil {
		return nil, err
	}
	return &List{ID: w.Data.ID, Name: w.Data.Attributes.Name, OptInProcess: w.Data.Attributes.OptInProcess}, nil
}

// AddToList adds profiles to list listID without touching their consent
// (Klaviyo answers 204). Use Subscribe to give consent.
func (c *Client) AddToList(ctx context.Context, listID string, profileIDs ...string) error {
	return c.listMembers(ctx, http.MethodPost, listID, profileIDs)
}

// RemoveFromList removes profiles from list listID (204). Their consent is
// unchanged: it is no unsubscribe.
func (c *Client) RemoveFromList(ctx context.Context, listID string, profileIDs ...string) error {
	return c.listMembers(ctx, http.MethodDelete, listID, profileIDs)
}

func (c *Client) listMembers(ctx context.Context, method, listID string, ids []string) error {
	k := call{method: method, route: "/api/lists/{id}/relationships/profiles", path: "/api/lists/" + url.PathEscape(listID) + "/relationships/profiles"}
	if len(ids) == 0 || len(ids) > MaxListMembers {
		return synclayer.Permanent(c.wrap(k, fmt.Errorf("a list membership call takes 1 to %d profiles, not %d", MaxListMembers, len(ids))))
	}
	data := make([]map[string]string, len(ids))
	for i, id := range ids {
		data[i] = map[string]string{"type": "profile", "id": id}
	}
	k.body = map[string]any{"data": data}
	_, err := c.do(ctx, k)
	return err
}
