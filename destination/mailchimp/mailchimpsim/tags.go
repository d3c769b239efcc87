package mailchimpsim

import (
	"encoding/json"
	"net/http"
	"slices"
)

func (s *Server) handleTagsGet(w http.ResponseWriter, r *http.Request) {
	a, ok := s.lookup(w, r)
	if !ok {
		return
	}
	defer s.mu.Unlock()
	m := a.members[r.PathValue("hash")]
	if m == nil {
		notFound(w)
		return
	}
	tags := []map[string]any{}
	for i, t := range m.Tags {
		tags = append(tags, map[string]any{"id": i + 1, "name": t, "date_added": m.LastChanged.UTC().Format("2006-01-02T15:04:05Z")})
	}
	writeJSON(w, http.StatusOK, map[string]any{"tags": tags, "total_items": len(tags)})
}

// handleTagsPost adds ("active") and removes ("inactive") tags; 204.
func (s *Server) handleTagsPost(w http.ResponseWriter, r *http.Request) {
	var req struct {
		Tags []struct{ Name, Status string } `json:"tags"`
	}
	if err := json.NewDecoder(r.Body).Decode(&req); err != nil {
		invalid(w, validationDetail, FieldError{Field: "tags", Message: "The body is not JSON."})
		return
	}
	a, ok := s.lookup(w, r)
	if !ok {
		return
	}
	defer s.mu.Unlock()
	m := a.members[r.PathValue("hash")]
	if m == nil {
		notFound(w)
		return
	}
	for _, t := range req.Tags {
		i := slices.Index(m.Tags, t.Name)
		switch {
		case t.Status == "active" && i < 0:
			m.Tags = append(m.Tags, t.Name)
		case t.Status == "inactive" && i >= 0:
			m.Tags = slices.Delete(m.Tags, i, i+1)
		}
	}
	w.WriteHeader(http.StatusNoContent)
}
