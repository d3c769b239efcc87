package dashboard

import (
	"encoding/json"
	"fmt"
	"html/template"
	"time"

	"synclayer"
)

// funcs format figures the same way on every page; the dashboard test
// reads them back, so a change here is a change there.
var funcs = template.FuncMap{
	"success": func(st *synclayer.SkillStats) string {
		r, ok := st.SuccessRate()
		return percent(r, ok)
	},
	"successClass": func(st *synclayer.SkillStats) string {
		r, ok := st.SuccessRate()
		switch {
		case !ok:
			return "none"
		case r >= 0.99:
			return "good"
		case r >= 0.9:
			return "warn"
		}
		return "bad"
	},
	"errorRate": func(st *synclayer.SkillStats) string {
		r, ok := st.ErrorRate()
		return percent(r, ok)
	},
	"errorClass": func(st *synclayer.SkillStats) string {
		r, ok := st.ErrorRate()
		switch {
		case !ok:
			return "none"
		case r <= 0.01:
			return "good"
		case r <= 0.1:
			return "warn"
		}
		return "bad"
	},
	"latency": func(st *synclayer.SkillStats, d time.Duration) string {
		if st.Delivered == 0 {
			return "—"
		}
		return duration(d)
	},
	"duration": duration,
	"when": func(t time.Time) string {
		if t.IsZero() {
			return "—"
		}
		return t.UTC().Format("2006-01-02 15:04:05 UTC")
	},
	"ago": func(t time.Time) string { return ago(time.Since(t)) },
	"until": func(t time.Time) string {
		if d := time.Until(t); d > time.Second {
			return "in " + duration(d)
		}
		return "now"
	},
	"finished":    func(st *synclayer.SkillStats) int { return st.Delivered + st.Dead },
	"queue":       func(st *synclayer.SkillStats, state string) int { return st.Queue[synclayer.JobState(state)] },
	"json":        func(raw json.RawMessage) string { return jsonText(raw) },
	"windowLabel": func(name string) string { return windowLabels[name] },
	"rate":        func(r float64) string { return percent(r, r >= 0) },
	"contact":     func(emails map[string]string, id string) contactRef { return contactRef{ID: id, Email: emails[id]} },
}

func percent(r float64, ok bool) string {
	if !ok {
		return "—"
	}
	return fmt.Sprintf("%.1f%%", r*100)
}

// duration is short and exact enough to compare: 12 ms, 3.4 s, 5m 02s, 2h 10m.
func duration(d time.Duration) string {
	switch {
	case d < time.Second:
		return fmt.Sprintf("%d ms", d.Round(time.Millisecond).Milliseconds())
	case d < time.Minute:
		return fmt.Sprintf("%.1f s", d.Seconds())
	case d < time.Hour:
		return fmt.Sprintf("%dm %02ds", int(d.Minutes()), int(d.Seconds())%60)
	}
	return fmt.Sprintf("%dh %02dm", int(d.Hours()), int(d.Minutes())%60)
}

func ago(d time.Duration) string {
	switch {
	case d < time.Minute:
		return "just now"
	case d < time.Hour:
		return fmt.Sprintf("%d min ago", int(d.Minutes()))
	case d < 48*time.Hour:
		return fmt.Sprintf("%d h ago", int(d.Hours()))
	}
	return fmt.Sprintf("%d days ago", int(d.Hours()/24))
}
