package api

import (
	"net/http"

	"synclayer"
)

// handleJobList lists delivery jobs, most recently updated first, filtered
// by ?state= and ?skill=.
func (s *Server) handleJobList(w http.ResponseWriter, r *http.Request) {
	limit, err := queryLimit(r)
	if err != nil {
		writeError(w, r, s.cfg.Logger, err)
		return
	}
	state := synclayer.JobState(r.URL.Query().Get("state"))
	switch state {
	case "", synclayer.JobPending, synclayer.JobRunning, synclayer.JobDone, synclayer.JobDead:
	default:
		writeError(w, r, s.cfg.Logger, synclayer.FieldErrorf("state", "must be pending, running, done or dead, not %q", state))
		return
	}
	s.writeJobs(w, r, synclayer.JobFilter{State: state, Queue: r.URL.Query().Get("queue"), Skill: r.URL.Query().Get("skill"), Limit: limit})
}

// handleDLQList lists dead-lettered jobs with the reason each gave up.
func (s *Server) handleDLQList(w http.ResponseWriter, r *http.Request) {
	limit, err := queryLimit(r)
	if err != nil {
		writeError(w, r, s.cfg.Logger, err)
		return
	}
	s.writeJobs(w, r, synclayer.JobFilter{State: synclayer.JobDead, Limit: limit})
}

func (s *Server) writeJobs(w http.ResponseWriter, r *http.Request, f synclayer.JobFilter) {
	jobs, err := s.cfg.Store.FindJobs(r.Context(), f)
	if err != nil {
		writeError(w, r, s.cfg.Logger, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"jobs": orEmpty(jobs)})
}

// handleDLQRetry puts a dead job back in the queue to run now with a fresh
// retry budget; the worker picks it up at its next poll.
func (s *Server) handleDLQRetry(w http.ResponseWriter, r *http.Request) {
	id, err := pathID(r)
	if err == nil {
		err = s.cfg.Store.RequeueDeadJob(r.Context(), id, s.cfg.Now())
	}
	if err != nil {
		writeError(w, r, s.cfg.Logger, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"id": id, "status": "requeued"})
}

// handleDLQDelete discards a dead job for good; the contact is not changed.
func (s *Server) handleDLQDelete(w http.ResponseWriter, r *http.Request) {
	id, err := pathID(r)
	if err == nil {
		err = s.cfg.Store.DeleteDeadJob(r.Context(), id)
	}
	if err != nil {
		writeError(w, r, s.cfg.Logger, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}
