package brevosim

import (
	"encoding/json"
	"net/http"
	"regexp"
	"slices"
)

// Event is one event received by POST /events, as sent. Properties keep
// their JSON values (numbers as literals).
type Event struct {
	Name        string            `json:"event_name"`
	Date        string            `json:"event_date,omitempty"`
	Identifiers map[string]string `json:"identifiers"`
	Properties  map[string]any    `json:"event_properties,omitempty"`
}

var eventNameRE = regexp.MustCompile(`^[A-Za-z0-9_-]{1,255}$`)

const maxEventProperties = 50 << 10

func (s *Server) eventRoutes() {
	s.mux.HandleFunc("POST /events", s.handleEventPost)
}

// Events returns the events received, oldest first.
func (s *Server) Events() []Event {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.events)
}

// EventsNamed returns the events received with name, oldest first.
func (s *Server) EventsNamed(name string) []Event {
	var out []Event
	for _, e := range s.Events() {
		if e.Name == name {
			out = append(out, e)
		}
	}
	return out
}

// handleEventPost answers as Brevo does: 204 for a valid event, 400
// invalid_parameter or missing_parameter naming what is wrong.
func (s *Server) handleEventPost(w http.ResponseWriter, r *http.Request) {
	var b struct {
		Name        *string           `json:"event_name"`
		Date        string            `json:"event_date"`
		Identifiers map[string]string `json:"identifiers"`
		Properties  map[string]any    `json:"event_properties"`
	}
	if e := decodeJSON(r, &b); e != nil {
		e.write(w)
		return
	}
	switch {
	case b.Name == nil || *b.Name == "":
		badRequest("missing_parameter", "event_name is mandatory").write(w)
		return
	case !eventNameRE.MatchString(*b.Name):
		badRequest("invalid_parameter", "event_name must be at most 255 characters of letters, digits, _ and -").write(w)
		return
	}
	known := 0
	for _, k := range []string{"contact_id", "email_id", "ext_id", "phone_id", "whatsapp_id", "landline_number_id"} {
		if b.Identifiers[k] != "" {
			known++
		}
	}
	if known == 0 {
		badRequest("missing_parameter", "identifiers must name the contact: email_id, ext_id, phone_id or contact_id").write(w)
		return
	}
	if props, _ := json.Marshal(b.Properties); len(props) > maxEventProperties {
		badRequest("invalid_parameter", "event_properties must be at most 50 KB").write(w)
		return
	}
	s.mu.Lock()
	s.events = append(s.events, Event{Name: *b.Name, Date: b.Date, Identifiers: b.Identifiers, Properties: b.Properties})
	s.mu.Unlock()
	w.WriteHeader(http.StatusNoContent)
}
