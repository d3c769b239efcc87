package hubspotsim

import (
	"encoding/json"
	"net/http"
	"slices"
	"strconv"
	"time"
)

// maxSearchResults: HubSpot's search pages through at most 10,000
// results per query.
const maxSearchResults = 10000

// handleSearch answers POST /crm/v3/objects/contacts/search for what the
// simulator supports: filters on lastmodifieddate (GTE, GT, LTE, LT; a
// millisecond number or an ISO 8601 time), sorted by lastmodifieddate
// ascending ("-lastmodifieddate" descending), the properties asked for,
// and the after token as an offset, refused past the 10,000th result.
func (s *Server) handleSearch(w http.ResponseWriter, r *http.Request) {
	var in struct {
		FilterGroups []struct {
			Filters []struct {
				PropertyName string `json:"propertyName"`
				Operator     string `json:"operator"`
				Value        string `json:"value"`
			} `json:"filters"`
		} `json:"filterGroups"`
		Sorts      []string `json:"sorts"`
		Properties []string `json:"properties"`
		Limit      int      `json:"limit"`
		After      string   `json:"after"`
	}
	if err := json.NewDecoder(r.Body).Decode(&in); err != nil {
		writeError(w, http.StatusBadRequest, "VALIDATION_ERROR", "Invalid input JSON: "+err.Error(), nil)
		return
	}
	limit := in.Limit
	if limit <= 0 {
		limit = 10
	}
	if limit > 200 {
		writeError(w, http.StatusBadRequest, "VALIDATION_ERROR", "limit must be at most 200", nil)
		return
	}
	offset := 0
	if in.After != "" {
		n, err := strconv.Atoi(in.After)
		if err != nil || n < 0 {
			writeError(w, http.StatusBadRequest, "VALIDATION_ERROR", "after must be a paging token from a previous page", nil)
			return
		}
		offset = n
	}
	if offset+limit > maxSearchResults {
		writeError(w, http.StatusBadRequest, "VALIDATION_ERROR", "paging beyond 10000 results is not supported", nil)
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	var hits []*Contact
	for _, c := range s.contacts {
		if c.Archived {
			continue
		}
		keep := len(in.FilterGroups) == 0
		for _, g := range in.FilterGroups {
			all := true
			for _, f := range g.Filters {
				all = all && matches(c, f.PropertyName, f.Operator, f.Value)
			}
			keep = keep || all
		}
		if keep {
			hits = append(hits, c)
		}
	}
	desc := slices.Contains(in.Sorts, "-lastmodifieddate")
	slices.SortFunc(hits, func(a, b *Contact) int {
		d := a.UpdatedAt.Compare(b.UpdatedAt)
		if d == 0 {
			d = compareIDs(a.ID, b.ID)
		}
		if desc {
			return -d
		}
		return d
	})
	out := map[string]any{"total": len(hits)}
	page := hits[min(offset, len(hits)):min(offset+limit, len(hits))]
	results := make([]object, 0, len(page))
	for _, c := range page {
		o := s.objectOf(c)
		o.Properties = map[string]string{"hs_object_id": c.ID, "createdate": o.CreatedAt, "lastmodifieddate": o.UpdatedAt}
		for _, p := range append([]string{"email", "firstname", "lastname"}, in.Properties...) {
			if v, ok := c.Properties[p]; ok {
				o.Properties[p] = v
			}
		}
		results = append(results, o)
	}
	out["results"] = results
	if next := offset + len(page); next < len(hits) {
		out["paging"] = map[string]any{"next": map[string]any{"after": strconv.Itoa(next), "link": "?after=" + strconv.Itoa(next)}}
	}
	writeJSON(w, http.StatusOK, out)
}

func matches(c *Contact, prop, op, value string) bool {
	if prop != "lastmodifieddate" {
		return false
	}
	var at time.Time
	if ms, err := strconv.ParseInt(value, 10, 64); err == nil {
		at = time.UnixMilli(ms)
	} else if t, err := time.Parse(time.RFC3339Nano, value); err == nil {
		at = t
	} else {
		return false
	}
	u := c.UpdatedAt.Truncate(time.Millisecond)
	switch op {
	case "GTE":
		return !u.Before(at)
	case "GT":
		return u.After(at)
	case "LTE":
		return !u.After(at)
	case "LT":
		return u.Before(at)
	}
	return false
}

func compareIDs(a, b string) int {
	x, _ := strconv.Atoi(a)
	y, _ := strconv.Atoi(b)
	return x - y
}
