package klaviyosim

import (
	"net/http"
	"slices"
	"strings"
)

// handleEventList answers get_events: the events of one metric (or all),
// after a datetime, oldest first (sort=datetime, the only order the
// simulator models), page[size] 1 to 1000 (default 200), with the events'
// profiles in included when include=profile, narrowed by fields[profile].
func (s *Server) handleEventList(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	size, e := pageSize(q, 200, 1000)
	if e != nil {
		e.write(w)
		return
	}
	var f eventFilter
	if v := q.Get("filter"); v != "" {
		if f, e = parseEventFilter(v); e != nil {
			e.write(w)
			return
		}
	}
	if v := q.Get("sort"); v != "" && v != "datetime" {
		(&apiError{status: http.StatusBadRequest, code: "invalid", detail: "The simulator sorts events only by datetime.", parameter: "sort"}).write(w)
		return
	}
	withProfile := false
	for _, inc := range splitList(q.Get("include")) {
		if inc != "profile" {
			(&apiError{status: http.StatusBadRequest, code: "invalid", detail: "The simulator includes only profile.", parameter: "include"}).write(w)
			return
		}
		withProfile = true
	}
	from, paged, e := parsePosition(q.Get("page[cursor]"))
	if e != nil {
		e.write(w)
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	metricIDs := map[string]string{} // name → ID
	for _, m := range s.metrics {
		metricIDs[m.Name] = m.ID
	}
	events := slices.Clone(s.events)
	slices.SortStableFunc(events, func(a, b Event) int {
		if (position{a.Time, a.ID}).before(position{b.Time, b.ID}) {
			return -1
		}
		return 1
	})
	data, included := []any{}, []any{}
	seen := map[string]bool{}
	var last position
	more := false
	for _, ev := range events {
		pos := position{at: ev.Time, id: ev.ID}
		switch {
		case f.metricID != "" && metricIDs[ev.Metric] != f.metricID:
			continue
		case !passes(ev.Time, f.afterOp, f.after):
			continue
		case paged && !from.before(pos):
			continue
		}
		if len(data) == size {
			more = true
			break
		}
		data = append(data, s.eventResource(ev, metricIDs[ev.Metric], splitList(q.Get("fields[event]"))))
		last = pos
		if p := s.profiles[ev.ProfileID]; withProfile && p != nil && !seen[p.ID] {
			seen[p.ID] = true
			included = append(included, sparse(s.resource(p, false), splitList(q.Get("fields[profile]"))))
		}
	}
	out := map[string]any{"data": data, "links": links(r, more, last)}
	if withProfile {
		out["included"] = included
	}
	writeJSON(w, http.StatusOK, out)
}

// eventResource renders ev as get_events does, its attributes narrowed to
// fields when any are named.
func (s *Server) eventResource(ev Event, metricID string, fields []string) map[string]any {
	const base = "https://a.klaviyo.com/api/events/"
	attrs := map[string]any{
		"timestamp": ev.Time.Unix(), "datetime": ev.Time.UTC().Format("2006-01-02T15:04:05+00:00"),
		"event_properties": ev.Properties, "uuid": ev.ID,
	}
	if attrs["event_properties"] == nil {
		attrs["event_properties"] = map[string]any{}
	}
	if len(fields) > 0 {
		for k := range attrs {
			if !slices.Contains(fields, k) {
				delete(attrs, k)
			}
		}
	}
	rel := func(typ, id string) map[string]any {
		return map[string]any{"data": map[string]any{"type": typ, "id": id},
			"links": map[string]any{"self": base + ev.ID + "/relationships/" + typ, "related": base + ev.ID + "/" + typ}}
	}
	return map[string]any{"type": "event", "id": ev.ID, "attributes": attrs,
		"relationships": map[string]any{"profile": rel("profile", ev.ProfileID), "metric": rel("metric", metricID)},
		"links":         map[string]any{"self": base + ev.ID}}
}

// sparse narrows a resource's attributes to fields (JSON:API sparse
// fieldsets); none named keeps them all.
func sparse(res map[string]any, fields []string) map[string]any {
	attrs, _ := res["attributes"].(map[string]any)
	if len(fields) == 0 || attrs == nil {
		return res
	}
	for k := range attrs {
		if !slices.Contains(fields, k) {
			delete(attrs, k)
		}
	}
	return res
}

// splitList reads a comma-separated query value.
func splitList(v string) []string {
	var out []string
	for _, s := range strings.Split(v, ",") {
		if s = strings.TrimSpace(s); s != "" {
			out = append(out, s)
		}
	}
	return out
}
