package adminclient

import (
	"context"
	"net/http"
	"net/url"

	"synclayer"
)

// ContactService reads canonical contacts (viewer).
type ContactService struct{ c *Client }

// Contacts returns the contact calls.
func (c *Client) Contacts() *ContactService { return &ContactService{c} }

// Get returns one contact; an unknown ID is an *Error with Code "not_found".
func (s *ContactService) Get(ctx context.Context, id string) (*synclayer.Contact, error) {
	var out synclayer.Contact
	if err := s.c.do(ctx, http.MethodGet, "/api/v1/contacts/"+escape(id), nil, nil, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// Find returns the contacts with an email, newest first; none is an empty
// list, not an error.
func (s *ContactService) Find(ctx context.Context, email string) ([]*synclayer.Contact, error) {
	var out struct {
		Contacts []*synclayer.Contact `json:"contacts"`
	}
	err := s.c.do(ctx, http.MethodGet, "/api/v1/contacts", url.Values{"email": {email}}, nil, &out)
	return out.Contacts, err
}

// Trace returns a contact's history, oldest first: each event with the rule
// that decided every field, and each delivery with what Brevo answered.
func (s *ContactService) Trace(ctx context.Context, id string) ([]*synclayer.TraceEntry, error) {
	var out struct {
		Trace []*synclayer.TraceEntry `json:"trace"`
	}
	err := s.c.do(ctx, http.MethodGet, "/api/v1/contacts/"+escape(id)+"/trace", nil, nil, &out)
	return out.Trace, err
}
