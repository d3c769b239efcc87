package hubspotsim

import (
	"encoding/json"
	"net/http"
	"strings"
)

// Definition is one subscription type of the account.
type Definition struct {
	ID          string `json:"id"`
	Name        string `json:"name"`
	Description string `json:"description"`
	IsActive    bool   `json:"isActive"`
	IsDefault   bool   `json:"isDefault"`
	IsInternal  bool   `json:"isInternal"`
	CreatedAt   string `json:"createdAt"`
	UpdatedAt   string `json:"updatedAt"`
}

// Subscription statuses the simulator keeps per email and subscription.
// HubSpot's API reports both NOT_SUBSCRIBED and an unsubscribe as
// NOT_SUBSCRIBED; the simulator remembers the difference, because it is
// what refuses a subscribe.
const (
	Subscribed   = "SUBSCRIBED"
	Unsubscribed = "UNSUBSCRIBED"
)

// SubscriptionStatus returns SUBSCRIBED, UNSUBSCRIBED or "" (never
// either) for email and subscription id; an address opted out of all
// email is UNSUBSCRIBED everywhere.
func (s *Server) SubscriptionStatus(email, id string) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	e := strings.ToLower(email)
	if s.optedOut[e] {
		return Unsubscribed
	}
	return s.status[e][id]
}

// UnsubscribeInHubSpot unsubscribes email from subscription id as the
// person's own unsubscribe link would.
func (s *Server) UnsubscribeInHubSpot(email, id string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.set(strings.ToLower(email), id, Unsubscribed)
}

// OptOutOfAll opts email out of all email, as the preference centre's
// "unsubscribe from all" does.
func (s *Server) OptOutOfAll(email string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.optedOut[strings.ToLower(email)] = true
}

func (s *Server) set(email, id, status string) {
	if s.status[email] == nil {
		s.status[email] = map[string]string{}
	}
	s.status[email][id] = status
}

func (s *Server) definition(id string) *Definition {
	for i := range s.subs {
		if s.subs[i].ID == id {
			return &s.subs[i]
		}
	}
	return nil
}

func (s *Server) handleDefinitions(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	defs := append([]Definition(nil), s.subs...)
	s.mu.Unlock()
	for i := range defs {
		defs[i].CreatedAt, defs[i].UpdatedAt = "2026-01-01T00:00:00Z", "2026-01-01T00:00:00Z"
	}
	writeJSON(w, http.StatusOK, map[string]any{"subscriptionDefinitions": defs})
}

type statusOut struct {
	ID                    string `json:"id"`
	Name                  string `json:"name"`
	Description           string `json:"description"`
	Status                string `json:"status"`
	SourceOfStatus        string `json:"sourceOfStatus"`
	LegalBasis            string `json:"legalBasis,omitempty"`
	LegalBasisExplanation string `json:"legalBasisExplanation,omitempty"`
}

func (s *Server) statusOf(email string, d *Definition) statusOut {
	out := statusOut{ID: d.ID, Name: d.Name, Description: d.Description, Status: "NOT_SUBSCRIBED", SourceOfStatus: "SUBSCRIPTION_STATUS"}
	switch {
	case s.optedOut[email]:
		out.SourceOfStatus = "PORTAL_WIDE_STATUS"
	case s.status[email][d.ID] == Subscribed:
		out.Status = "SUBSCRIBED"
	}
	return out
}

func (s *Server) handleStatus(w http.ResponseWriter, r *http.Request) {
	email := strings.ToLower(r.PathValue("email"))
	s.mu.Lock()
	defer s.mu.Unlock()
	out := []statusOut{}
	for i := range s.subs {
		if _, known := s.status[email][s.subs[i].ID]; known || s.optedOut[email] {
			out = append(out, s.statusOf(email, &s.subs[i]))
		}
	}
	writeJSON(w, http.StatusOK, map[string]any{"recipient": email, "subscriptionStatuses": out})
}

type updateRequest struct {
	EmailAddress          string `json:"emailAddress"`
	SubscriptionID        string `json:"subscriptionId"`
	LegalBasis            string `json:"legalBasis"`
	LegalBasisExplanation string `json:"legalBasisExplanation"`
}

func (s *Server) decodeUpdate(w http.ResponseWriter, r *http.Request) (*updateRequest, *Definition, bool) {
	var in updateRequest
	if err := json.NewDecoder(r.Body).Decode(&in); err != nil {
		writeError(w, http.StatusBadRequest, "VALIDATION_ERROR", "Invalid input JSON: "+err.Error(), nil)
		return nil, nil, false
	}
	in.EmailAddress = strings.ToLower(in.EmailAddress)
	d := s.definition(in.SubscriptionID)
	if d == nil {
		writeError(w, http.StatusBadRequest, "VALIDATION_ERROR", "No subscription definition found for id "+in.SubscriptionID, nil)
		return nil, nil, false
	}
	return &in, d, true
}

// handleSubscribe subscribes an address that has not opted out; one
// that unsubscribed, from this subscription or from all email, is
// refused 400, as HubSpot refuses to resubscribe through the API.
func (s *Server) handleSubscribe(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	in, d, ok := s.decodeUpdate(w, r)
	if !ok {
		return
	}
	if s.optedOut[in.EmailAddress] || s.status[in.EmailAddress][d.ID] == Unsubscribed {
		writeError(w, http.StatusBadRequest, "VALIDATION_ERROR", in.EmailAddress+" has opted out of "+d.Name+" and cannot be resubscribed through the API", nil)
		return
	}
	if s.status[in.EmailAddress][d.ID] == Subscribed {
		writeError(w, http.StatusBadRequest, "VALIDATION_ERROR", in.EmailAddress+" is already subscribed to subscription "+d.ID, nil)
		return
	}
	s.set(in.EmailAddress, d.ID, Subscribed)
	out := s.statusOf(in.EmailAddress, d)
	out.LegalBasis, out.LegalBasisExplanation = in.LegalBasis, in.LegalBasisExplanation
	writeJSON(w, http.StatusOK, out)
}

func (s *Server) handleUnsubscribe(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	in, d, ok := s.decodeUpdate(w, r)
	if !ok {
		return
	}
	if s.optedOut[in.EmailAddress] || s.status[in.EmailAddress][d.ID] == Unsubscribed {
		writeError(w, http.StatusBadRequest, "VALIDATION_ERROR", in.EmailAddress+" is already unsubscribed from subscription "+d.ID, nil)
		return
	}
	s.set(in.EmailAddress, d.ID, Unsubscribed)
	writeJSON(w, http.StatusOK, s.statusOf(in.EmailAddress, d))
}
