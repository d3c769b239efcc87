package hubspot

import (
	"context"
	"net/http"
	"net/url"
	"sync"
	"time"

	"synclayer"
)

// ownersTTL is how long the owners list read from HubSpot is used before
// it is read again: owners change when someone joins or leaves the
// team, and a workflow must not cost a call per action.
const ownersTTL = 5 * time.Minute

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

// ownerCache keeps the owners list for ownersTTL; one caller reads it
// while the others wait for the same answer.
type ownerCache struct {
	mu     sync.Mutex
	at     time.Time
	owners []synclayer.Owner
}

// Owners lists HubSpot's active owners of type PERSON (queues own no
// contacts), from a copy at most five minutes old.
func (d *Destination) Owners(ctx context.Context) ([]synclayer.Owner, error) {
	d.owners.mu.Lock()
	defer d.owners.mu.Unlock()
	if d.owners.owners != nil && time.Since(d.owners.at) < ownersTTL {
		return d.owners.owners, nil
	}
	list, err := d.client.ListOwners(ctx)
	if err != nil {
		if d.owners.owners != nil {
			// A stale list beats none: names in a Slack message are not
			// worth failing an action for.
			return d.owners.owners, nil
		}
		return nil, err
	}
	out := make([]synclayer.Owner, 0, len(list))
	for _, o := range list {
		if o.Archived || o.Type == "QUEUE" {
			continue
		}
		out = append(out, synclayer.Owner{ID: o.ID, Email: o.Email, FirstName: o.FirstName, LastName: o.LastName})
	}
	d.owners.owners, d.owners.at = out, time.Now()
	return out, nil
}

var _ synclayer.OwnerDirectory = (*Destination)(nil)
