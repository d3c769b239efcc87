package mailchimpsim

import (
	"encoding/json"
	"net/http"
	"regexp"
	"time"
)

// eventName is what the simulator accepts as an event name: 2 to 30
// letters, digits, underscores and dashes. The spec states the length;
// the character set follows Mailchimp's Add event reference as quoted in
// docs/platforms/mailchimp.md.
var eventName = regexp.MustCompile(`^[A-Za-z0-9_-]{2,30}$`)

// handleEventPost records a custom event on a member; 204, 404 when the
// audience holds no such member. It never changes the member's status.
func (s *Server) handleEventPost(w http.ResponseWriter, r *http.Request) {
	var req struct {
		Name       string            `json:"name"`
		Properties map[string]string `json:"properties"`
		IsSyncing  bool              `json:"is_syncing"`
		OccurredAt string            `json:"occurred_at"`
	}
	if err := json.NewDecoder(r.Body).Decode(&req); err != nil {
		invalid(w, validationDetail, FieldError{Field: "", Message: "The body is not JSON, or a property value is not a string."})
		return
	}
	if !eventName.MatchString(req.Name) {
		invalid(w, validationDetail, FieldError{Field: "name", Message: "The event name must be 2-30 characters of letters, numbers, underscores and dashes."})
		return
	}
	if req.OccurredAt != "" {
		if _, err := time.Parse(time.RFC3339, req.OccurredAt); err != nil {
			invalid(w, validationDetail, FieldError{Field: "occurred_at", Message: "This value should be a valid ISO 8601 date and time."})
			return
		}
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
	m.Events = append(m.Events, Event{Name: req.Name, Properties: req.Properties, IsSyncing: req.IsSyncing,
		OccurredAt: req.OccurredAt, Received: s.now()})
	w.WriteHeader(http.StatusNoContent)
}
