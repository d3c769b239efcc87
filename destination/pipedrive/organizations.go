package pipedrive

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"

	"synclayer"
)

// Organizations: a contact's canonical company (the company field, mapped
// to org_id) is a Pipedrive organization, found by name (GET
// /api/v2/organizations/search, exact match, compared by
// synclayer.CompanyKey so "ACME  Inc" and "acme inc" are one) or created
// (POST /api/v2/organizations), and the person is linked to it by
// org_id. Pipedrive has no unique organization key a client can set, so
// the name is the key; the ID found is kept in the contact's sync state,
// in the client's cache and, with the store's SharedKeys, under the key
// pipedrive:<destination>:org:<CompanyKey> that every instance reads
// first, because Pipedrive's search index can lag a newly created
// organization by a few seconds and two persons of one new company
// delivered at once would otherwise make two. The create itself is made
// under that key's claim (shared.go).

const (
	pathOrganizations      = "/api/v2/organizations"
	pathOrganization       = "/api/v2/organizations/{id}"
	pathOrganizationSearch = "/api/v2/organizations/search"
)

// Organization is a Pipedrive organization as the v2 API returns it.
type Organization struct {
	ID        int64  `json:"id"`
	Name      string `json:"name"`
	OwnerID   int64  `json:"owner_id,omitempty"`
	IsDeleted bool   `json:"is_deleted,omitempty"`
}

// orgCache maps a CompanyKey to the organization ID found or created for
// it by this process.
type orgCache struct {
	mu  sync.Mutex
	ids map[string]int64
}

func (c *orgCache) get(key string) int64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.ids[key]
}

func (c *orgCache) put(key string, id int64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.ids == nil {
		c.ids = map[string]int64{}
	}
	if id == 0 {
		delete(c.ids, key)
		return
	}
	c.ids[key] = id
}

// FindOrganizationByName returns the ID of the organization whose name
// has name's CompanyKey, by GET /api/v2/organizations/search with
// fields=name and exact_match=true; 0 when there is none. Of several, the
// lowest ID (the oldest) is taken, so repeated deliveries settle on one.
func (c *Client) FindOrganizationByName(ctx context.Context, name string) (int64, error) {
	var out envelope[struct {
		Items []struct {
			Item struct {
				ID   int64  `json:"id"`
				Name string `json:"name"`
			} `json:"item"`
		} `json:"items"`
	}]
	key := synclayer.CompanyKey(name)
	q := url.Values{"term": {name}, "fields": {"name"}, "exact_match": {"true"}, "limit": {"100"}}
	if _, err := c.do(ctx, call{method: http.MethodGet, route: pathOrganizationSearch, path: pathOrganizationSearch, query: q, out: &out}); err != nil {
		return 0, err
	}
	var id int64
	for _, it := range out.Data.Items {
		if synclayer.CompanyKey(it.Item.Name) == key && (id == 0 || it.Item.ID < id) {
			id = it.Item.ID
		}
	}
	return id, nil
}

// CreateOrganization creates an organization named name and returns it.
func (c *Client) CreateOrganization(ctx context.Context, name string) (*Organization, error) {
	var out envelope[*Organization]
	body := map[string]string{"name": name}
	if _, err := c.do(ctx, call{method: http.MethodPost, route: pathOrganizations, path: pathOrganizations, body: body, out: &out}); err != nil {
		return nil, err
	}
	if out.Data == nil || out.Data.ID == 0 {
		return nil, synclayer.Permanent(&APIError{Status: http.StatusOK, Message: "Pipedrive answered the organization create without an ID"})
	}
	return out.Data, nil
}

// GetOrganization reads organization id; one that is not there, or is
// deleted, is IsNotFound.
func (c *Client) GetOrganization(ctx context.Context, id int64) (*Organization, error) {
	var out envelope[*Organization]
	path := pathOrganizations + "/" + strconv.FormatInt(id, 10)
	if _, err := c.do(ctx, call{method: http.MethodGet, route: pathOrganization, path: path, out: &out}); err != nil {
		return nil, err
	}
	if out.Data == nil || out.Data.IsDeleted {
		return nil, &APIError{Status: http.StatusNotFound, Message: "organization not found"}
	}
	return out.Data, nil
}

// EnsureOrganization returns the ID of the organization for name: known
// (the hint, from a sync state, or this client's cache, checked to be
// there still), stored under its shared key by this or another instance,
// found by name, or created under the shared key's claim (shared.go), so
// two deliveries of one new company at once make one organization.
// created says this call made it.
func (c *Client) EnsureOrganization(ctx context.Context, name string, hint int64) (id int64, created bool, err error) {
	key := synclayer.CompanyKey(name)
	if key == "" {
		return 0, false, synclayer.Permanent(&APIError{Status: http.StatusBadRequest, Message: "the company has no name"})
	}
	defer c.orgLocks.lock(key)()
	gone := map[int64]bool{} // IDs found deleted already, not asked again
	check := func(ctx context.Context, known int64) (bool, error) {
		if gone[known] {
			return false, nil
		}
		o, err := c.GetOrganization(ctx, known)
		if IsNotFound(err) {
			gone[known] = true
			return false, nil
		}
		if err != nil {
			return false, err
		}
		return synclayer.CompanyKey(o.Name) == key, nil
	}
	for _, known := range []int64{hint, c.orgs.get(key)} {
		if known == 0 {
			continue
		}
		ok, err := check(ctx, known)
		if err != nil {
			return 0, false, err
		}
		if ok {
			c.orgs.put(key, known)
			return known, false, nil
		}
		if c.orgs.get(key) == known {
			c.orgs.put(key, 0)
		}
	}
	id, created, err = c.once(ctx, onceSpec{
		what:  "organization",
		key:   "org:" + key,
		check: check,
		find:  func(ctx context.Context) (int64, error) { return c.FindOrganizationByName(ctx, name) },
		create: func(ctx context.Context) (int64, error) {
			o, err := c.CreateOrganization(ctx, strings.Join(strings.Fields(name), " "))
			if err != nil {
				return 0, mayHaveMade(err)
			}
			return o.ID, nil
		},
	})
	if err != nil {
		return 0, false, err
	}
	c.orgs.put(key, id)
	return id, created, nil
}

// companyName is the contact's company, spaces collapsed, or "".
func companyName(c *synclayer.Contact) string {
	if c == nil {
		return ""
	}
	var name string
	_ = json.Unmarshal(c.Value(synclayer.FieldCompany), &name)
	return strings.Join(strings.Fields(name), " ")
}
