package pipedrivesim

import (
	"net/http"
	"slices"
	"strconv"
	"strings"
)

// Activities returns copies of the activities, by ID.
func (s *Server) Activities() []Activity {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []Activity
	for _, id := range sortedKeys(s.activities) {
		out = append(out, *s.activities[id])
	}
	return out
}

// Notes returns copies of the notes, by ID.
func (s *Server) Notes() []Note {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []Note
	for _, id := range sortedKeys(s.notes) {
		out = append(out, *s.notes[id])
	}
	return out
}

func (s *Server) livePerson(id *int64) bool {
	if id == nil {
		return true
	}
	p := s.persons[*id]
	return p != nil && !p.IsDeleted
}

func (s *Server) handleActivityCreate(w http.ResponseWriter, r *http.Request) {
	var in struct {
		Subject  string `json:"subject"`
		Type     string `json:"type"`
		OwnerID  *int64 `json:"owner_id"`
		PersonID *int64 `json:"person_id"`
		DealID   *int64 `json:"deal_id"`
		OrgID    *int64 `json:"org_id"`
		DueDate  string `json:"due_date"`
		DueTime  string `json:"due_time"`
		Note     string `json:"note"`
		Done     bool   `json:"done"`
	}
	if !decode(w, r, &in) {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	a := &Activity{Subject: in.Subject, Type: in.Type, OwnerID: DefaultOwner, PersonID: in.PersonID, DealID: in.DealID, OrgID: in.OrgID,
		DueDate: in.DueDate, DueTime: in.DueTime, Note: in.Note, Done: in.Done, AddTime: s.stamp(), UpdateTime: s.stamp()}
	switch {
	case a.Type == "":
		a.Type = "call" // the company's default activity type
	case !slices.Contains(ActivityTypes, a.Type):
		writeError(w, http.StatusBadRequest, "type: no such activity type")
		return
	}
	if in.OwnerID != nil {
		if !s.activeUser(*in.OwnerID) {
			writeError(w, http.StatusBadRequest, "owner_id: no such user")
			return
		}
		a.OwnerID = *in.OwnerID
	}
	if !s.livePerson(in.PersonID) {
		writeError(w, http.StatusBadRequest, "person_id: no such person")
		return
	}
	if a.Subject == "" {
		a.Subject = strings.ToUpper(a.Type[:1]) + a.Type[1:]
	}
	s.seq++
	a.ID = s.seq
	s.activities[a.ID] = a
	writeData(w, http.StatusOK, a, nil)
}

func (s *Server) handleActivityList(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	person, _ := strconv.ParseInt(q.Get("person_id"), 10, 64)
	s.mu.Lock()
	defer s.mu.Unlock()
	out := []Activity{}
	for _, id := range sortedKeys(s.activities) {
		a := s.activities[id]
		if person != 0 && (a.PersonID == nil || *a.PersonID != person) {
			continue
		}
		out = append(out, *a)
	}
	writeData(w, http.StatusOK, out, map[string]any{"next_cursor": nil})
}

func (s *Server) handleActivityGet(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	a := s.activities[pathID(r)]
	if a == nil {
		writeError(w, http.StatusNotFound, "Activity not found")
		return
	}
	writeData(w, http.StatusOK, a, nil)
}

func (s *Server) handleNoteCreate(w http.ResponseWriter, r *http.Request) {
	var in struct {
		Content  string `json:"content"`
		PersonID *int64 `json:"person_id"`
		DealID   *int64 `json:"deal_id"`
		OrgID    *int64 `json:"org_id"`
		UserID   *int64 `json:"user_id"`
		AddTime  string `json:"add_time"`
	}
	if !decode(w, r, &in) {
		return
	}
	if strings.TrimSpace(in.Content) == "" {
		writeError(w, http.StatusBadRequest, "Content must be given.")
		return
	}
	if in.PersonID == nil && in.DealID == nil && in.OrgID == nil {
		writeError(w, http.StatusBadRequest, "Note must be attached to a deal, person, organization, lead or project.")
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.livePerson(in.PersonID) {
		writeError(w, http.StatusBadRequest, "person_id: no such person")
		return
	}
	n := &Note{Content: in.Content, PersonID: in.PersonID, DealID: in.DealID, OrgID: in.OrgID, UserID: DefaultOwner, AddTime: s.stamp()}
	if in.AddTime != "" {
		n.AddTime = in.AddTime
	}
	if in.UserID != nil {
		n.UserID = *in.UserID
	}
	s.seq++
	n.ID = s.seq
	s.notes[n.ID] = n
	writeData(w, http.StatusOK, n, nil)
}

// handleNoteList answers GET /v1/notes with v1's start/limit pagination
// (additional_data.pagination.more_items_in_collection).
func (s *Server) handleNoteList(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	person, _ := strconv.ParseInt(q.Get("person_id"), 10, 64)
	start, _ := strconv.Atoi(q.Get("start"))
	limit, _ := strconv.Atoi(q.Get("limit"))
	if limit <= 0 || limit > 500 {
		limit = 100
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	var all []Note
	for _, id := range sortedKeys(s.notes) {
		n := s.notes[id]
		if person != 0 && (n.PersonID == nil || *n.PersonID != person) {
			continue
		}
		all = append(all, *n)
	}
	page := []Note{}
	if start < len(all) {
		page = all[start:min(len(all), start+limit)]
	}
	more := start+limit < len(all)
	writeData(w, http.StatusOK, page, map[string]any{"pagination": map[string]any{"start": start, "limit": limit, "more_items_in_collection": more, "next_start": start + limit}})
}
