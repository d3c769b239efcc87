package pipedrive

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"net/http"
	"net/url"
	"strconv"
	"strings"
)

// API paths (v2), as documented at developers.pipedrive.com/docs/api/v2.
const (
	pathPersons      = "/api/v2/persons"
	pathPerson       = "/api/v2/persons/{id}"
	pathPersonSearch = "/api/v2/persons/search"
	pathPersonFields = "/api/v2/personFields"
)

// Person is a Pipedrive person as the v2 API returns it. CustomFields are
// keyed by field code (a 40-character hash for custom fields).
type Person struct {
	ID              int64                      `json:"id"`
	Name            string                     `json:"name"`
	FirstName       string                     `json:"first_name"`
	LastName        string                     `json:"last_name"`
	OwnerID         int64                      `json:"owner_id,omitempty"`
	OrgID           int64                      `json:"org_id,omitempty"`
	Emails          []Channel                  `json:"emails"`
	Phones          []Channel                  `json:"phones"`
	MarketingStatus string                     `json:"marketing_status,omitempty"`
	CustomFields    map[string]json.RawMessage `json:"custom_fields,omitempty"`
	IsDeleted       bool                       `json:"is_deleted,omitempty"`
}

// Channel is one email address or phone number of a person.
type Channel struct {
	Value   string `json:"value"`
	Primary bool   `json:"primary"`
	Label   string `json:"label,omitempty"`
}

// PersonInput is the body of a create (POST) or update (PATCH). Phones,
// when not nil, replaces the person's phones (empty: none); a custom
// field set to nil is emptied.
type PersonInput struct {
	Name            string         `json:"name,omitempty"`
	Emails          []Channel      `json:"emails,omitempty"`
	Phones          *[]Channel     `json:"phones,omitempty"`
	OwnerID         int64          `json:"owner_id,omitempty"`
	OrgID           int64          `json:"org_id,omitempty"`
	MarketingStatus string         `json:"marketing_status,omitempty"`
	CustomFields    map[string]any `json:"custom_fields,omitempty"`
}

// Marketing statuses of a person (Campaigns), as the API names them.
const (
	MarketingNoConsent    = "no_consent"
	MarketingSubscribed   = "subscribed"
	MarketingUnsubscribed = "unsubscribed"
	MarketingArchived     = "archived"
)

// PersonField is one person field definition.
type PersonField struct {
	Code     string `json:"field_code"`
	Name     string `json:"field_name"`
	Type     string `json:"field_type"`
	IsCustom bool   `json:"is_custom_field"`
}

type envelope[T any] struct {
	Success        bool `json:"success"`
	Data           T    `json:"data"`
	AdditionalData struct {
		NextCursor *string `json:"next_cursor"`
	} `json:"additional_data"`
}

// FindPersonByEmail returns the ID of the person holding email, by
// GET /api/v2/persons/search with fields=email and exact_match=true
// (which Pipedrive matches case-insensitively); 0 when there is none.
// Of several, the lowest ID (the oldest) is taken, so repeated
// deliveries settle on one person.
func (c *Client) FindPersonByEmail(ctx context.Context, email string) (int64, error) {
	var out envelope[struct {
		Items []struct {
			Item struct {
				ID     int64    `json:"id"`
				Emails []string `json:"emails"`
			} `json:"item"`
		} `json:"items"`
	}]
	q := url.Values{"term": {email}, "fields": {"email"}, "exact_match": {"true"}, "limit": {"10"}}
	if _, err := c.do(ctx, call{method: http.MethodGet, route: pathPersonSearch, path: pathPersonSearch, query: q, out: &out}); err != nil {
		return 0, err
	}
	var id int64
	for _, it := range out.Data.Items {
		for _, e := range it.Item.Emails {
			if strings.EqualFold(strings.TrimSpace(e), email) && (id == 0 || it.Item.ID < id) {
				id = it.Item.ID
			}
		}
	}
	return id, nil
}

func personPath(id int64) string { return pathPersons + "/" + strconv.FormatInt(id, 10) }

// GetPerson reads person id; with marketing, its marketing_status too
// (which Pipedrive returns only when the company has Campaigns). A person
// that is not there is IsNotFound.
func (c *Client) GetPerson(ctx context.Context, id int64, marketing bool) (*Person, error) {
	var out envelope[*Person]
	var q url.Values
	if marketing {
		q = url.Values{"include_fields": {"marketing_status"}}
	}
	if _, err := c.do(ctx, call{method: http.MethodGet, route: pathPerson, path: personPath(id), query: q, out: &out}); err != nil {
		return nil, err
	}
	if out.Data == nil {
		return nil, &APIError{Status: http.StatusNotFound, Message: "no person in the answer"}
	}
	return out.Data, nil
}

// CreatePerson creates a person and returns it.
func (c *Client) CreatePerson(ctx context.Context, in PersonInput) (*Person, error) {
	var out envelope[*Person]
	if _, err := c.do(ctx, call{method: http.MethodPost, route: pathPersons, path: pathPersons, body: in, out: &out}); err != nil {
		return nil, err
	}
	if out.Data == nil {
		out.Data = &Person{}
	}
	return out.Data, nil
}

// UpdatePerson changes the fields in of person id.
func (c *Client) UpdatePerson(ctx context.Context, id int64, in PersonInput) (*Person, error) {
	var out envelope[*Person]
	if _, err := c.do(ctx, call{method: http.MethodPatch, route: pathPerson, path: personPath(id), body: in, out: &out}); err != nil {
		return nil, err
	}
	if out.Data == nil {
		out.Data = &Person{ID: id}
	}
	return out.Data, nil
}

// DeletePerson deletes person id (Pipedrive marks it deleted and purges
// it after 30 days).
func (c *Client) DeletePerson(ctx context.Context, id int64) error {
	_, err := c.do(ctx, call{method: http.MethodDelete, route: pathPerson, path: personPath(id)})
	return err
}

// ListPersonFields returns every person field, following the cursor.
func (c *Client) ListPersonFields(ctx context.Context) ([]PersonField, error) {
	return c.listFields(ctx, pathPersonFields)
}

// listFields returns every field of the v2 fields endpoint path
// (personFields, dealFields), following the cursor.
func (c *Client) listFields(ctx context.Context, path string) ([]PersonField, error) {
	var all []PersonField
	cursor := ""
	for page := 0; page < 100; page++ {
		var out envelope[[]PersonField]
		q := url.Values{"limit": {"500"}}
		if cursor != "" {
			q.Set("cursor", cursor)
		}
		if _, err := c.do(ctx, call{method: http.MethodGet, route: path, path: path, query: q, out: &out}); err != nil {
			return nil, err
		}
		all = append(all, out.Data...)
		if out.AdditionalData.NextCursor == nil || *out.AdditionalData.NextCursor == "" {
			break
		}
		cursor = *out.AdditionalData.NextCursor
	}
	return all, nil
}

// CreatePersonField creates a custom person field and returns it, with
// the code Pipedrive gave it.
func (c *Client) CreatePersonField(ctx context.Context, name, fieldType string) (PersonField, error) {
	return c.createField(ctx, pathPersonFields, name, fieldType)
}

func (c *Client) createField(ctx context.Context, path, name, fieldType string) (PersonField, error) {
	var out envelope[PersonField]
	body := map[string]string{"field_name": name, "field_type": fieldType}
	_, err := c.do(ctx, call{method: http.MethodPost, route: path, path: path, body: body, out: &out})
	return out.Data, err
}

// EnsurePerson returns the ID of the person holding email, creating one
// (named name, or the address when name is empty) when there is none;
// made says it did. customer-sync fills in the rest of the person. With
// the store's SharedKeys the person is made once across instances and
// across customer-sync and order-events (personOnce).
func (c *Client) EnsurePerson(ctx context.Context, email, name string) (id int64, made bool, err error) {
	defer c.personLocks.lock(strings.ToLower(email))()
	if name == "" {
		name = email
	}
	return c.once(ctx, c.personOnce(email, func(ctx context.Context) (int64, error) {
		p, err := c.CreatePerson(ctx, PersonInput{Name: name, Emails: []Channel{{Value: email, Primary: true, Label: "work"}}})
		if err != nil {
			return 0, mayHaveMade(err)
		}
		return p.ID, nil
	}))
}

// personOnce is the person of email made once (shared.go): found by
// email, checked by ID to be there still with the address, created by
// create. Its shared key is pipedrive:<destination>:person:<emailKey>.
func (c *Client) personOnce(email string, create func(context.Context) (int64, error)) onceSpec {
	return onceSpec{
		what: "person",
		key:  "person:" + emailKey(email),
		keep: personKeep,
		check: func(ctx context.Context, id int64) (bool, error) {
			p, err := c.GetPerson(ctx, id, false)
			if IsNotFound(err) {
				return false, nil
			}
			if err != nil || p.IsDeleted {
				return false, err
			}
			for _, e := range p.Emails {
				if strings.EqualFold(strings.TrimSpace(e.Value), strings.TrimSpace(email)) {
					return true, nil
				}
			}
			return false, nil
		},
		find:   func(ctx context.Context) (int64, error) { return c.FindPersonByEmail(ctx, email) },
		create: create,
	}
}

// rememberPerson stores id under the person's shared key, after a
// create that did not go through once (a person deleted in Pipedrive
// made again), so no instance is left with the deleted one's ID.
func (c *Client) rememberPerson(ctx context.Context, email string, id int64) {
	if c.shared != nil && id != 0 {
		c.putShared(ctx, c.sharedPrefix+c.personOnce(email, nil).key, "person", id, personKeep)
	}
}

// emailKey names an address in a shared key without holding it: the
// first 128 bits of the SHA-256 of its lowercase form, in hex.
func emailKey(email string) string {
	sum := sha256.Sum256([]byte(strings.ToLower(strings.TrimSpace(email))))
	return hex.EncodeToString(sum[:16])
}
