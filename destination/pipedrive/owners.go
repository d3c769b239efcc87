package pipedrive

import (
	"context"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"synclayer"
)

// ownersTTL is how long the users list read from Pipedrive is used
// before it is read again: users change when someone joins or leaves the
// team, and a workflow must not cost a call per action.
const ownersTTL = 5 * time.Minute

const pathUsers = "/api/v1/users"

// User is one user as GET /v1/users returns it (users have no v2 list).
type User struct {
	ID     int64  `json:"id"`
	Name   string `json:"name"`
	Email  string `json:"email"`
	Active bool   `json:"active_flag"`
}

// ListUsers reads every user of the company, active or not.
func (c *Client) ListUsers(ctx context.Context) ([]User, error) {
	var out envelope[[]User]
	if _, err := c.do(ctx, call{method: http.MethodGet, route: pathUsers, path: pathUsers, out: &out}); err != nil {
		return nil, err
	}
	return out.Data, nil
}

type ownerCache struct {
	mu     sync.Mutex
	at     time.Time
	owners []synclayer.Owner
}

var _ synclayer.OwnerDirectory = (*Destination)(nil)

// Owners lists the company's active users (deactivated ones own nothing
// new), from a copy at most five minutes old; when Pipedrive cannot be
// read, an older copy is returned rather than an error. A user's name is
// split at its first space into first and last name.
func (d *Destination) Owners(ctx context.Context) ([]synclayer.Owner, error) {
	d.owners.mu.Lock()
	defer d.owners.mu.Unlock()
	if d.owners.owners != nil && time.Since(d.owners.at) < ownersTTL {
		return d.owners.owners, nil
	}
	users, err := d.client.ListUsers(ctx)
	if err != nil {
		if d.owners.owners != nil {
			return d.owners.owners, nil
		}
		return nil, err
	}
	out := make([]synclayer.Owner, 0, len(users))
	for _, u := range users {
		if !u.Active {
			continue
		}
		first, last, _ := strings.Cut(strings.TrimSpace(u.Name), " ")
		out = append(out, synclayer.Owner{ID: strconv.FormatInt(u.ID, 10), Email: u.Email, FirstName: first, LastName: strings.TrimSpace(last)})
	}
	d.owners.owners, d.owners.at = out, time.Now()
	return out, nil
}
