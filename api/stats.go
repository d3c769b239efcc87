package api

import (
	"net/http"
	"time"

	"synclayer"
)

// SkillStats is one skill's figures as GET /api/v1/stats and the dashboard
// show them. A rate or latency with nothing to measure is null, not 0.
type SkillStats struct {
	// Skill is the queue: the skill and, for any destination but the one
	// named brevo, "@destination" (customer-sync@klaviyo). SkillName and
	// Destination are its parts, for grouping by either.
	Skill        string         `json:"skill"`
	SkillName    string         `json:"skillName"`
	Destination  string         `json:"destination"`
	Batch        bool           `json:"batch,omitempty"`
	Attempts     int            `json:"attempts"`
	Delivered    int            `json:"delivered"`
	Retried      int            `json:"retried"`
	Dead         int            `json:"dead"`
	SuccessRate  *float64       `json:"successRate"`
	ErrorRate    *float64       `json:"errorRate"`
	AvgLatencyMs *float64       `json:"avgLatencyMs"`
	P95LatencyMs *float64       `json:"p95LatencyMs"`
	Queue        map[string]int `json:"queue"`
}

// newSkillStats turns the store's sums into the shown figures.
func newSkillStats(st *synclayer.SkillStats) SkillStats {
	out := SkillStats{Skill: st.Skill, Attempts: st.Attempts(), Delivered: st.Delivered, Retried: st.Retried, Dead: st.Dead, Queue: map[string]int{}}
	out.SkillName, out.Destination, out.Batch = synclayer.QueueParts(st.Skill)
	if r, ok := st.SuccessRate(); ok {
		out.SuccessRate = &r
	}
	if r, ok := st.ErrorRate(); ok {
		out.ErrorRate = &r
	}
	if st.Delivered > 0 {
		avg, p95 := ms(st.AvgLatency), ms(st.P95Latency)
		out.AvgLatencyMs, out.P95LatencyMs = &avg, &p95
	}
	for _, s := range []synclayer.JobState{synclayer.JobPending, synclayer.JobRunning, synclayer.JobDead} {
		out.Queue[string(s)] = st.Queue[s]
	}
	return out
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

// handleStats answers each skill's deliveries over ?window= (15m, 1h, 24h
// or 7d; default 1h) and its queue now. Every known skill is listed, idle
// or not.
func (s *Server) handleStats(w http.ResponseWriter, r *http.Request) {
	win, err := synclayer.ParseStatsWindow(r.URL.Query().Get("window"))
	if err != nil {
		writeError(w, r, s.cfg.Logger, err)
		return
	}
	if s.cfg.Stats == nil {
		writeError(w, r, s.cfg.Logger, synclayer.Errorf(synclayer.EINTERNAL, "this server keeps no delivery statistics"))
		return
	}
	var names []string
	if s.cfg.Skills != nil {
		skills, err := s.cfg.Skills.List(r.Context())
		if err != nil {
			writeError(w, r, s.cfg.Logger, err)
			return
		}
		for _, sk := range skills {
			names = append(names, sk.Name)
		}
	}
	now := s.cfg.Now()
	since := now.Add(-win.Duration)
	stats, err := s.cfg.Stats.SkillStats(r.Context(), since, names...)
	if err != nil {
		writeError(w, r, s.cfg.Logger, err)
		return
	}
	out := make([]SkillStats, len(stats))
	for i, st := range stats {
		out[i] = newSkillStats(st)
	}
	writeJSON(w, http.StatusOK, map[string]any{"window": win.Name, "since": since.UTC(), "until": now.UTC(), "skills": out})
}
