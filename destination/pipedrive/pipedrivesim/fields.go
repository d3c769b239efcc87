package pipedrivesim

import (
	"crypto/sha1"
	"encoding/hex"
	"encoding/json"
	"net/http"
	"slices"
	"strconv"
)

// Field is a person field definition.
type Field struct {
	Code     string `json:"field_code"`
	Name     string `json:"field_name"`
	Type     string `json:"field_type"`
	IsCustom bool   `json:"is_custom_field"`
	Optional bool   `json:"is_optional_response_field"`
}

var standardFields = []Field{
	{Code: "name", Name: "Name", Type: "varchar"},
	{Code: "first_name", Name: "First name", Type: "varchar"},
	{Code: "last_name", Name: "Last name", Type: "varchar"},
	{Code: "emails", Name: "Email", Type: "varchar"},
	{Code: "phones", Name: "Phone", Type: "phone"},
	{Code: "owner_id", Name: "Owner", Type: "user"},
	{Code: "org_id", Name: "Organization", Type: "org"},
	{Code: "marketing_status", Name: "Marketing status", Type: "enum", Optional: true},
}

var fieldTypes = []string{"varchar", "text", "double", "phone", "date", "daterange", "time", "timerange", "set", "enum",
	"varchar_auto", "address", "monetary", "org", "people", "user"}

// Fields returns the person fields, standard and custom.
func (s *Server) Fields() []Field {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.fields)
}

func (s *Server) customField(code string) bool {
	for _, f := range s.fields {
		if f.IsCustom && f.Code == code {
			return true
		}
	}
	return false
}

func (s *Server) handleFieldList(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	fields := slices.Clone(s.fields)
	s.mu.Unlock()
	writeData(w, http.StatusOK, fields, map[string]any{"next_cursor": nil})
}

func (s *Server) handleFieldCreate(w http.ResponseWriter, r *http.Request) {
	var in struct {
		Name string `json:"field_name"`
		Type string `json:"field_type"`
	}
	if err := json.NewDecoder(r.Body).Decode(&in); err != nil || in.Name == "" {
		writeError(w, http.StatusBadRequest, "field_name is required")
		return
	}
	if !slices.Contains(fieldTypes, in.Type) {
		writeError(w, http.StatusBadRequest, "field_type is not valid")
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.seq++
	sum := sha1.Sum([]byte(in.Name + "/" + strconv.FormatInt(s.seq, 10)))
	f := Field{Code: hex.EncodeToString(sum[:]), Name: in.Name, Type: in.Type, IsCustom: true}
	s.fields = append(s.fields, f)
	writeData(w, http.StatusOK, f, nil)
}
