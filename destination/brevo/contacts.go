package brevo

import (
	"context"
	"net/http"
	"net/url"
)

// IdentifierType says how the identifier of a contact in a path is to be
// read (Brevo's identifierType query parameter).
type IdentifierType string

const (
	IdentifierEmail     IdentifierType = "email_id"
	IdentifierExtID     IdentifierType = "ext_id"
	IdentifierContactID IdentifierType = "contact_id"
	IdentifierPhone     IdentifierType = "phone_id" // the SMS attribute
)

// CreateContactRequest is the body of POST /contacts. One of Email, ExtID
// or Attributes["SMS"] is required. Attribute names are upper case and must
// exist in the account; Brevo drops unknown ones and values of the wrong
// type without an error. Leave the blacklist fields nil unless consent
// changed: false re-allows a contact who opted out.
type CreateContactRequest struct {
	Email            string         `json:"email,omitempty"`
	ExtID            string         `json:"ext_id,omitempty"`
	Attributes       map[string]any `json:"attributes,omitempty"`
	EmailBlacklisted *bool          `json:"emailBlacklisted,omitempty"`
	SMSBlacklisted   *bool          `json:"smsBlacklisted,omitempty"`
	ListIDs          []int64        `json:"listIds,omitempty"`
	UpdateEnabled    bool           `json:"updateEnabled,omitempty"`
}

// UpdateContactRequest is the body of PUT /contacts/{identifier}. Omitted
// fields are left as they are. Attributes["EMAIL"] changes the email.
type UpdateContactRequest struct {
	Attributes       map[string]any `json:"attributes,omitempty"`
	ExtID            string         `json:"ext_id,omitempty"`
	EmailBlacklisted *bool          `json:"emailBlacklisted,omitempty"`
	SMSBlacklisted   *bool          `json:"smsBlacklisted,omitempty"`
	ListIDs          []int64        `json:"listIds,omitempty"`
	UnlinkListIDs    []int64        `json:"unlinkListIds,omitempty"`
}

// Contact is a contact as GET /contacts/{identifier} returns it. Brevo
// reports the external ID as the EXT_ID attribute; ExtID holds it too.
type Contact struct {
	ID               int64
	Email            string
	ExtID            string
	Attributes       map[string]any
	EmailBlacklisted bool
	SMSBlacklisted   bool
	ListIDs          []int64
}

// Attribute is a contact attribute defined in the account. Category is
// normal, transactional, category, calculated or global; Type is text,
// date, float, boolean, id, category, multiple-choice or user.
type Attribute struct {
	Name     string `json:"name"`
	Category string `json:"category"`
	Type     string `json:"type"`
}

// CreateContact creates a contact, or with UpdateEnabled updates the one
// that has the same email, ext_id or SMS. created is true on 201 (a new
// contact) and false on 204 (an existing one was updated). An existing
// contact without UpdateEnabled is a permanent 400 duplicate_parameter.
func (c *Client) CreateContact(ctx context.Context, r CreateContactRequest) (created bool, err error) {
	status, err := c.do(ctx, call{
		method: http.MethodPost, route: "/contacts", path: "/contacts", body: r,
	})
	return status == http.StatusCreated, err
}

// UpdateContact updates the contact that identifier names as t; an empty t
// lets Brevo read identifier as an email or numeric ID. A missing contact is
// a permanent error for which IsNotFound is true.
func (c *Client) UpdateContact(ctx context.Context, identifier string, t IdentifierType, r UpdateContactRequest) error {
	_, err := c.do(ctx, contactCall(http.MethodPut, identifier, t, r, nil))
	return err
}

// DeleteContact deletes the contact that identifier names as t. A missing
// contact is a permanent error for which IsNotFound is true.
func (c *Client) DeleteContact(ctx context.Context, identifier string, t IdentifierType) error {
	_, err := c.do(ctx, contactCall(http.MethodDelete, identifier, t, nil, nil))
	return err
}

// GetContact returns the contact that identifier names as t. A missing
// contact is a permanent error for which IsNotFound is true, never nil, nil.
func (c *Client) GetContact(ctx context.Context, identifier string, t IdentifierType) (*Contact, error) {
	var w struct {
		ID               int64          `json:"id"`
		Email            string         `json:"email"`
		ExtID            string         `json:"ext_id"` // not in the spec; read in case
		Attributes       map[string]any `json:"attributes"`
		EmailBlacklisted bool           `json:"emailBlacklisted"`
		SMSBlacklisted   bool           `json:"smsBlacklisted"`
		ListIDs          []int64        `json:"listIds"`
	}
	if _, err := c.do(ctx, contactCall(http.MethodGet, identifier, t, nil, &w)); err != nil {
		return nil, err
	}
	ct := &Contact{
		ID: w.ID, Email: w.Email, ExtID: w.ExtID, Attributes: w.Attributes,
		EmailBlacklisted: w.EmailBlacklisted, SMSBlacklisted: w.SMSBlacklisted, ListIDs: w.ListIDs,
	}
	if s, ok := w.Attributes["EXT_ID"].(string); ok && s != "" {
		ct.ExtID = s
	}
	return ct, nil
}

func contactCall(method, identifier string, t IdentifierType, body, out any) call {
	k := call{
		method: method,
		route:  "/contacts/{identifier}",
		path:   "/contacts/" + escapePath(identifier),
		body:   body,
		out:    out,
	}
	if t != "" {
		k.query = url.Values{"identifierType": {string(t)}}
	}
	return k
}

// ListAttributes returns the contact attributes defined in the account.
func (c *Client) ListAttributes(ctx context.Context) ([]Attribute, error) {
	var w struct {
		Attributes []Attribute `json:"attributes"`
	}
	if _, err := c.do(ctx, call{
		method: http.MethodGet, route: "/contacts/attributes", path: "/contacts/attributes", out: &w,
	}); err != nil {
		return nil, err
	}
	return w.Attributes, nil
}

// CreateAttribute defines attribute name in category (usually "normal")
// with type typ (text, date, float, boolean, ...). An existing name is a
// permanent 400.
func (c *Client) CreateAttribute(ctx context.Context, category, name, typ string) error {
	body := struct {
		Type string `json:"type,omitempty"`
	}{typ}
	_, err := c.do(ctx, call{
		method: http.MethodPost,
		route:  "/contacts/attributes/{category}/{name}",
		path:   "/contacts/attributes/" + escapePath(category) + "/" + escapePath(name),
		body:   body,
	})
	return err
}
