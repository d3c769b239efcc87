package pipedrive

import (
	"context"
	"net/http"
	"strconv"
	"strings"

	"synclayer"
)

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

var _ synclayer.OwnerDirectory = (*Destination)(nil)

// Owners lists the company's active users (deactivated ones own nothing
// new), from a copy at most synclayer.OwnersTTL old; when Pipedrive cannot be
// read, an older copy is returned rather than an error. A user's name is
// split at its first space into first and last name.
func (d *Destination) Owners(ctx context.Context) ([]synclayer.Owner, error) {
	return d.owners.Owners(ctx, func(ctx context.Context) ([]synclayer.Owner, error) {
		users, err := d.client.ListUsers(ctx)
		if err != nil {
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
		return out, nil
	})
}
