package klaviyo

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"synclayer"
)

// Email marketing consent states, as Klaviyo reports them in
// subscriptions.email.marketing.consent.
const (
	ConsentSubscribed      = "SUBSCRIBED"
	ConsentUnsubscribed    = "UNSUBSCRIBED"
	ConsentNeverSubscribed = "NEVER_SUBSCRIBED"
)

// ProfileUpsert is one create-or-update of POST /api/profile-import.
// Klaviyo finds the profile by ID when one is given, else by the
// identifiers among Attributes (email, phone_number, external_id), and
// creates it when none matches. Attributes are Klaviyo's: email,
// first_name, location (an object), properties (custom properties, any
// name), ...; a nil value is sent as null, which clears the attribute,
// and an attribute left out is left unchanged. Unset removes custom
// properties (meta.patch_properties.unset), which null cannot.
type ProfileUpsert struct {
	ID         string         `json:"id,omitempty"`
	Attributes map[string]any `json:"attributes"`
	Unset      []string       `json:"unset,omitempty"`
}

// body is the JSON:API document of u.
func (u ProfileUpsert) body() any { return map[string]any{"data": u.object()} }

// object is u as a profile resource object, the element of a bulk
// import job's profiles.
func (u ProfileUpsert) object() any {
	type patch struct {
		Unset []string `json:"unset"`
	}
	type meta struct {
		PatchProperties patch `json:"patch_properties"`
	}
	type data struct {
		Type       string         `json:"type"`
		ID         string         `json:"id,omitempty"`
		Attributes map[string]any `json:"attributes"`
		Meta       *meta          `json:"meta,omitempty"`
	}
	d := data{Type: "profile", ID: u.ID, Attributes: u.Attributes}
	if d.Attributes == nil {
		d.Attributes = map[string]any{}
	}
	if len(u.Unset) > 0 {
		d.Meta = &meta{PatchProperties: patch{Unset: u.Unset}}
	}
	return d
}

// Profile is a profile as Klaviyo answers it. Attributes holds every
// attribute received, including location and properties as objects.
type Profile struct {
	ID          string
	Email       string
	PhoneNumber string
	ExternalID  string
	Attributes  map[string]json.RawMessage
	// EmailMarketing is nil unless the profile was read with its
	// subscriptions.
	EmailMarketing *EmailMarketing
}

// EmailMarketing is subscriptions.email.marketing of a profile.
type EmailMarketing struct {
	Consent          string            `json:"consent"`
	ConsentTimestamp string            `json:"consent_timestamp"`
	CanReceive       bool              `json:"can_receive_email_marketing"`
	Method           string            `json:"method"`
	Suppression      []Suppression     `json:"suppression"`
	ListSuppressions []ListSuppression `json:"list_suppressions"`
}

// Suppression is a global email suppression. Reason is HARD_BOUNCE,
// INVALID_EMAIL, SPAM_COMPLAINT, UNSUBSCRIBE or USER_SUPPRESSED.
type Suppression struct {
	Reason    string `json:"reason"`
	Timestamp string `json:"timestamp"`
}

// Time is the suppression's timestamp; false when Klaviyo sent none that
// reads as ISO 8601.
func (x Suppression) Time() (time.Time, bool) { return parseTimestamp(x.Timestamp) }

// ListSuppression is a suppression from one list.
type ListSuppression struct {
	ListID    string `json:"list_id"`
	Reason    string `json:"reason"`
	Timestamp string `json:"timestamp"`
}

// profileObject is a profile resource object of an answer.
type profileObject struct {
	ID         string                     `json:"id"`
	Attributes map[string]json.RawMessage `json:"attributes"`
}

func (o profileObject) profile() *Profile {
	p := &Profile{ID: o.ID, Attributes: o.Attributes}
	str := func(k string) string {
		var s string
		_ = json.Unmarshal(o.Attributes[k], &s)
		return s
	}
	p.Email, p.PhoneNumber, p.ExternalID = str("email"), str("phone_number"), str("external_id")
	var subs struct {
		Email struct {
			Marketing *EmailMarketing `json:"marketing"`
		} `json:"email"`
	}
	if raw, ok := o.Attributes["subscriptions"]; ok && json.Unmarshal(raw, &subs) == nil {
		p.EmailMarketing = subs.Email.Marketing
	}
	delete(p.Attributes, "subscriptions")
	return p
}

// UpsertProfile creates or updates a profile and returns its ID; created
// is true on 201 and false on 200 (an existing profile was updated). When
// the identifiers match two different profiles Klaviyo answers a permanent
// 409 duplicate_profile, for which DuplicateProfileID names one of them.
func (c *Client) UpsertProfile(ctx context.Context, u ProfileUpsert) (id string, created bool, err error) {
	var w struct {
		Data profileObject `json:"data"`
	}
	status, err := c.do(ctx, call{method: http.MethodPost, route: "/api/profile-import", path: "/api/profile-import", body: u.body(), out: &w})
	if err != nil {
		return "", false, err
	}
	return w.Data.ID, status == http.StatusCreated, nil
}

// FindProfiles returns the profiles whose field (email, external_id,
// phone_number or id) equals value, with their subscriptions when
// subscriptions is set. No match is an empty slice and no error.
func (c *Client) FindProfiles(ctx context.Context, field, value string, subscriptions bool) ([]*Profile, error) {
	k := call{method: http.MethodGet, route: "/api/profiles", path: "/api/profiles"}
	if strings.ContainsAny(value, "\"\\") || value == "" {
		return nil, synclayer.Permanent(c.wrap(k, errors.New("a profile filter value cannot be empty or hold a double quote or backslash")))
	}
	k.query = url.Values{"filter": {"equals(" + field + `,"` + value + `")`}, "page[size]": {"20"}}
	if subscriptions {
		k.query.Set("additional-fields[profile]", "subscriptions")
	}
	var w struct {
		Data []profileObject `json:"data"`
	}
	k.out = &w
	if _, err := c.do(ctx, k); err != nil {
		return nil, err
	}
	out := make([]*Profile, len(w.Data))
	for i, o := range w.Data {
		out[i] = o.profile()
	}
	return out, nil
}

// GetProfile returns the profile with Klaviyo ID id, with its
// subscriptions when subscriptions is set. A missing profile is a
// permanent error for which IsNotFound is true.
func (c *Client) GetProfile(ctx context.Context, id string, subscriptions bool) (*Profile, error) {
	var w struct {
		Data profileObject `json:"data"`
	}
	k := call{method: http.MethodGet, route: "/api/profiles/{id}", path: "/api/profiles/" + url.PathEscape(id), out: &w}
	if subscriptions {
		k.query = url.Values{"additional-fields[profile]": {"subscriptions"}}
	}
	if _, err := c.do(ctx, k); err != nil {
		return nil, err
	}
	return w.Data.profile(), nil
}

// MaxProfilePage is the most profiles get_profiles answers per page
// (page[size] "Max: 100", spec).
const MaxProfilePage = 100

// SuppressionQuery asks for one page of the profiles with a global email
// suppression after a time.
type SuppressionQuery struct {
	After      time.Time // suppressed strictly after it
	Cursor     string    // the page[cursor] the page before gave; "" for the first
	PageSize   int       // 1 to MaxProfilePage; 0 is MaxProfilePage
	Background bool      // take at most half of the profiles bucket (reconciliation)
}

// ProfilePage is one page of profiles.
type ProfilePage struct {
	Profiles []*Profile
	Next     string    // the page[cursor] of the next page; "" on the last
	Date     time.Time // Klaviyo's Date header; zero when absent
}

// ListSuppressedProfiles returns one page of the profiles with a global
// email suppression (HARD_BOUNCE, SPAM_COMPLAINT, USER_SUPPRESSED, ...)
// whose timestamp is after q.After, oldest suppression first, each with
// its email, external_id and subscriptions (GET /api/profiles?filter=
// greater-than(subscriptions.email.marketing.suppression.timestamp,…)
// &sort=subscriptions.email.marketing.suppression.timestamp). Errors are
// classified as for every call.
func (c *Client) ListSuppressedProfiles(ctx context.Context, q SuppressionQuery) (*ProfilePage, error) {
	const field = "subscriptions.email.marketing.suppression.timestamp"
	size := q.PageSize
	if size <= 0 || size > MaxProfilePage {
		size = MaxProfilePage
	}
	var w struct {
		Data  []profileObject `json:"data"`
		Links collectionLinks `json:"links"`
	}
	var h http.Header
	k := call{method: http.MethodGet, route: "/api/profiles", path: "/api/profiles", out: &w, spare: q.Background, header: &h,
		query: url.Values{
			"filter":                     {"greater-than(" + field + "," + filterTime(q.After) + ")"},
			"sort":                       {field},
			"additional-fields[profile]": {"subscriptions"},
			"fields[profile]":            {"email,external_id,subscriptions"},
			"page[size]":                 {strconv.Itoa(size)},
		}}
	if q.Cursor != "" {
		k.query.Set("page[cursor]", q.Cursor)
	}
	if _, err := c.do(ctx, k); err != nil {
		return nil, err
	}
	next, err := w.Links.cursor()
	if err != nil {
		return nil, c.wrap(k, err)
	}
	page := &ProfilePage{Next: next, Date: answerDate(h)}
	for _, o := range w.Data {
		page.Profiles = append(page.Profiles, o.profile())
	}
	return page, nil
}
