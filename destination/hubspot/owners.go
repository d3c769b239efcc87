package hubspot

import (
	"context"
	"net/http"
	"net/url"

	"synclayer"
)

// Owner is one owner as GET /crm/v3/owners returns it.
type Owner struct {
	ID        string `json:"id"`
	Email     string `json:"email"`
	FirstName string `json:"firstName"`
	LastName  string `json:"lastName"`
	Type      string `json:"type"` // PERSON or QUEUE
	Archived  bool   `json:"archived"`
}

// ListOwners reads every active owner (GET /crm/v3/owners, 100 a page,
// following paging.next.after). It needs the crm.objects.owners.read
// scope.
func (c *Client) ListOwners(ctx context.Context) ([]Owner, error) {
	var all []Owner
	after := ""
	for range 1000 { // 100,000 owners: a bound, not a limit anyone reaches
		q := url.Values{"limit": {"100"}, "archived": {"false"}}
		if after != "" {
			q.Set("after", after)
		}
		var page struct {
			Results []Owner `json:"results"`
			Paging  struct {
				Next struct {
					After string `json:"after"`
				} `json:"next"`
			} `json:"paging"`
		}
		if _, err := c.do(ctx, call{method: http.MethodGet, route: "/crm/v3/owners", path: "/crm/v3/owners", query: q, out: &page}); err != nil {
			return nil, err
		}
		all = append(all, page.Results...)
		if after = page.Paging.Next.After; after == "" {
			return all, nil
		}
	}
	return all, nil
}

// Owners lists HubSpot's active owners of type PERSON (queues own no
// contacts), from a copy at most synclayer.OwnersTTL old.
func (d *Destination) Owners(ctx context.Context) ([]synclayer.Owner, error) {
	return d.owners.Owners(ctx, func(ctx context.Context) ([]synclayer.Owner, error) {
		list, err := d.client.ListOwners(ctx)
		if err != nil {
			return nil, err
		}
		out := make([]synclayer.Owner, 0, len(list))
		for _, o := range list {
			if o.Archived || o.Type == "QUEUE" {
				continue
			}
			out = append(out, synclayer.Owner{ID: o.ID, Email: o.Email, FirstName: o.FirstName, LastName: o.LastName})
		}
		return out, nil
	})
}

var _ synclayer.OwnerDirectory = (*Destination)(nil)
