package hubspotsim

import (
	"encoding/json"
	"maps"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// Contact is one CRM contact the simulator holds.
type Contact struct {
	ID         string
	Properties map[string]string
	Archived   bool
	CreatedAt  time.Time
	UpdatedAt  time.Time
}

// Contact returns a copy of the contact with email, archived or not.
func (s *Server) Contact(email string) (Contact, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	id, ok := s.byEmail[strings.ToLower(email)]
	if !ok {
		return Contact{}, false
	}
	c := *s.contacts[id]
	c.Properties = maps.Clone(c.Properties)
	return c, true
}

type upsertInput struct {
	ID         string            `json:"id"`
	IDProperty string            `json:"idProperty"`
	Properties map[string]string `json:"properties"`
}

type object struct {
	ID         string            `json:"id"`
	Properties map[string]string `json:"properties"`
	CreatedAt  string            `json:"createdAt"`
	UpdatedAt  string            `json:"updatedAt"`
	Archived   bool              `json:"archived"`
	New        *bool             `json:"new,omitempty"`
}

func (s *Server) objectOf(c *Contact) object {
	return object{ID: c.ID, Properties: maps.Clone(c.Properties), CreatedAt: c.CreatedAt.UTC().Format(time.RFC3339Nano),
		UpdatedAt: c.UpdatedAt.UTC().Format(time.RFC3339Nano), Archived: c.Archived}
}

// handleUpsert creates or updates each input by its unique property
// (email here). An archived contact's address creates a new contact, as
// HubSpot's recycling bin keeps the old one apart.
func (s *Server) handleUpsert(w http.ResponseWriter, r *http.Request) {
	var in struct {
		Inputs []upsertInput `json:"inputs"`
	}
	if err := json.NewDecoder(r.Body).Decode(&in); err != nil {
		writeError(w, http.StatusBadRequest, "VALIDATION_ERROR", "Invalid input JSON: "+err.Error(), nil)
		return
	}
	if len(in.Inputs) > 100 {
		writeError(w, http.StatusBadRequest, "VALIDATION_ERROR", "Batch input must contain at most 100 inputs", nil)
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	started := s.now().UTC().Format(time.RFC3339Nano)
	var results []object
	var errs []map[string]any
	for _, x := range in.Inputs {
		if x.IDProperty != "email" {
			errs = append(errs, batchError("VALIDATION_ERROR", "idProperty must be email or another unique property", x.ID))
			continue
		}
		if msg := s.unknownProperty(x.Properties); msg != "" {
			errs = append(errs, batchError("VALIDATION_ERROR", msg, x.ID))
			continue
		}
		email := strings.ToLower(x.ID)
		if !strings.Contains(email, "@") {
			errs = append(errs, batchError("VALIDATION_ERROR", "Property values were not valid: invalid email", x.ID))
			continue
		}
		now := s.now()
		id, ok := s.byEmail[email]
		isNew := !ok || s.contacts[id].Archived
		if isNew {
			s.seq++
			id = strconv.Itoa(s.seq)
			s.contacts[id] = &Contact{ID: id, Properties: map[string]string{}, CreatedAt: now}
			s.byEmail[email] = id
		}
		c := s.contacts[id]
		for k, v := range x.Properties {
			setProperty(c, k, v)
		}
		c.Properties["email"] = email
		c.Properties["hs_object_id"] = id
		c.UpdatedAt = now
		o := s.objectOf(c)
		o.New = &isNew
		results = append(results, o)
	}
	out := map[string]any{"status": "COMPLETE", "results": results, "startedAt": started, "completedAt": s.now().UTC().Format(time.RFC3339Nano)}
	status := http.StatusOK
	if len(errs) > 0 {
		out["errors"], out["numErrors"], status = errs, len(errs), http.StatusMultiStatus
	}
	writeJSON(w, status, out)
}

func batchError(category, message, id string) map[string]any {
	return map[string]any{"status": "error", "category": category, "message": message,
		"context": map[string][]string{"ids": {id}}, "errors": []any{}, "links": map[string]string{}}
}

// unknownProperty is HubSpot's refusal of a property the account lacks.
func (s *Server) unknownProperty(props map[string]string) string {
	for k := range props {
		if _, ok := s.properties[k]; !ok {
			return "Property values were not valid: Property \"" + k + "\" does not exist"
		}
	}
	return ""
}

// find resolves a contactId path value, by ID or by idProperty=email;
// an archived contact is not found.
func (s *Server) find(r *http.Request) *Contact {
	key := r.PathValue("id")
	if r.URL.Query().Get("idProperty") == "email" {
		id, ok := s.byEmail[strings.ToLower(key)]
		if !ok {
			return nil
		}
		key = id
	}
	c := s.contacts[key]
	if c == nil || c.Archived != (r.Method == http.MethodGet && r.URL.Query().Get("archived") == "true") {
		return nil
	}
	return c
}

func (s *Server) handleContactGet(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	c := s.find(r)
	if c == nil {
		writeError(w, http.StatusNotFound, "OBJECT_NOT_FOUND", "resource not found", nil)
		return
	}
	o := s.objectOf(c)
	if want := r.URL.Query().Get("properties"); want != "" {
		o.Properties = map[string]string{"hs_object_id": c.ID}
		for _, p := range strings.Split(want, ",") {
			if v, ok := c.Properties[p]; ok {
				o.Properties[p] = v
			}
		}
	}
	writeJSON(w, http.StatusOK, o)
}

func (s *Server) handleContactPatch(w http.ResponseWriter, r *http.Request) {
	var in struct {
		Properties map[string]string `json:"properties"`
	}
	if err := json.NewDecoder(r.Body).Decode(&in); err != nil {
		writeError(w, http.StatusBadRequest, "VALIDATION_ERROR", "Invalid input JSON: "+err.Error(), nil)
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	c := s.find(r)
	if c == nil {
		writeError(w, http.StatusNotFound, "OBJECT_NOT_FOUND", "resource not found", nil)
		return
	}
	if msg := s.unknownProperty(in.Properties); msg != "" {
		writeError(w, http.StatusBadRequest, "VALIDATION_ERROR", msg, nil)
		return
	}
	if e, ok := in.Properties["email"]; ok {
		e = strings.ToLower(e)
		if other, taken := s.byEmail[e]; taken && other != c.ID && !s.contacts[other].Archived {
			writeError(w, http.StatusConflict, "CONFLICT", "A contact with the email '"+e+"' already exists.", nil)
			return
		}
		delete(s.byEmail, c.Properties["email"])
		s.byEmail[e] = c.ID
		in.Properties["email"] = e
	}
	for k, v := range in.Properties {
		setProperty(c, k, v)
	}
	c.UpdatedAt = s.now()
	writeJSON(w, http.StatusOK, s.objectOf(c))
}

// handleContactArchive moves the contact to the recycling bin.
func (s *Server) handleContactArchive(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if c := s.find(r); c != nil {
		c.Archived = true
	}
	w.WriteHeader(http.StatusNoContent) // HubSpot answers 204 for an unknown ID too
}

// handleGDPRDelete deletes the contact permanently, and its address's
// subscription statuses with it.
func (s *Server) handleGDPRDelete(w http.ResponseWriter, r *http.Request) {
	var in struct {
		ObjectID   string `json:"objectId"`
		IDProperty string `json:"idProperty"`
	}
	if err := json.NewDecoder(r.Body).Decode(&in); err != nil {
		writeError(w, http.StatusBadRequest, "VALIDATION_ERROR", "Invalid input JSON: "+err.Error(), nil)
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	id := in.ObjectID
	if in.IDProperty == "email" {
		id = s.byEmail[strings.ToLower(in.ObjectID)]
	}
	c := s.contacts[id]
	if c == nil {
		writeError(w, http.StatusNotFound, "OBJECT_NOT_FOUND", "resource not found", nil)
		return
	}
	delete(s.contacts, id)
	delete(s.byEmail, c.Properties["email"])
	w.WriteHeader(http.StatusNoContent)
}
