package dashboard

import (
	"context"
	"fmt"
	"html/template"
	"net/http"
	"slices"
	"time"

	"synclayer"
)

// card is one skill's summary on the overview.
type card struct {
	Skill   string
	Enabled bool
	Known   bool // configured, rather than only found in the queue
	St      *synclayer.SkillStats
	Chart   template.HTML
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
	Failed   failureCount
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

// failureCount is what the overview and the Failures page both count as
// the window's failures, computed by failures alone so they agree: every
// failed delivery attempt (retried or dead, of any skill) and every event
// received in the window that could not be synced.
type failureCount struct {
	Window     string // the window's name, for links
	Deliveries int
	Events     int
}

// Total is every failure in the window.
func (f failureCount) Total() int { return f.Deliveries + f.Events }

// failures counts the window's failures from stats, the window's
// SkillStats of every skill, and the failed events received since since.
func (s *Server) failures(ctx context.Context, win synclayer.StatsWindow, since time.Time, stats []*synclayer.SkillStats) (failureCount, error) {
	f := failureCount{Window: win.Name}
	for _, st := range stats {
		f.Deliveries += st.Retried + st.Dead
	}
	n, err := s.cfg.Store.CountEvents(ctx, synclayer.EventFilter{Status: synclayer.EventFailed, Since: since})
	f.Events = n
	return f, err
}

// skillOrder ranks a card: enabled skills, then disabled ones, then
// queues no configured skill owns.
func skillOrder(c card) int {
	switch {
	case c.Known && c.Enabled:
		return 0
	case c.Known:
		return 1
	}
	return 2
}

// handleOverview shows, per skill, the window's success rate, latency and
// error rate with a chart of its intervals, and the queue now, with the
// window's failure count and the newest failures below.
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
	now := s.cfg.Now()
	since := now.Add(-win.Duration)
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
	if d.Failed, err = s.failures(r.Context(), win, since, stats); err != nil {
		s.fail(w, r, req, err)
		return
	}
	for i, st := range stats {
		// A queue of a skill on another destination (customer-sync@klaviyo)
		// belongs to its skill.
		skill, _, _ := synclayer.QueueParts(st.Skill)
		j := slices.IndexFunc(skills, func(sk Skill) bool { return sk.Name == st.Skill || sk.Name == skill })
		c := card{Skill: st.Skill, St: st, Known: j >= 0}
		if j >= 0 {
			c.Enabled = skills[j].Enabled
		}
		series, err := s.cfg.Stats.SkillSeries(r.Context(), st.Skill, since, now, win.Step)
		if err != nil {
			s.fail(w, r, req, err)
			return
		}
		c.Chart = chart(chartInput{ID: fmt.Sprintf("chart%d", i), Skill: st.Skill, Window: windowLabels[win.Name], Step: win.Step,
			Until: now, Points: series, Pending: st.Queue[synclayer.JobPending]})
		d.Cards = append(d.Cards, c)
		d.Dead += st.Queue[synclayer.JobDead]
	}
	// Enabled skills first, then disabled ones, then whatever else the
	// queue holds; by name within each.
	slices.SortStableFunc(d.Cards, func(a, b card) int { return skillOrder(a) - skillOrder(b) })
	s.render(w, r, http.StatusOK, "overview.html", page{Title: "Overview", Active: "overview", Key: req.key, CSRF: req.csrf, Data: d})
}

type failuresData struct {
	Window     synclayer.StatsWindow
	Windows    []windowLink
	Failed     failureCount
	Deliveries []*synclayer.Delivery
	Events     []*synclayer.Event
	Emails     map[string]string
}

// failuresListed is how many failed attempts, and failed events, the
// Failures page lists; the counts above them are of all.
const failuresListed = 100

// handleFailures lists the window's failed delivery attempts with their
// reasons, and the events that could not be synced.
func (s *Server) handleFailures(w http.ResponseWriter, r *http.Request, req *request) {
	win, links, err := windowOf(r, "/ui/failures")
	if err != nil {
		s.fail(w, r, req, err)
		return
	}
	since := s.cfg.Now().Add(-win.Duration)
	stats, err := s.cfg.Stats.SkillStats(r.Context(), since)
	if err != nil {
		s.fail(w, r, req, err)
		return
	}
	failed, err := s.failures(r.Context(), win, since, stats)
	if err != nil {
		s.fail(w, r, req, err)
		return
	}
	deliveries, err := s.cfg.Stats.FindDeliveries(r.Context(), synclayer.DeliveryFilter{Since: since, Failed: true, Limit: failuresListed})
	if err != nil {
		s.fail(w, r, req, err)
		return
	}
	events, err := s.cfg.Store.FindEvents(r.Context(), synclayer.EventFilter{Status: synclayer.EventFailed, Since: since, Limit: failuresListed})
	if err != nil {
		s.fail(w, r, req, err)
		return
	}
	s.render(w, r, http.StatusOK, "failures.html", page{Title: "Failures", Active: "failures", Key: req.key, CSRF: req.csrf,
		Data: failuresData{Window: win, Windows: links, Failed: failed, Deliveries: deliveries, Events: events,
			Emails: s.emails(r.Context(), recordKeys(deliveries, func(d *synclayer.Delivery) string { return d.RecordKey }))}})
}
