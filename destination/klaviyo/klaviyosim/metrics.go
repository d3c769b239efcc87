package klaviyosim

import (
	"net/http"
	"regexp"
	"slices"
	"strings"
)

// metricPage is how many metrics an answer holds: "Returns a maximum of
// 200 results per page" (spec, get_metrics), which takes no page[size].
const metricPage = 200

var integrationFilter = regexp.MustCompile(`^equals\(integration\.name,\s*(?:"([^"]*)"|'([^']*)')\)$`)

// integrations are the integration objects of the simulator's metrics.
// Klaviyo's exact ids and categories for its own and the API's metrics
// are not documented; these are the simulator's.
var integrations = map[string]map[string]any{
	IntegrationKlaviyo: {"object": "integration", "id": "0rG4eQ", "name": IntegrationKlaviyo, "category": "Internal"},
	IntegrationAPI:     {"object": "integration", "id": "7FtS4J", "name": IntegrationAPI, "category": "API"},
}

// handleMetricList answers get_metrics: every metric, by ID, 200 to a
// page, optionally only those of one integration name.
func (s *Server) handleMetricList(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	integration := ""
	if v := q.Get("filter"); v != "" {
		m := integrationFilter.FindStringSubmatch(v)
		if m == nil {
			badFilter("The simulator filters metrics only by equals(integration.name,\"…\").").write(w)
			return
		}
		integration = m[1] + m[2]
	}
	from, paged, e := parsePosition(q.Get("page[cursor]"))
	if e != nil {
		e.write(w)
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	var ms []*Metric
	for _, m := range s.metrics {
		if integration == "" || strings.EqualFold(m.Integration, integration) {
			ms = append(ms, m)
		}
	}
	slices.SortFunc(ms, func(a, b *Metric) int { return strings.Compare(a.ID, b.ID) })
	data := []any{}
	var last position
	more := false
	for _, m := range ms {
		pos := position{id: m.ID}
		if paged && !from.before(pos) {
			continue
		}
		if len(data) == metricPage {
			more = true
			break
		}
		data = append(data, sparse(map[string]any{"type": "metric", "id": m.ID,
			"attributes": map[string]any{"name": m.Name, "created": timestamp(m.Created), "updated": timestamp(m.Created), "integration": integrations[m.Integration]},
			"links":      map[string]any{"self": "https://a.klaviyo.com/api/metrics/" + m.ID}}, splitList(q.Get("fields[metric]"))))
		last = pos
	}
	writeJSON(w, http.StatusOK, map[string]any{"data": data, "links": links(r, more, last)})
}
