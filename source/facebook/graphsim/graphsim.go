// Package graphsim simulates the part of Facebook's Graph API the
// Facebook Lead Ads source reads: GET /<version>/<lead id>, with a Page
// access token, Graph's error bodies ({"error": {"message", "type",
// "code", "error_subcode", "fbtrace_id"}}), its rate-limit error (code
// 32, with X-Page-Usage) and injectable outages. It also signs webhook
// notifications as Facebook does, for tests.
package graphsim

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"sync"
)

// Lead is a lead as Graph returns it.
type Lead struct {
	ID          string  `json:"id"`
	CreatedTime string  `json:"created_time"` // 2026-11-20T10:00:00+0000
	FormID      string  `json:"form_id,omitempty"`
	AdID        string  `json:"ad_id,omitempty"`
	FieldData   []Field `json:"field_data"`
}

// Field is one answer of a lead form.
type Field struct {
	Name   string   `json:"name"`
	Values []string `json:"values"`
}

// Server is the simulated Graph API. Safe for concurrent use.
type Server struct {
	mu       sync.Mutex
	token    string
	leads    map[string]Lead
	fail     int // the next n reads answer 500
	limited  int // the next n reads answer the rate-limit error
	Requests int
}

// New returns a Graph API that accepts token.
func New(token string) *Server { return &Server{token: token, leads: map[string]Lead{}} }

// AddLead stores a lead to be read.
func (s *Server) AddLead(l Lead) { s.mu.Lock(); s.leads[l.ID] = l; s.mu.Unlock() }

// FailNext makes the next n reads answer 500, and RateLimitNext the rate
// limit's error.
func (s *Server) FailNext(n int)      { s.mu.Lock(); s.fail = n; s.mu.Unlock() }
func (s *Server) RateLimitNext(n int) { s.mu.Lock(); s.limited = n; s.mu.Unlock() }

// Reads is how many reads the server answered.
func (s *Server) Reads() int { s.mu.Lock(); defer s.mu.Unlock(); return s.Requests }

func graphError(w http.ResponseWriter, status int, typ string, code, sub int, msg string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(map[string]any{"error": map[string]any{"message": msg, "type": typ, "code": code,
		"error_subcode": sub, "fbtrace_id": "AbCdEfGhIjK"}})
}

func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	s.Requests++
	fail, limited := s.fail > 0, s.limited > 0
	if fail {
		s.fail--
	} else if limited {
		s.limited--
	}
	s.mu.Unlock()
	parts := strings.Split(strings.Trim(r.URL.Path, "/"), "/")
	if r.Method != http.MethodGet || len(parts) != 2 || !strings.HasPrefix(parts[0], "v") {
		graphError(w, 400, "GraphMethodException", 100, 0, "Unsupported get request.")
		return
	}
	token := strings.TrimPrefix(r.Header.Get("Authorization"), "Bearer ")
	if token == "" {
		token = r.URL.Query().Get("access_token")
	}
	switch {
	case fail:
		graphError(w, 500, "OAuthException", 2, 0, "An unexpected error has occurred. Please retry your request later.")
		return
	case token == "":
		graphError(w, 400, "OAuthException", 2500, 0, "An active access token must be used to query information about the current user.")
		return
	case token != s.token:
		graphError(w, 400, "OAuthException", 190, 463, "Error validating access token: Session has expired.")
		return
	case limited:
		w.Header().Set("X-Page-Usage", `{"call_count":100,"total_cputime":20,"total_time":30}`)
		graphError(w, 400, "OAuthException", 32, 0, "Page request limit reached")
		return
	}
	s.mu.Lock()
	l, ok := s.leads[parts[1]]
	s.mu.Unlock()
	if !ok {
		graphError(w, 400, "GraphMethodException", 100, 33, fmt.Sprintf("Unsupported get request. Object with ID '%s' does not exist, cannot be loaded due to missing permissions, or does not support this operation.", parts[1]))
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("X-Page-Usage", `{"call_count":1,"total_cputime":1,"total_time":1}`)
	_ = json.NewEncoder(w).Encode(l)
}

// Notification is the leadgen webhook body Facebook sends for a lead.
func Notification(pageID, leadID, formID string, created int64) []byte {
	b, _ := json.Marshal(map[string]any{"object": "page", "entry": []any{map[string]any{"id": pageID, "time": created,
		"changes": []any{map[string]any{"field": "leadgen", "value": map[string]any{"leadgen_id": leadID, "page_id": pageID,
			"form_id": formID, "created_time": created}}}}}})
	return b
}

// Sign is the X-Hub-Signature-256 value of body under the app secret.
func Sign(appSecret string, body []byte) string {
	mac := hmac.New(sha256.New, []byte(appSecret))
	mac.Write(body)
	return "sha256=" + hex.EncodeToString(mac.Sum(nil))
}
