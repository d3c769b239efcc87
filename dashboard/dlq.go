package dashboard

import (
	"fmt"
	"net/http"
	"strconv"

	"synclayer"
)

type dlqData struct {
	Jobs   []*synclayer.Job
	Notice string
	Emails map[string]string
}

// handleDLQ lists dead-lettered deliveries, newest first, with Retry and
// Discard for operators.
func (s *Server) handleDLQ(w http.ResponseWriter, r *http.Request, req *request) {
	jobs, err := s.cfg.Store.FindJobs(r.Context(), synclayer.JobFilter{State: synclayer.JobDead, Limit: 500})
	if err != nil {
		s.fail(w, r, req, err)
		return
	}
	d := dlqData{Jobs: jobs, Emails: s.emails(r.Context(), recordKeys(jobs, func(j *synclayer.Job) string { return j.RecordKey }))}
	if id := r.URL.Query().Get("id"); id != "" {
		switch r.URL.Query().Get("done") {
		case "retried":
			d.Notice = fmt.Sprintf("Delivery %s is back in the queue and runs at the next poll.", id)
		case "discarded":
			d.Notice = fmt.Sprintf("Delivery %s was discarded.", id)
		}
	}
	s.render(w, r, http.StatusOK, "dlq.html", page{Title: "Dead letters", Active: "dlq", Key: req.key, CSRF: req.csrf, Data: d})
}

func (s *Server) handleDLQRetry(w http.ResponseWriter, r *http.Request, req *request) {
	s.dlqAction(w, r, req, "retried", func(id int64) error { return s.cfg.Store.RequeueDeadJob(r.Context(), id, s.cfg.Now()) })
}

func (s *Server) handleDLQDiscard(w http.ResponseWriter, r *http.Request, req *request) {
	s.dlqAction(w, r, req, "discarded", func(id int64) error { return s.cfg.Store.DeleteDeadJob(r.Context(), id) })
}

// dlqAction runs do on the job in the path and goes back to the list, so a
// reload does not post again.
func (s *Server) dlqAction(w http.ResponseWriter, r *http.Request, req *request, done string, do func(int64) error) {
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err != nil || id <= 0 {
		s.fail(w, r, req, synclayer.FieldErrorf("id", "%q is not a job ID.", r.PathValue("id")))
		return
	}
	if err := do(id); err != nil {
		s.fail(w, r, req, err)
		return
	}
	s.cfg.Logger.Info("dead-letter job "+done+" from the dashboard", "job", id, "by", req.key.ID)
	http.Redirect(w, r, fmt.Sprintf("/ui/dlq?done=%s&id=%d", done, id), http.StatusSeeOther)
}
