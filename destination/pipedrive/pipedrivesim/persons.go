package pipedrivesim

import (
	"encoding/json"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Person is a simulated person.
type Person struct {
	ID              int64          `json:"id"`
	Name            string         `json:"name"`
	FirstName       string         `json:"first_name"`
	LastName        string         `json:"last_name"`
	OwnerID         int64          `json:"owner_id"`
	OrgID           *int64         `json:"org_id"`
	Emails          []Channel      `json:"emails"`
	Phones          []Channel      `json:"phones"`
	MarketingStatus string         `json:"marketing_status,omitempty"`
	CustomFields    map[string]any `json:"custom_fields"`
	AddTime         string         `json:"add_time"`
	UpdateTime      string         `json:"update_time"`
	IsDeleted       bool           `json:"is_deleted"`
}

// Channel is an email address or phone number.
type Channel struct {
	Value   string `json:"value"`
	Primary bool   `json:"primary"`
	Label   string `json:"label,omitempty"`
}

// DefaultOwner is the user the simulator's token belongs to, the owner of
// the persons it creates.
const DefaultOwner = 1

// Marketing statuses.
const (
	NoConsent    = "no_consent"
	Subscribed   = "subscribed"
	Unsubscribed = "unsubscribed"
	Archived     = "archived"
)

type personInput struct {
	Name            *string        `json:"name"`
	OwnerID         *int64         `json:"owner_id"`
	OrgID           *int64         `json:"org_id"`
	Emails          *[]Channel     `json:"emails"`
	Phones          *[]Channel     `json:"phones"`
	MarketingStatus *string        `json:"marketing_status"`
	CustomFields    map[string]any `json:"custom_fields"`
}

// Person returns a copy of the live person holding email, or else the
// last deleted one (IsDeleted), and whether there is any.
func (s *Server) Person(email string) (Person, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	var found *Person
	for _, id := range s.sortedIDs() {
		p := s.persons[id]
		if hasEmail(p, email) && (found == nil || found.IsDeleted) {
			found = p
		}
	}
	if found == nil {
		return Person{}, false
	}
	return clone(found), true
}

// UnsubscribeInPipedrive unsubscribes the persons holding email, as a
// Campaigns unsubscribe link does.
func (s *Server) UnsubscribeInPipedrive(email string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, p := range s.persons {
		if hasEmail(p, email) {
			p.MarketingStatus = Unsubscribed
		}
	}
}

// DeleteInPipedrive deletes the persons holding email, as a user would.
func (s *Server) DeleteInPipedrive(email string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, p := range s.persons {
		if hasEmail(p, email) {
			p.IsDeleted = true
		}
	}
}

func (s *Server) sortedIDs() []int64 {
	ids := make([]int64, 0, len(s.persons))
	for id := range s.persons {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	return ids
}

func hasEmail(p *Person, email string) bool {
	for _, e := range p.Emails {
		if strings.EqualFold(e.Value, email) {
			return true
		}
	}
	return false
}

func clone(p *Person) Person {
	c := *p
	c.Emails, c.Phones = slices.Clone(p.Emails), slices.Clone(p.Phones)
	c.CustomFields = map[string]any{}
	for k, v := range p.CustomFields {
		c.CustomFields[k] = v
	}
	return c
}

// view is a person as the API returns it: marketing_status only when
// asked for with include_fields.
func view(p *Person, marketing bool) Person {
	c := clone(p)
	if !marketing {
		c.MarketingStatus = ""
	}
	return c
}

func (s *Server) handleSearch(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	term, exact := strings.TrimSpace(q.Get("term")), q.Get("exact_match") == "true"
	if len(term) < 2 && !(exact && len(term) == 1) {
		writeError(w, http.StatusBadRequest, "term must be at least 2 characters long")
		return
	}
	byEmail := q.Get("fields") == "" || slices.Contains(strings.Split(q.Get("fields"), ","), "email")
	type item struct {
		ResultScore float64 `json:"result_score"`
		Item        any     `json:"item"`
	}
	items := []item{}
	s.mu.Lock()
	for _, id := range s.sortedIDs() {
		p := s.persons[id]
		if p.IsDeleted || !byEmail || !s.searchable(p.ID) {
			continue
		}
		var emails []string
		match := false
		for _, e := range p.Emails {
			emails = append(emails, e.Value)
			if (exact && strings.EqualFold(e.Value, term)) || (!exact && strings.Contains(strings.ToLower(e.Value), strings.ToLower(term))) {
				match = true
			}
		}
		if match {
			var phones []string
			for _, ph := range p.Phones {
				phones = append(phones, ph.Value)
			}
			items = append(items, item{ResultScore: 1, Item: map[string]any{"id": p.ID, "type": "person", "name": p.Name,
				"emails": emails, "phones": phones, "owner": map[string]any{"id": p.OwnerID}, "custom_fields": []string{}, "notes": []string{}}})
		}
	}
	s.mu.Unlock()
	writeData(w, http.StatusOK, map[string]any{"items": items}, map[string]any{"next_cursor": nil})
}

func (s *Server) person(w http.ResponseWriter, r *http.Request) *Person {
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	p := s.persons[id]
	if err != nil || p == nil || p.IsDeleted {
		writeError(w, http.StatusNotFound, "Person not found")
		return nil
	}
	return p
}

func (s *Server) handleGet(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	p := s.person(w, r)
	if p == nil {
		return
	}
	marketing := slices.Contains(strings.Split(r.URL.Query().Get("include_fields"), ","), "marketing_status")
	writeData(w, http.StatusOK, view(p, marketing), nil)
}

func (s *Server) handleCreate(w http.ResponseWriter, r *http.Request) {
	var in personInput
	if err := json.NewDecoder(r.Body).Decode(&in); err != nil {
		writeError(w, http.StatusBadRequest, "invalid JSON body")
		return
	}
	if in.Name == nil || strings.TrimSpace(*in.Name) == "" {
		writeError(w, http.StatusBadRequest, "Name must be given.")
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.seq++
	now := s.now().UTC().Format(time.RFC3339)
	p := &Person{ID: s.seq, OwnerID: DefaultOwner, CustomFields: map[string]any{}, AddTime: now, MarketingStatus: NoConsent}
	if msg := s.apply(p, in); msg != "" {
		s.seq--
		writeError(w, http.StatusBadRequest, msg)
		return
	}
	s.persons[p.ID] = p
	s.index(p.ID)
	writeData(w, http.StatusOK, view(p, false), nil)
}

func (s *Server) handleUpdate(w http.ResponseWriter, r *http.Request) {
	var in personInput
	if err := json.NewDecoder(r.Body).Decode(&in); err != nil {
		writeError(w, http.StatusBadRequest, "invalid JSON body")
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	p := s.person(w, r)
	if p == nil {
		return
	}
	next := clone(p)
	if msg := s.apply(&next, in); msg != "" {
		writeError(w, http.StatusBadRequest, msg)
		return
	}
	*p = next
	writeData(w, http.StatusOK, view(p, false), nil)
}

func (s *Server) handleDelete(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	p := s.person(w, r)
	if p == nil {
		return
	}
	p.IsDeleted = true
	writeData(w, http.StatusOK, map[string]any{"id": p.ID}, nil)
}

// apply writes in to p, or returns why Pipedrive would refuse it.
func (s *Server) apply(p *Person, in personInput) string {
	if in.Name != nil {
		if strings.TrimSpace(*in.Name) == "" {
			return "Name must be given."
		}
		p.Name = strings.TrimSpace(*in.Name)
		p.FirstName, p.LastName, _ = strings.Cut(p.Name, " ")
	}
	if in.OwnerID != nil {
		if !s.activeUser(*in.OwnerID) {
			return "owner_id: no such user"
		}
		p.OwnerID = *in.OwnerID
	}
	if in.OrgID != nil {
		if o := s.orgs[*in.OrgID]; o == nil || o.IsDeleted {
			return "org_id: no such organization"
		}
		p.OrgID = in.OrgID
	}
	if in.Emails != nil {
		p.Emails = slices.Clone(*in.Emails)
	}
	if in.Phones != nil {
		p.Phones = slices.Clone(*in.Phones)
	}
	for code, v := range in.CustomFields {
		if !s.customField(code) {
			return "Unknown custom field key " + code
		}
		if v == nil {
			delete(p.CustomFields, code)
		} else {
			p.CustomFields[code] = v
		}
	}
	if in.MarketingStatus != nil {
		switch m := *in.MarketingStatus; m {
		case NoConsent, Subscribed, Unsubscribed, Archived:
			if allowed(p, m) {
				p.MarketingStatus = m
			}
		default:
			return "marketing_status must be one of no_consent, unsubscribed, subscribed, archived"
		}
	}
	p.UpdateTime = s.now().UTC().Format(time.RFC3339)
	return ""
}

// allowed reports whether p's marketing_status may change to m: a person
// with no valid email keeps no_consent, and an unsubscribed one stays
// unsubscribed; a change not allowed leaves the status as it is, without
// an error, as the API reference says.
func allowed(p *Person, m string) bool {
	if len(p.Emails) == 0 {
		return false
	}
	return p.MarketingStatus != Unsubscribed || m == Unsubscribed
}
