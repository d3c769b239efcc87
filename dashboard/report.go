package dashboard

import (
	"net/http"

	"synclayer"
)

type reportData struct {
	Report  *synclayer.HealthReport
	Prev    bool
	Periods []windowLink
}

// handleReport shows the health report of ?period=week|month: the period
// so far, or with ?prev=1 the last complete one, as the weekly and
// monthly notifications send it.
func (s *Server) handleReport(w http.ResponseWriter, r *http.Request, req *request) {
	p := synclayer.ReportPeriod(r.URL.Query().Get("period"))
	switch p {
	case "":
		p = synclayer.ReportWeek
	case synclayer.ReportWeek, synclayer.ReportMonth:
	default:
		s.fail(w, r, req, errorf(synclayer.EINVALID, "period must be week or month, not %q.", p))
		return
	}
	if s.cfg.Report == nil {
		s.fail(w, r, req, errorf(synclayer.ENOTFOUND, "The health report is not available here."))
		return
	}
	prev := r.URL.Query().Get("prev") == "1"
	rep, err := s.cfg.Report(r.Context(), p, prev)
	if err != nil {
		s.fail(w, r, req, err)
		return
	}
	d := reportData{Report: rep, Prev: prev}
	for _, l := range []struct {
		period synclayer.ReportPeriod
		prev   bool
		label  string
	}{{synclayer.ReportWeek, false, "This week"}, {synclayer.ReportWeek, true, "Last week"},
		{synclayer.ReportMonth, false, "This month"}, {synclayer.ReportMonth, true, "Last month"}} {
		href := "/ui/report?period=" + string(l.period)
		if l.prev {
			href += "&prev=1"
		}
		d.Periods = append(d.Periods, windowLink{Name: string(l.period), Label: l.label, Href: href, Active: l.period == p && l.prev == prev})
	}
	s.render(w, r, http.StatusOK, "report.html", page{Title: "Health report", Active: "report", Key: req.key, CSRF: req.csrf, Data: d})
}
