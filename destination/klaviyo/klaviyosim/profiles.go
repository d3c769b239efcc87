package klaviyosim

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/mail"
	"regexp"
	"slices"
	"strings"
	"time"
)

// Profile is the server's record of a profile. Attributes holds the
// standard string attributes (first_name, last_name, organization, locale,
// title, image); Location and Properties are the location object and the
// custom properties. EmailConsent is SUBSCRIBED, UNSUBSCRIBED or
// NEVER_SUBSCRIBED.
type Profile struct {
	ID, Email, PhoneNumber, ExternalID string

	Attributes map[string]string
	Location   map[string]any
	Properties map[string]any

	EmailConsent     string
	ConsentMethod    string
	ConsentAt        time.Time
	Suppressions     []Suppression
	ListSuppressions []ListSuppression

	// LastEvent is the time of the profile's latest event
	// (last_event_date); Updated moves with every change, events included.
	Created, Updated, LastEvent time.Time
}

// Suppression is a global email suppression: HARD_BOUNCE, INVALID_EMAIL,
// SPAM_COMPLAINT, UNSUBSCRIBE or USER_SUPPRESSED.
type Suppression struct {
	Reason string
	At     time.Time
}

// ListSuppression is a suppression from one list.
type ListSuppression struct {
	ListID, Reason string
	At             time.Time
}

// stringAttrs are the profile's standard attributes of type string, as
// the spec's ProfileUpsertQueryResourceObject lists them.
var stringAttrs = []string{"first_name", "last_name", "organization", "locale", "title", "image"}

var locationKeys = []string{"address1", "address2", "city", "country", "latitude", "longitude", "region", "zip", "timezone", "ip"}

var e164 = regexp.MustCompile(`^\+[1-9][0-9]{6,14}$`)

// validEmail is the check Klaviyo makes before it stores an email.
func validEmail(s string) bool {
	a, err := mail.ParseAddress(s)
	return err == nil && a.Address == s && strings.Contains(s[strings.LastIndex(s, "@")+1:], ".")
}

type upsertBody struct {
	Data struct {
		Type       string                     `json:"type"`
		ID         *string                    `json:"id"`
		Attributes map[string]json.RawMessage `json:"attributes"`
		Meta       *struct {
			PatchProperties *struct {
				Unset json.RawMessage `json:"unset"`
			} `json:"patch_properties"`
		} `json:"meta"`
	} `json:"data"`
}

func (s *Server) handleProfileImport(w http.ResponseWriter, r *http.Request) {
	var b upsertBody
	if err := json.NewDecoder(r.Body).Decode(&b); err != nil || b.Data.Type != "profile" {
		invalid("The body must be a profile resource: {\"data\":{\"type\":\"profile\",\"attributes\":{...}}}.", "/data").write(w)
		return
	}
	up, e := parseUpsert(b)
	if e != nil {
		e.write(w)
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	p, e := s.identify(b.Data.ID, up.ids)
	if e != nil {
		e.write(w)
		return
	}
	status := http.StatusOK
	if p == nil {
		p = s.newProfile()
		status = http.StatusCreated
	}
	up.apply(p)
	p.Updated = s.now()
	writeJSON(w, status, map[string]any{"data": s.resource(p, wantSubscriptions(r))})
}

// identify finds the profile an upsert names: by id when given, else by
// its identifiers. Identifiers held by two different profiles are a 409
// duplicate_profile naming the other one; nil, nil means create.
func (s *Server) identify(id *string, ids map[string]string) (*Profile, *apiError) {
	var p *Profile
	if id != nil && *id != "" {
		if p = s.profiles[*id]; p == nil {
			return nil, notFound("A profile with id " + *id + " does not exist.")
		}
	}
	for _, field := range []string{"email", "phone_number", "external_id"} {
		v, ok := ids[field]
		if !ok || v == "" {
			continue
		}
		q := s.findBy(field, v)
		switch {
		case q == nil || q == p:
		case p == nil:
			p = q
		default:
			return nil, &apiError{status: http.StatusConflict, code: "duplicate_profile",
				detail: "A profile already exists with one of these identifiers.", pointer: "/data/attributes",
				meta: map[string]any{"duplicate_profile_id": q.ID}}
		}
	}
	if p == nil && len(ids) == 0 {
		return nil, invalid("One of email, phone_number or external_id is required to create a profile.", "/data/attributes")
	}
	return p, nil
}

func (s *Server) newProfile() *Profile {
	s.nextID++
	now := s.now()
	p := &Profile{ID: fmt.Sprintf("01SIM%021d", s.nextID), Attributes: map[string]string{}, Location: map[string]any{},
		Properties: map[string]any{}, EmailConsent: "NEVER_SUBSCRIBED", Created: now, Updated: now}
	s.profiles[p.ID] = p
	return p
}

// findBy returns the profile whose field equals v; emails match without
// regard to case. s.mu is held.
func (s *Server) findBy(field, v string) *Profile {
	for _, id := range s.sortedIDs() {
		p := s.profiles[id]
		switch field {
		case "id":
			if p.ID == v {
				return p
			}
		case "email":
			if p.Email != "" && strings.EqualFold(p.Email, v) {
				return p
			}
		case "phone_number":
			if p.PhoneNumber != "" && p.PhoneNumber == v {
				return p
			}
		case "external_id":
			if p.ExternalID != "" && p.ExternalID == v {
				return p
			}
		}
	}
	return nil
}

func (s *Server) sortedIDs() []string {
	ids := make([]string, 0, len(s.profiles))
	for id := range s.profiles {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	return ids
}

func (s *Server) handleProfileGet(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	p := s.profiles[r.PathValue("id")]
	if p == nil {
		notFound("A profile with id " + r.PathValue("id") + " does not exist.").write(w)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"data": s.resource(p, wantSubscriptions(r)), "links": map[string]any{"self": "/api/profiles/" + p.ID}})
}

// handleProfileList answers get_profiles: the profiles an identifier
// equals, or those with a global suppression after a time; sorted by ID,
// or by suppression time (a profile's newest); paged by cursor.
func (s *Server) handleProfileList(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	size, e := pageSize(q, 20, 100)
	if e != nil {
		e.write(w)
		return
	}
	var f profileFilter
	if v := q.Get("filter"); v != "" {
		if f, e = parseFilter(v); e != nil {
			e.write(w)
			return
		}
	}
	bySuppression := false
	switch q.Get("sort") {
	case "", "id":
	case sortSuppression:
		bySuppression = true
	default:
		(&apiError{status: http.StatusBadRequest, code: "invalid", detail: "The simulator sorts profiles only by id or " + sortSuppression + ".", parameter: "sort"}).write(w)
		return
	}
	from, paged, e := parsePosition(q.Get("page[cursor]"))
	if e != nil {
		e.write(w)
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	type hit struct {
		p   *Profile
		pos position
	}
	var hits []hit
	for _, id := range s.sortedIDs() {
		p := s.profiles[id]
		switch {
		case f.field != "" && !matches(p, f.field, f.value):
			continue
		case f.afterOp != "" && !slices.ContainsFunc(p.Suppressions, func(x Suppression) bool { return passes(x.At, f.afterOp, f.after) }):
			continue
		}
		h := hit{p: p, pos: position{id: p.ID}}
		if bySuppression {
			h.pos.at = newestSuppression(p)
		}
		hits = append(hits, h)
	}
	slices.SortFunc(hits, func(a, b hit) int {
		if a.pos.before(b.pos) {
			return -1
		}
		return 1
	})
	data := []any{}
	var last position
	more := false
	for _, h := range hits {
		if paged && !from.before(h.pos) {
			continue
		}
		if len(data) == size {
			more = true
			break
		}
		data = append(data, s.resource(h.p, wantSubscriptions(r)))
		last = h.pos
	}
	writeJSON(w, http.StatusOK, map[string]any{"data": data, "links": links(r, more, last)})
}

// sortSuppression is get_profiles' sort by the time of global suppression.
const sortSuppression = "subscriptions.email.marketing.suppression.timestamp"

// newestSuppression is the time of p's latest global suppression, its
// sort key by suppression time (Klaviyo does not document which of
// several it sorts by).
func newestSuppression(p *Profile) time.Time {
	var t time.Time
	for _, x := range p.Suppressions {
		if x.At.After(t) {
			t = x.At
		}
	}
	return t
}

func matches(p *Profile, field, v string) bool {
	switch field {
	case "id":
		return p.ID == v
	case "email":
		return p.Email != "" && strings.EqualFold(p.Email, v)
	case "phone_number":
		return p.PhoneNumber == v && v != ""
	case "external_id":
		return p.ExternalID == v && v != ""
	}
	return false
}

func wantSubscriptions(r *http.Request) bool {
	for _, v := range r.URL.Query()["additional-fields[profile]"] {
		if slices.Contains(strings.Split(v, ","), "subscriptions") {
			return true
		}
	}
	return false
}
