package pipedrivesim

import (
	"encoding/json"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Organization is a simulated organization.
type Organization struct {
	ID         int64  `json:"id"`
	Name       string `json:"name"`
	OwnerID    int64  `json:"owner_id"`
	AddTime    string `json:"add_time"`
	UpdateTime string `json:"update_time"`
	IsDeleted  bool   `json:"is_deleted"`
}

// Deal is a simulated deal.
type Deal struct {
	ID           int64          `json:"id"`
	Title        string         `json:"title"`
	Value        float64        `json:"value"`
	Currency     string         `json:"currency"`
	OwnerID      int64          `json:"owner_id"`
	PersonID     *int64         `json:"person_id"`
	OrgID        *int64         `json:"org_id"`
	PipelineID   int64          `json:"pipeline_id"`
	StageID      int64          `json:"stage_id"`
	Status       string         `json:"status"`
	CustomFields map[string]any `json:"custom_fields"`
	AddTime      string         `json:"add_time"`
	UpdateTime   string         `json:"update_time"`
	CloseTime    *string        `json:"close_time"`
	WonTime      *string        `json:"won_time"`
	LostTime     *string        `json:"lost_time"`
	IsDeleted    bool           `json:"is_deleted"`
}

// Stages are the simulated company's pipelines and their stages: the
// default pipeline 1 with Pipedrive's five default stages, 1 to 5, and a
// second pipeline 2 with stages 6 to 8.
var Stages = map[int64][]int64{1: {1, 2, 3, 4, 5}, 2: {6, 7, 8}}

// ActivityTypes are the key strings of Pipedrive's default activity
// types (GET /v1/activityTypes in a new company).
var ActivityTypes = []string{"call", "meeting", "task", "deadline", "email", "lunch"}

// Activity is a simulated activity.
type Activity struct {
	ID         int64  `json:"id"`
	Subject    string `json:"subject"`
	Type       string `json:"type"`
	OwnerID    int64  `json:"owner_id"`
	PersonID   *int64 `json:"person_id"`
	DealID     *int64 `json:"deal_id"`
	OrgID      *int64 `json:"org_id"`
	DueDate    string `json:"due_date,omitempty"`
	DueTime    string `json:"due_time,omitempty"`
	Note       string `json:"note,omitempty"`
	Done       bool   `json:"done"`
	AddTime    string `json:"add_time"`
	UpdateTime string `json:"update_time"`
}

// Note is a simulated note (v1).
type Note struct {
	ID       int64  `json:"id"`
	Content  string `json:"content"`
	PersonID *int64 `json:"person_id"`
	DealID   *int64 `json:"deal_id"`
	OrgID    *int64 `json:"org_id"`
	UserID   int64  `json:"user_id"`
	AddTime  string `json:"add_time"`
}

// User is a simulated user (v1).
type User struct {
	ID         int64  `json:"id"`
	Name       string `json:"name"`
	Email      string `json:"email"`
	ActiveFlag bool   `json:"active_flag"`
	IsAdmin    int    `json:"is_admin"`
}

func (s *Server) routeCRM() {
	s.mux.HandleFunc("GET /api/v2/organizations/search", s.handleOrgSearch)
	s.mux.HandleFunc("POST /api/v2/organizations", s.handleOrgCreate)
	s.mux.HandleFunc("GET /api/v2/organizations/{id}", s.handleOrgGet)
	s.mux.HandleFunc("GET /api/v2/deals/search", s.handleDealSearch)
	s.mux.HandleFunc("POST /api/v2/deals", s.handleDealCreate)
	s.mux.HandleFunc("GET /api/v2/deals/{id}", s.handleDealGet)
	s.mux.HandleFunc("PATCH /api/v2/deals/{id}", s.handleDealUpdate)
	s.mux.HandleFunc("GET /api/v2/dealFields", s.handleDealFieldList)
	s.mux.HandleFunc("POST /api/v2/dealFields", s.handleDealFieldCreate)
	s.mux.HandleFunc("POST /api/v2/activities", s.handleActivityCreate)
	s.mux.HandleFunc("GET /api/v2/activities", s.handleActivityList)
	s.mux.HandleFunc("GET /api/v2/activities/{id}", s.handleActivityGet)
	s.mux.HandleFunc("POST /api/v1/notes", s.handleNoteCreate)
	s.mux.HandleFunc("GET /api/v1/notes", s.handleNoteList)
	s.mux.HandleFunc("GET /api/v1/users", s.handleUserList)
	s.mux.HandleFunc("GET /api/v1/webhooks", s.handleWebhookList)
	s.mux.HandleFunc("POST /api/v1/webhooks", s.handleWebhookCreate)
	s.mux.HandleFunc("DELETE /api/v1/webhooks/{id}", s.handleWebhookDelete)
}

func (s *Server) stamp() string { return s.now().UTC().Format(time.RFC3339) }

func sortedKeys[V any](m map[int64]V) []int64 {
	ids := make([]int64, 0, len(m))
	for id := range m {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	return ids
}

func pathID(r *http.Request) int64 {
	id, _ := strconv.ParseInt(r.PathValue("id"), 10, 64)
	return id
}

func decode(w http.ResponseWriter, r *http.Request, v any) bool {
	if err := json.NewDecoder(r.Body).Decode(v); err != nil {
		writeError(w, http.StatusBadRequest, "invalid JSON body")
		return false
	}
	return true
}

// Organizations returns copies of the live organizations, by ID.
func (s *Server) Organizations() []Organization {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []Organization
	for _, id := range sortedKeys(s.orgs) {
		if o := s.orgs[id]; !o.IsDeleted {
			out = append(out, *o)
		}
	}
	return out
}

// DeleteOrganizationInPipedrive deletes organization id, as a user would.
func (s *Server) DeleteOrganizationInPipedrive(id int64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if o := s.orgs[id]; o != nil {
		o.IsDeleted = true
	}
}

func (s *Server) handleOrgSearch(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	term, exact := strings.TrimSpace(q.Get("term")), q.Get("exact_match") == "true"
	if len(term) < 2 && !(exact && len(term) == 1) {
		writeError(w, http.StatusBadRequest, "term must be at least 2 characters long")
		return
	}
	type item struct {
		ResultScore float64 `json:"result_score"`
		Item        any     `json:"item"`
	}
	items := []item{}
	s.mu.Lock()
	for _, id := range sortedKeys(s.orgs) {
		o := s.orgs[id]
		name := strings.ToLower(o.Name)
		if o.IsDeleted || !s.searchable(o.ID) || !((exact && name == strings.ToLower(term)) || (!exact && strings.Contains(name, strings.ToLower(term)))) {
			continue
		}
		items = append(items, item{ResultScore: 1, Item: map[string]any{"id": o.ID, "type": "organization", "name": o.Name,
			"address": nil, "owner": map[string]any{"id": o.OwnerID}, "custom_fields": []string{}, "notes": []string{}}})
	}
	s.mu.Unlock()
	writeData(w, http.StatusOK, map[string]any{"items": items}, map[string]any{"next_cursor": nil})
}

func (s *Server) handleOrgCreate(w http.ResponseWriter, r *http.Request) {
	var in struct {
		Name    string `json:"name"`
		OwnerID *int64 `json:"owner_id"`
	}
	if !decode(w, r, &in) {
		return
	}
	if strings.TrimSpace(in.Name) == "" {
		writeError(w, http.StatusBadRequest, "Name must be given.")
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	o := &Organization{Name: strings.TrimSpace(in.Name), OwnerID: DefaultOwner, AddTime: s.stamp(), UpdateTime: s.stamp()}
	if in.OwnerID != nil {
		if !s.activeUser(*in.OwnerID) {
			writeError(w, http.StatusBadRequest, "owner_id: no such user")
			return
		}
		o.OwnerID = *in.OwnerID
	}
	s.seq++
	o.ID = s.seq
	s.orgs[o.ID] = o
	s.index(o.ID)
	writeData(w, http.StatusOK, o, nil)
}

// index records when search sees record id, created now, under SearchLag.
// The caller holds s.mu.
func (s *Server) index(id int64) {
	if s.searchLag > 0 {
		s.indexed[id] = time.Now().Add(s.searchLag)
	}
}

// searchable says whether search sees record id yet. The caller holds s.mu.
func (s *Server) searchable(id int64) bool {
	at, ok := s.indexed[id]
	if ok && !time.Now().Before(at) {
		delete(s.indexed, id) // indexed now: nothing left to remember
		return true
	}
	return !ok
}

func (s *Server) handleOrgGet(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	o := s.orgs[pathID(r)]
	if o == nil || o.IsDeleted {
		writeError(w, http.StatusNotFound, "Organization not found")
		return
	}
	writeData(w, http.StatusOK, o, nil)
}

func (s *Server) activeUser(id int64) bool {
	for _, u := range s.users {
		if u.ID == id {
			return u.ActiveFlag
		}
	}
	return false
}

// Users returns the simulated company's users.
func (s *Server) Users() []User {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.users)
}

// AddUser adds a user to the company, as an admin would.
func (s *Server) AddUser(u User) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.users = append(s.users, u)
}

func (s *Server) handleUserList(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	writeData(w, http.StatusOK, s.users, nil)
}
