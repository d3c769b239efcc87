package brevosim

import (
	"encoding/json"
	"io"
	"net/http"
	"slices"
	"strings"
	"time"
)

// attribute is a contact attribute defined in the account.
type attribute struct {
	Name     string `json:"name"`
	Category string `json:"category"`
	Type     string `json:"type,omitempty"`
}

var (
	categories = []string{"normal", "transactional", "category", "calculated", "global"}
	types      = []string{"text", "date", "float", "boolean", "id", "category", "multiple-choice", "user"}
)

// Attributes returns the names of the attributes in the account.
func (s *Server) Attributes() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	names := make([]string, len(s.attrs))
	for i, a := range s.attrs {
		names[i] = a.Name
	}
	return names
}

func (s *Server) handleAttributeList(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	list := append([]attribute(nil), s.attrs...)
	s.mu.Unlock()
	writeJSON(w, http.StatusOK, map[string]any{"attributes": list})
}

func (s *Server) handleAttributeCreate(w http.ResponseWriter, r *http.Request) {
	category, name := r.PathValue("category"), strings.ToUpper(r.PathValue("name"))
	var req struct {
		Type string `json:"type"`
	}
	if b, _ := io.ReadAll(r.Body); len(b) > 0 {
		if err := json.Unmarshal(b, &req); err != nil {
			writeError(w, http.StatusBadRequest, "invalid_parameter", "Input must be a valid JSON object")
			return
		}
	}
	if !slices.Contains(categories, category) {
		writeError(w, http.StatusBadRequest, "invalid_parameter", "Attribute category is not valid")
		return
	}
	if req.Type == "" && (category == "normal" || category == "transactional") {
		req.Type = "text"
	}
	if req.Type != "" && !slices.Contains(types, req.Type) {
		writeError(w, http.StatusBadRequest, "invalid_parameter", "Attribute type is not valid")
		return
	}
	if name == "" {
		writeError(w, http.StatusBadRequest, "missing_parameter", "Attribute name is missing")
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.attrType(name); ok {
		writeError(w, http.StatusBadRequest, "duplicate_parameter", "Attribute name must be unique")
		return
	}
	s.attrs = append(s.attrs, attribute{Name: name, Category: category, Type: req.Type})
	w.WriteHeader(http.StatusCreated)
}

// attrType returns the type of attribute name; s.mu must be held.
func (s *Server) attrType(name string) (string, bool) {
	for _, a := range s.attrs {
		if a.Name == name {
			return a.Type, true
		}
	}
	return "", false
}

// validValue reports whether v, decoded from JSON, fits an attribute of
// type typ. Brevo silently ignores values that do not.
func validValue(typ string, v any) bool {
	switch typ {
	case "date":
		s, ok := v.(string)
		if !ok {
			return false
		}
		_, err := time.Parse(time.DateOnly, s)
		return err == nil
	case "float":
		_, ok := v.(float64)
		return ok
	case "boolean":
		_, ok := v.(bool)
		return ok
	case "multiple-choice":
		list, ok := v.([]any)
		if !ok {
			return false
		}
		for _, e := range list {
			if _, ok := e.(string); !ok {
				return false
			}
		}
		return true
	case "category":
		switch v.(type) {
		case string, float64:
			return true
		}
		return false
	}
	_, ok := v.(string) // text, id, user
	return ok
}
