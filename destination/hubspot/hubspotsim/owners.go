package hubspotsim

import (
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Owner is a HubSpot owner, as GET /crm/v3/owners returns it: the users
// (and queues) records can be assigned to.
type Owner struct {
	ID        string    `json:"id"`
	Email     string    `json:"email,omitempty"`
	FirstName string    `json:"firstName,omitempty"`
	LastName  string    `json:"lastName,omitempty"`
	UserID    int       `json:"userId,omitempty"`
	Type      string    `json:"type"` // PERSON or QUEUE
	Archived  bool      `json:"archived"`
	CreatedAt time.Time `json:"createdAt"`
	UpdatedAt time.Time `json:"updatedAt"`
}

// DefaultOwners are the simulator account's owners, so the shipped
// examples that name owners 11, 22 and 33 run against it.
var DefaultOwners = []Owner{
	{ID: "11", Email: "ada@example.com", FirstName: "Ada", LastName: "Lovelace", UserID: 9011, Type: "PERSON"},
	{ID: "22", Email: "grace@example.com", FirstName: "Grace", LastName: "Hopper", UserID: 9022, Type: "PERSON"},
	{ID: "33", Email: "alan@example.com", FirstName: "Alan", LastName: "Turing", UserID: 9033, Type: "PERSON"},
}

// SetOwners replaces the account's owners.
func (s *Server) SetOwners(owners []Owner) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.owners = slices.Clone(owners)
}

// handleOwners serves GET /crm/v3/owners: paged by limit (default 100,
// at most 500) and after, filtered by email, and by archived (default
// false: active owners only).
func (s *Server) handleOwners(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	limit := 100
	if v := q.Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 {
			writeError(w, http.StatusBadRequest, "VALIDATION_ERROR", "limit must be a positive integer", nil)
			return
		}
		limit = min(n, 500)
	}
	start := 0
	if v := q.Get("after"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 0 {
			writeError(w, http.StatusBadRequest, "VALIDATION_ERROR", "after is not a paging cursor this endpoint returned", nil)
			return
		}
		start = n
	}
	archived := q.Get("archived") == "true"
	email := strings.ToLower(q.Get("email"))
	s.mu.Lock()
	var match []Owner
	for _, o := range s.owners {
		if o.Archived == archived && (email == "" || strings.ToLower(o.Email) == email) {
			match = append(match, o)
		}
	}
	s.mu.Unlock()
	page := map[string]any{"results": []Owner{}}
	if start < len(match) {
		end := min(start+limit, len(match))
		page["results"] = match[start:end]
		if end < len(match) {
			page["paging"] = map[string]any{"next": map[string]any{"after": strconv.Itoa(end),
				"link": "https://api.hubapi.com/crm/v3/owners?after=" + strconv.Itoa(end)}}
		}
	}
	writeJSON(w, http.StatusOK, page)
}
