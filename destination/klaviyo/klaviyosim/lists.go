package klaviyosim

import (
	"encoding/json"
	"net/http"
	"time"
)

type list struct {
	id, name string
	created  time.Time
	members  map[string]bool // profile IDs
}

func (s *Server) handleListGet(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	l := s.lists[r.PathValue("id")]
	if l == nil {
		notFound("A list with id " + r.PathValue("id") + " does not exist.").write(w)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{
		"data": map[string]any{"type": "list", "id": l.id, "attributes": map[string]any{
			"name": l.name, "created": timestamp(l.created), "updated": timestamp(l.created), "opt_in_process": "single_opt_in",
		}, "links": map[string]any{"self": "/api/lists/" + l.id}},
		"links": map[string]any{"self": "/api/lists/" + l.id},
	})
}

// handleListMembers adds (POST) or removes (DELETE) profiles, without
// touching their consent. An unknown list or profile is a 404.
func (s *Server) handleListMembers(w http.ResponseWriter, r *http.Request) {
	var b struct {
		Data []struct {
			Type string `json:"type"`
			ID   string `json:"id"`
		} `json:"data"`
	}
	if err := json.NewDecoder(r.Body).Decode(&b); err != nil || len(b.Data) == 0 || len(b.Data) > 1000 {
		invalid("The body must hold 1 to 1000 profile identifiers.", "/data").write(w)
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	l := s.lists[r.PathValue("id")]
	if l == nil {
		notFound("A list with id " + r.PathValue("id") + " does not exist.").write(w)
		return
	}
	for _, d := range b.Data {
		if d.Type != "profile" || s.profiles[d.ID] == nil {
			notFound("A profile with id " + d.ID + " does not exist.").write(w)
			return
		}
	}
	for _, d := range b.Data {
		if r.Method == http.MethodPost {
			l.members[d.ID] = true
		} else {
			delete(l.members, d.ID)
		}
	}
	w.WriteHeader(http.StatusNoContent)
}

// DeletionJob is one data-privacy deletion received, with the identifier
// it named and how many profiles it deleted.
type DeletionJob struct {
	ProfileID, Email, PhoneNumber string
	Deleted                       int
	At                            time.Time
}

// handleDeletion deletes every profile matching the one identifier given,
// and its list memberships, before answering 202.
func (s *Server) handleDeletion(w http.ResponseWriter, r *http.Request) {
	var b struct {
		Data struct {
			Type       string `json:"type"`
			Attributes struct {
				Profile struct {
					Data struct {
						ID         *string `json:"id"`
						Attributes struct {
							Email       *string `json:"email"`
							PhoneNumber *string `json:"phone_number"`
						} `json:"attributes"`
					} `json:"data"`
				} `json:"profile"`
			} `json:"attributes"`
		} `json:"data"`
	}
	if err := json.NewDecoder(r.Body).Decode(&b); err != nil || b.Data.Type != "data-privacy-deletion-job" {
		invalid("The body must be a data-privacy-deletion-job resource.", "/data").write(w)
		return
	}
	d := b.Data.Attributes.Profile.Data
	job := DeletionJob{ProfileID: deref(d.ID), Email: deref(d.Attributes.Email), PhoneNumber: deref(d.Attributes.PhoneNumber)}
	n := 0
	field, value := "", ""
	for _, c := range []struct{ f, v string }{{"id", job.ProfileID}, {"email", job.Email}, {"phone_number", job.PhoneNumber}} {
		if c.v != "" {
			n++
			field, value = c.f, c.v
		}
	}
	if n != 1 {
		invalid("Exactly one of id, email or phone_number is required.", "/data/attributes/profile/data").write(w)
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, id := range s.sortedIDs() {
		if p := s.profiles[id]; matches(p, field, value) {
			delete(s.profiles, id)
			for _, l := range s.lists {
				delete(l.members, id)
			}
			job.Deleted++
		}
	}
	job.At = s.now()
	s.deletions = append(s.deletions, job)
	w.WriteHeader(http.StatusAccepted)
}

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}
