package hubspotsim

import (
	"encoding/json"
	"net/http"
	"regexp"
)

// Property is one contact property definition.
type Property struct {
	Name      string `json:"name"`
	Label     string `json:"label"`
	Type      string `json:"type"`
	FieldType string `json:"fieldType"`
	GroupName string `json:"groupName"`
	// HasUniqueValue makes the property an idProperty a batch upsert may
	// key by (deals and companies).
	HasUniqueValue bool `json:"hasUniqueValue,omitempty"`
}

// defaultProperties are some of HubSpot's built-in contact properties.
var defaultProperties = []Property{
	{"email", "Email", "string", "text", "contactinformation", false},
	{"firstname", "First Name", "string", "text", "contactinformation", false},
	{"lastname", "Last Name", "string", "text", "contactinformation", false},
	{"phone", "Phone Number", "string", "phonenumber", "contactinformation", false},
	{"mobilephone", "Mobile Phone Number", "string", "phonenumber", "contactinformation", false},
	{"company", "Company Name", "string", "text", "contactinformation", false},
	{"city", "City", "string", "text", "contactinformation", false},
	{"country", "Country/Region", "string", "text", "contactinformation", false},
	{"zip", "Postal Code", "string", "text", "contactinformation", false},
	{"hs_object_id", "Record ID", "number", "number", "contactinformation", false},
}

// Properties returns the contact properties the account has.
func (s *Server) Properties() map[string]Property {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := map[string]Property{}
	for k, v := range s.properties {
		out[k] = v
	}
	return out
}

func (s *Server) handlePropertyList(w http.ResponseWriter, r *http.Request) {
	props, ok := s.propertiesOf(r.PathValue("objectType"))
	if !ok {
		writeError(w, http.StatusBadRequest, "VALIDATION_ERROR", "Unable to infer object type from: "+r.PathValue("objectType"), nil)
		return
	}
	s.mu.Lock()
	var out []Property
	for _, p := range props {
		out = append(out, p)
	}
	s.mu.Unlock()
	writeJSON(w, http.StatusOK, map[string]any{"results": out})
}

var propertyName = regexp.MustCompile(`^[a-z][a-z0-9_]*$`)

func (s *Server) handlePropertyCreate(w http.ResponseWriter, r *http.Request) {
	var p Property
	if err := json.NewDecoder(r.Body).Decode(&p); err != nil {
		writeError(w, http.StatusBadRequest, "VALIDATION_ERROR", "Invalid input JSON: "+err.Error(), nil)
		return
	}
	if !propertyName.MatchString(p.Name) {
		writeError(w, http.StatusBadRequest, "VALIDATION_ERROR", "Property name must be lowercase letters, digits and underscores, starting with a letter", nil)
		return
	}
	props, ok := s.propertiesOf(r.PathValue("objectType"))
	if !ok {
		writeError(w, http.StatusBadRequest, "VALIDATION_ERROR", "Unable to infer object type from: "+r.PathValue("objectType"), nil)
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := props[p.Name]; ok {
		writeError(w, http.StatusConflict, "OBJECT_ALREADY_EXISTS", "Object already exists", nil)
		return
	}
	props[p.Name] = p
	writeJSON(w, http.StatusCreated, p)
}

// propertiesOf is the property map of a path's object type.
func (s *Server) propertiesOf(t string) (map[string]Property, bool) {
	switch objectType(t) {
	case "contacts":
		return s.properties, true
	case "deals", "companies", "tasks", "notes":
		return s.objProps[objectType(t)], true
	}
	return nil, false
}
