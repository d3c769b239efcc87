package brevo

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"synclayer"
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

// Contact is a contact as GET /contacts/{identifier} returns it, or as
// GET /contacts lists it. Brevo reports the external ID as the EXT_ID
// attribute; ExtID holds it too.
type Contact struct {
	ID               int64
	Email            string
	ExtID            string
	Attributes       map[string]any
	EmailBlacklisted bool
	SMSBlacklisted   bool
	ListIDs          []int64
	// CreatedAt and ModifiedAt are Brevo's times, zero when absent or
	// unreadable; RawModifiedAt is modifiedAt as Brevo wrote it.
	CreatedAt, ModifiedAt time.Time
	RawModifiedAt         string
	// OptedOutInBrevo is set when GET /contacts/{identifier}'s statistics
	// record the person's own opt-out in Brevo: an unsubscription through
	// a campaign's link, a spam complaint or a hard bounce. Brevo calls
	// resubscribing such a contact illegal; synclayer never lifts their
	// block (ContactSync.run).
	OptedOutInBrevo bool
}

// contactWire is a contact as Brevo's getContactDetails encodes it.
type contactWire struct {
	ID               int64          `json:"id"`
	Email            string         `json:"email"`
	ExtID            string         `json:"ext_id"` // not in the spec; read in case
	Attributes       map[string]any `json:"attributes"`
	EmailBlacklisted bool           `json:"emailBlacklisted"`
	SMSBlacklisted   bool           `json:"smsBlacklisted"`
	ListIDs          []int64        `json:"listIds"`
	CreatedAt        string         `json:"createdAt"`
	ModifiedAt       string         `json:"modifiedAt"`
	// Statistics come only with GET /contacts/{identifier}.
	Statistics *struct {
		Complaints      []json.RawMessage `json:"complaints"`
		HardBounces     []json.RawMessage `json:"hardBounces"`
		Unsubscriptions *struct {
			UserUnsubscription []json.RawMessage `json:"userUnsubscription"`
		} `json:"unsubscriptions"`
	} `json:"statistics"`
}

func (w *contactWire) contact() *Contact {
	ct := &Contact{
		ID: w.ID, Email: w.Email, ExtID: w.ExtID, Attributes: w.Attributes,
		EmailBlacklisted: w.EmailBlacklisted, SMSBlacklisted: w.SMSBlacklisted, ListIDs: w.ListIDs,
		CreatedAt: brevoTimestamp(w.CreatedAt), ModifiedAt: brevoTimestamp(w.ModifiedAt), RawModifiedAt: w.ModifiedAt,
	}
	if st := w.Statistics; st != nil {
		ct.OptedOutInBrevo = len(st.Complaints) > 0 || len(st.HardBounces) > 0 ||
			st.Unsubscriptions != nil && len(st.Unsubscriptions.UserUnsubscription) > 0
	}
	if s, ok := w.Attributes["EXT_ID"].(string); ok && s != "" {
		ct.ExtID = s
	}
	return ct
}

// brevoTimestamp reads Brevo's YYYY-MM-DDTHH:mm:ss.SSSZ, which its
// examples write with and without milliseconds and with Z or an offset
// (RFC 3339 takes all of them); zero when it is not one.
func brevoTimestamp(s string) time.Time {
	t, err := time.Parse(time.RFC3339Nano, strings.TrimSpace(s))
	if err != nil {
		return time.Time{}
	}
	return t.UTC()
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
	var w contactWire
	if _, err := c.do(ctx, contactCall(http.MethodGet, identifier, t, nil, &w)); err != nil {
		return nil, err
	}
	return w.contact(), nil
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

// MaxContactPage is the most contacts GET /contacts returns in one page
// (its limit parameter's maximum in Brevo's spec).
const MaxContactPage = 1000

// ContactQuery is a request of GET /contacts. Brevo sorts the answer by
// creation, never by modification, whatever Sort says.
type ContactQuery struct {
	ModifiedSince time.Time // only contacts modified after it; zero for all
	Limit         int       // 1 to MaxContactPage; 0 is Brevo's default, 50
	Offset        int       // the index of the page's first contact
	Sort          string    // "asc" (oldest created first) or "desc" (Brevo's default); "" sends none
	// Background takes at most half of the contacts bucket's budget,
	// waiting for the rest, so a background read never starves deliveries.
	Background bool
}

// ContactPage is one page of GET /contacts.
type ContactPage struct {
	Contacts []*Contact
	Count    int64     // the contacts matching the query, over all pages
	Date     time.Time // Brevo's clock when it answered (the Date header); zero when absent
}

// ListContacts returns one page of the account's contacts. A limit outside
// 0 to MaxContactPage is a permanent EINVALID error, sent nowhere.
func (c *Client) ListContacts(ctx context.Context, q ContactQuery) (*ContactPage, error) {
	if q.Limit < 0 || q.Limit > MaxContactPage || q.Offset < 0 {
		return nil, synclayer.Permanent(synclayer.Errorf(synclayer.EINVALID, "brevo: GET /contacts: limit must be 0 to %d and offset not negative", MaxContactPage))
	}
	query := url.Values{}
	if !q.ModifiedSince.IsZero() {
		// UTC with milliseconds and the Z Brevo asks for; Encode escapes
		// the colons, as its "urlencoded" asks.
		query.Set("modifiedSince", q.ModifiedSince.UTC().Format("2006-01-02T15:04:05.000Z07:00"))
	}
	if q.Limit > 0 {
		query.Set("limit", strconv.Itoa(q.Limit))
	}
	if q.Offset > 0 {
		query.Set("offset", strconv.Itoa(q.Offset))
	}
	if q.Sort != "" {
		query.Set("sort", q.Sort)
	}
	var w struct {
		Contacts []contactWire `json:"contacts"`
		Count    int64         `json:"count"`
	}
	var h http.Header
	if _, err := c.do(ctx, call{method: http.MethodGet, route: "/contacts", path: "/contacts", query: query, out: &w, spare: q.Background, header: &h}); err != nil {
		return nil, err
	}
	p := &ContactPage{Count: w.Count, Contacts: make([]*Contact, len(w.Contacts))}
	for i := range w.Contacts {
		p.Contacts[i] = w.Contacts[i].contact()
	}
	if t, err := http.ParseTime(h.Get("Date")); err == nil {
		p.Date = t.UTC()
	}
	return p, nil
}
