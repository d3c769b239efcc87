package dashboard

import (
	"net/http"
	"slices"

	"synclayer"
)

// card is one skill's summary on the overview.
type card struct {
	Skill   string
	Enabled bool
	Known   bool // configured, rather than only found in the queue
	St      *synclayer.SkillStats
}

type windowLink struct {
	Name, Label, Href string
	Active            bool
}

type overviewData struct {
	Window   synclayer.StatsWindow
	Windows  []windowLink
	Cards    []card
	Dead     int
	Failures []*synclayer.Delivery
	Emails   map[string]string // record key → email, for Failures
}

var windowLabels = map[string]string{"15m": "15 minutes", "1h": "1 hour", "24h": "24 hours", "7d": "7 days"}

// windowOf reads ?window=, and the links to the other windows of path.
func windowOf(r *http.Request, path string) (synclayer.StatsWindow, []windowLink, error) {
	win, err := synclayer.ParseStatsWindow(r.URL.Query().Get("window"))
	if err != nil {
		return win, nil, err
	}
	links := make([]windowLink, len(synclayer.StatsWindows))
	for i, w := range synclayer.StatsWindows {
		links[i] = windowLink{Name: w.Name, Label: windowLabels[w.Name], Href: path + "?window=" + w.Name, Active: w.Name == win.Name}
	}
	return win, links, nil
}

// handleOverview shows, per skill, the window's success rate, latency and
// error rate, and the queue now, with the newest failures below.
func (s *Server) handleOverview(w http.ResponseWriter, r *http.Request, req *request) {
	win, links, err := windowOf(r, "/ui/")
	if err != nil {
		s.fail(w, r, req, err)
		return
	}
	skills, err := s.cfg.Skills(r.Context())
	if err != nil {
		s.fail(w, r, req, err)
		return
	}
	names := make([]string, len(skills))
	for i, sk := range skills {
		names[i] = sk.Name
	}
	since := s.cfg.Now().Add(-win.Duration)
	stats, err := s.cfg.Stats.SkillStats(r.Context(), since, names...)
	if err != nil {
		s.fail(w, r, req, err)
		return
	}
	failures, err := s.cfg.Stats.FindDeliveries(r.Context(), synclayer.DeliveryFilter{Since: since, Failed: true, Limit: 5})
	if err != nil {
		s.fail(w, r, req, err)
		return
	}
	d := overviewData{Window: win, Windows: links, Failures: failures,
		Emails: s.emails(r.Context(), recordKeys(failures, func(d *synclayer.Delivery) string { return d.RecordKey }))}
	for _, st := range stats {
		i := slices.IndexFunc(skills, func(sk Skill) bool { return sk.Name == st.Skill })
		c := card{Skill: st.Skill, St: st, Known: i >= 0}
		if i >= 0 {
			c.Enabled = skills[i].Enabled
		}
		d.Cards = append(d.Cards, c)
		d.Dead += st.Queue[synclayer.JobDead]
	}
	// Configured skills first, then whatever else the queue holds.
	slices.SortStableFunc(d.Cards, func(a, b card) int {
		switch {
		case a.Known == b.Known:
			return 0
		case a.Known:
			return -1
		}
		return 1
	})
	s.render(w, r, http.StatusOK, "overview.html", page{Title: "Overview", Active: "overview", Key: req.key, CSRF: req.csrf, Data: d})
}

type failuresData struct {
	Window     synclayer.StatsWindow
	Windows    []windowLink
	Deliveries []*synclayer.Delivery
	Events     []*synclayer.Event
	Emails     map[string]string
}

// handleFailures lists the window's failed delivery attempts with their
// reasons, and the events that could not be synced.
func (s *Server) handleFailures(w http.ResponseWriter, r *http.Request, req *request) {
	win, links, err := windowOf(r, "/ui/failures")
	if err != nil {
		s.fail(w, r, req, err)
		return
	}
	since := s.cfg.Now().Add(-win.Duration)
	deliveries, err := s.cfg.Stats.FindDeliveries(r.Context(), synclayer.DeliveryFilter{Since: since, Failed: true, Limit: 100})
	if err != nil {
		s.fail(w, r, req, err)
		return
	}
	events, err := s.cfg.Store.FindEvents(r.Context(), synclayer.EventFilter{Status: synclayer.EventFailed, Limit: 100})
	if err != nil {
		s.fail(w, r, req, err)
		return
	}
	events = slices.DeleteFunc(events, func(e *synclayer.Event) bool { return e.ReceivedAt.Before(since) })
	s.render(w, r, http.StatusOK, "failures.html", page{Title: "Failures", Active: "failures", Key: req.key, CSRF: req.csrf,
		Data: failuresData{Window: win, Windows: links, Deliveries: deliveries, Events: events,
			Emails: s.emails(r.Context(), recordKeys(deliveries, func(d *synclayer.Delivery) string { return d.RecordKey }))}})
}
