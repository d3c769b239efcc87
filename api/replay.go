package api

import (
	"context"
	"net/http"
	"time"

	"synclayer"
)

// Replayer re-runs stored events through the current pipeline. The
// program wires it, since which queues a contact goes to follows the
// skills' current config.
type Replayer interface {
	// Replay queues a delivery, on each destination the skill runs on,
	// for every contact the events req selects touched; with DryRun it
	// only counts. Errors: EINVALID naming the field ("skill", "source",
	// "until"), ECONFLICT when the skill is disabled.
	Replay(ctx context.Context, req synclayer.ReplayRequest) (*synclayer.ReplayResult, error)
}

type replayRequest struct {
	Since  string `json:"since"`
	Until  string `json:"until"`
	Skill  string `json:"skill"`
	Source string `json:"source"`
	DryRun bool   `json:"dryRun"`
}

// handleReplay answers what the replay matched and queued. Since and
// until take an RFC 3339 time or a duration ago ("24h"); until defaults
// to now.
func (s *Server) handleReplay(w http.ResponseWriter, r *http.Request) {
	if s.cfg.Replay == nil {
		writeError(w, r, s.cfg.Logger, synclayer.Errorf(synclayer.EINTERNAL, "this server cannot replay events"))
		return
	}
	var in replayRequest
	if err := s.decodeJSON(w, r, &in); err != nil {
		writeError(w, r, s.cfg.Logger, err)
		return
	}
	req, err := replayOf(in, s.cfg.Now())
	if err != nil {
		writeError(w, r, s.cfg.Logger, err)
		return
	}
	res, err := s.cfg.Replay.Replay(r.Context(), req)
	if err != nil {
		writeError(w, r, s.cfg.Logger, err)
		return
	}
	status := http.StatusAccepted
	if res.DryRun {
		status = http.StatusOK
	}
	writeJSON(w, status, res)
}

func replayOf(in replayRequest, now time.Time) (synclayer.ReplayRequest, error) {
	req := synclayer.ReplayRequest{Skill: in.Skill, Source: in.Source, DryRun: in.DryRun, Until: now}
	if in.Since == "" {
		return req, synclayer.FieldErrorf("since", `is required: an RFC 3339 time or a duration ago, e.g. "24h"`)
	}
	var err error
	if req.Since, err = synclayer.ParseTimeAgo("since", in.Since, now); err != nil {
		return req, err
	}
	if in.Until != "" {
		if req.Until, err = synclayer.ParseTimeAgo("until", in.Until, now); err != nil {
			return req, err
		}
	}
	if !req.Since.Before(req.Until) {
		return req, synclayer.FieldErrorf("until", "must be after since (%s)", req.Since.UTC().Format(time.RFC3339))
	}
	return req, nil
}

type dlqRetryRequest struct {
	Skill string `json:"skill"`
}

// handleDLQRetryAll requeues every dead job, or those of one skill (the
// job's skill as listed, e.g. customer-sync@klaviyo). The body is
// optional.
func (s *Server) handleDLQRetryAll(w http.ResponseWriter, r *http.Request) {
	var in dlqRetryRequest
	if r.ContentLength != 0 {
		if err := s.decodeJSON(w, r, &in); err != nil {
			writeError(w, r, s.cfg.Logger, err)
			return
		}
	}
	n, err := s.cfg.Store.RequeueDeadJobs(r.Context(), in.Skill, s.cfg.Now())
	if err != nil {
		writeError(w, r, s.cfg.Logger, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"requeued": n})
}
