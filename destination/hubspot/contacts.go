package hubspot

import (
	"context"
	"net/http"
	"net/url"
	"strings"
)

// MaxBatch is the most inputs one batch call takes.
const MaxBatch = 100

// UpsertInput is one contact of a batch upsert, keyed by a unique
// property's value (the email).
type UpsertInput struct {
	ID         string            `json:"id"`
	IDProperty string            `json:"idProperty"`
	Properties map[string]string `json:"properties"`
}

// Object is a CRM contact as HubSpot answers it.
type Object struct {
	ID         string            `json:"id"`
	Properties map[string]string `json:"properties"`
	Archived   bool              `json:"archived"`
	New        bool              `json:"new"`
}

// BatchError is one entry of a 207's errors.
type BatchError struct {
	Category string              `json:"category"`
	Message  string              `json:"message"`
	Context  map[string][]string `json:"context"`
}

// UpsertResult is a batch upsert's answer: the contacts written, and on a
// 207 the inputs refused.
type UpsertResult struct {
	Results []Object     `json:"results"`
	Errors  []BatchError `json:"errors"`
}

// UpsertContacts creates or updates contacts by email in one call (POST
// /crm/v3/objects/contacts/batch/upsert). A 207 is no error: the refused
// inputs are in Errors.
func (c *Client) UpsertContacts(ctx context.Context, inputs []UpsertInput) (*UpsertResult, error) {
	out := &UpsertResult{}
	_, err := c.do(ctx, call{method: http.MethodPost, route: "/crm/v3/objects/contacts/batch/upsert",
		path: "/crm/v3/objects/contacts/batch/upsert", body: map[string]any{"inputs": inputs}, out: out})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// GetContactByEmail reads the contact with email and the named
// properties; a contact HubSpot does not hold (or holds archived) is a
// 404 APIError (IsNotFound).
func (c *Client) GetContactByEmail(ctx context.Context, email string, properties []string) (*Object, error) {
	q := url.Values{"idProperty": {"email"}}
	if len(properties) > 0 {
		q.Set("properties", strings.Join(properties, ","))
	}
	out := &Object{}
	_, err := c.do(ctx, call{method: http.MethodGet, route: "/crm/v3/objects/contacts/{contactId}",
		path: "/crm/v3/objects/contacts/" + url.PathEscape(email), query: q, out: out})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// UpdateContactByEmail changes the properties of the contact with email
// (PATCH …/{email}?idProperty=email), its email too.
func (c *Client) UpdateContactByEmail(ctx context.Context, email string, properties map[string]string) (*Object, error) {
	out := &Object{}
	_, err := c.do(ctx, call{method: http.MethodPatch, route: "/crm/v3/objects/contacts/{contactId}",
		path: "/crm/v3/objects/contacts/" + url.PathEscape(email), query: url.Values{"idProperty": {"email"}},
		body: map[string]any{"properties": properties}, out: out})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// ArchiveContact moves contact id to HubSpot's recycling bin.
func (c *Client) ArchiveContact(ctx context.Context, id string) error {
	_, err := c.do(ctx, call{method: http.MethodDelete, route: "/crm/v3/objects/contacts/{contactId}",
		path: "/crm/v3/objects/contacts/" + url.PathEscape(id)})
	return err
}

// GDPRDeleteContact permanently deletes the contact with email.
func (c *Client) GDPRDeleteContact(ctx context.Context, email string) error {
	_, err := c.do(ctx, call{method: http.MethodPost, route: "/crm/v3/objects/contacts/gdpr-delete",
		path: "/crm/v3/objects/contacts/gdpr-delete", body: map[string]string{"objectId": email, "idProperty": "email"}})
	return err
}

// GetContactByID reads contact id (HubSpot's record ID) with the named
// properties; archived reads the recycling bin instead. A contact
// HubSpot does not hold there is a 404 APIError (IsNotFound).
func (c *Client) GetContactByID(ctx context.Context, id string, properties []string, archived bool) (*Object, error) {
	q := url.Values{}
	if len(properties) > 0 {
		q.Set("properties", strings.Join(properties, ","))
	}
	if archived {
		q.Set("archived", "true")
	}
	out := &Object{}
	_, err := c.do(ctx, call{method: http.MethodGet, route: "/crm/v3/objects/contacts/{contactId}",
		path: "/crm/v3/objects/contacts/" + url.PathEscape(id), query: q, out: out})
	if err != nil {
		return nil, err
	}
	return out, nil
}
