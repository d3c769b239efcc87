package klaviyosim

import (
	"bytes"
	"encoding/json"
	"fmt"
	"maps"
	"net/http"
	"slices"
	"time"
	"unicode/utf8"
)

// Metric is a metric, created by the first event that names it.
// Integration is who records it: IntegrationKlaviyo for the metrics
// Klaviyo records itself (an unsubscribe, a spam complaint, a bounce),
// IntegrationAPI for those created by POST /api/events.
type Metric struct {
	ID, Name    string
	Integration string
	Created     time.Time
}

// Integrations of metrics (integration.name of get_metrics).
const (
	IntegrationKlaviyo = "Klaviyo"
	IntegrationAPI     = "API"
)

// Event is one event the server recorded. Value is the value as the
// request's JSON number text ("" for none), so tests see its digits;
// numbers in Properties are json.Number for the same reason.
type Event struct {
	ID            string
	Metric        string
	ProfileID     string
	UniqueID      string // as sent; "" when the time stood in for it
	Time          time.Time
	Value         string
	ValueCurrency string
	Properties    map[string]any
}

// maxEventProperties is the spec's "must not exceed 400 properties".
const maxEventProperties = 400

type eventBody struct {
	Data struct {
		Type       string `json:"type"`
		Attributes struct {
			Properties    map[string]any `json:"properties"`
			Time          *time.Time     `json:"time"`
			Value         *json.Number   `json:"value"`
			ValueCurrency *string        `json:"value_currency"`
			UniqueID      *string        `json:"unique_id"`
			Metric        struct {
				Data struct {
					Type       string `json:"type"`
					Attributes struct {
						Name string `json:"name"`
					} `json:"attributes"`
				} `json:"data"`
			} `json:"metric"`
			Profile struct {
				Data struct {
					Type       string                     `json:"type"`
					ID         *string                    `json:"id"`
					Attributes map[string]json.RawMessage `json:"attributes"`
				} `json:"data"`
			} `json:"profile"`
		} `json:"attributes"`
	} `json:"data"`
}

// handleEvent records an event on the profile it names, found by id or
// by its identifiers and created when none matches, without touching its
// consent. As the spec documents, an event whose unique_id (by default
// its time to the second) repeats for the same profile and metric is
// accepted and not recorded again.
func (s *Server) handleEvent(w http.ResponseWriter, r *http.Request) {
	var b eventBody
	dec := json.NewDecoder(r.Body)
	dec.UseNumber()
	if err := dec.Decode(&b); err != nil || b.Data.Type != "event" {
		invalid("The body must be an event resource.", "/data").write(w)
		return
	}
	a := b.Data.Attributes
	name := a.Metric.Data.Attributes.Name
	now := s.now()
	switch {
	case a.Properties == nil:
		invalid("'properties' is a required field for the resource 'event'.", "/data/attributes/properties").write(w)
		return
	case len(a.Properties) > maxEventProperties:
		invalid("An event takes at most 400 properties.", "/data/attributes/properties").write(w)
		return
	case a.Metric.Data.Type != "metric" || name == "" || utf8.RuneCountInString(name) >= 128:
		invalid("The metric name is required and must be less than 128 characters.", "/data/attributes/metric/data/attributes/name").write(w)
		return
	case a.Time != nil && (a.Time.Year() < 1990 || a.Time.After(now.AddDate(1, 0, 0))):
		invalid("The time must be after 1990 and at most a year in the future.", "/data/attributes/time").write(w)
		return
	}
	ids := map[string]string{}
	for _, k := range []string{"email", "phone_number", "external_id"} {
		var v *string
		if raw, ok := a.Profile.Data.Attributes[k]; ok && json.Unmarshal(raw, &v) == nil && v != nil && *v != "" {
			ids[k] = *v
		}
	}
	if e, ok := ids["email"]; ok && !validEmail(e) {
		invalid("Invalid email address.", "/data/attributes/profile/data/attributes/email").write(w)
		return
	}
	if _, ok := a.Profile.Data.Attributes["subscriptions"]; ok {
		invalid("'subscriptions' is not a valid field for the resource 'profile'.", "/data/attributes/profile/data/attributes/subscriptions").write(w)
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	p, e := s.identify(a.Profile.Data.ID, ids)
	if e != nil {
		e.pointer = "/data/attributes/profile/data"
		e.write(w)
		return
	}
	if p == nil {
		p = s.newProfile()
	}
	// Fill in the identifiers the profile lacks; consent is never touched.
	if p.Email == "" {
		p.Email = ids["email"]
	}
	if p.PhoneNumber == "" {
		p.PhoneNumber = ids["phone_number"]
	}
	if p.ExternalID == "" {
		p.ExternalID = ids["external_id"]
	}
	ev := Event{Metric: name, Time: now, Properties: a.Properties}
	if a.Time != nil {
		ev.Time = *a.Time
	}
	if a.Value != nil {
		ev.Value = a.Value.String()
	}
	if a.ValueCurrency != nil {
		ev.ValueCurrency = *a.ValueCurrency
	}
	if a.UniqueID != nil {
		ev.UniqueID = *a.UniqueID
	}
	s.record(p, IntegrationAPI, ev)
	w.WriteHeader(http.StatusAccepted)
}

// record stores ev on p under ev.Metric, creating the metric (of
// integration) when none has its name, unless an event of the same
// profile and metric has ev's unique_id (by default its time to the
// second). It moves the profile's last_event_date and updated, as
// Klaviyo's profiles guide says an event does; s.mu is held.
func (s *Server) record(p *Profile, integration string, ev Event) bool {
	m := s.metrics[ev.Metric]
	if m == nil {
		m = &Metric{ID: fmt.Sprintf("SIM%03d", len(s.metrics)+1), Name: ev.Metric, Integration: integration, Created: s.now()}
		s.metrics[ev.Metric] = m
	}
	ev.ProfileID, ev.Time = p.ID, ev.Time.UTC().Truncate(time.Second)
	uid := ev.Time.Format(time.RFC3339)
	if ev.UniqueID != "" {
		uid = ev.UniqueID
	}
	key := p.ID + "\x00" + m.ID + "\x00" + uid
	if s.eventKeys[key] {
		return false
	}
	s.eventKeys[key] = true
	ev.ID = fmt.Sprintf("SIMEV%07d", len(s.events)+1)
	s.events = append(s.events, ev)
	if ev.Time.After(p.LastEvent) {
		p.LastEvent = ev.Time
	}
	p.Updated = s.now()
	return true
}

// Events returns the events recorded, oldest first; a repeated unique_id
// is not among them.
func (s *Server) Events() []Event {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]Event, len(s.events))
	for i, e := range s.events {
		e.Properties = maps.Clone(e.Properties)
		out[i] = e
	}
	return out
}

// EventsNamed returns the recorded events of metric name, oldest first.
func (s *Server) EventsNamed(name string) []Event {
	return slices.DeleteFunc(s.Events(), func(e Event) bool { return e.Metric != name })
}

// Metrics returns the metrics events created, by name.
func (s *Server) Metrics() []Metric {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := []Metric{}
	for _, n := range slices.Sorted(maps.Keys(s.metrics)) {
		out = append(out, *s.metrics[n])
	}
	return out
}

// PropertyJSON returns e's property k as JSON, for tests comparing digits.
func (e Event) PropertyJSON(k string) string {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(e.Properties[k]); err != nil {
		return ""
	}
	return string(bytes.TrimSpace(buf.Bytes()))
}
