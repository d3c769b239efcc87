package api

import (
	"context"
	"encoding/json"
	"net/http"

	"synclayer"
	"synclayer/ingest"
)

// Skill is one skill as the admin API shows it. Config is the skill's
// settings in the same shape as its block under skills: in synclayer.yaml,
// with the same snake_case keys, less "enabled", which is Enabled here; so
// a listed config can be changed and PUT back as it is.
type Skill struct {
	Name    string `json:"name"`
	Enabled bool   `json:"enabled"`
	// Editable is true for a skill the admin API can change; the others
	// are set in the config file and change with a restart.
	Editable bool            `json:"editable"`
	Sources  []string        `json:"sources"`
	Config   json.RawMessage `json:"config"`
}

// SkillManager reads and changes the running skills. The program wires it,
// since only it knows how a skill is built and started.
type SkillManager interface {
	// List returns every skill the program knows, enabled or not.
	List(ctx context.Context) ([]Skill, error)
	// Put validates cfg as the named skill's whole config and applies it at
	// once, enabling the skill; cfg may omit "enabled". It returns the
	// config version it recorded (the running one when nothing changed).
	// Errors: ENOTFOUND for an unknown skill, EINVALID naming the field.
	Put(ctx context.Context, name string, cfg json.RawMessage, actor string) (version int, err error)
	// Disable stops the skill: no new deliveries are queued or made. It
	// returns the config version it recorded.
	Disable(ctx context.Context, name, actor string) (version int, err error)
	// Trigger runs one event through the same validation and pipeline as a
	// webhook. Errors: ENOTFOUND, ECONFLICT when the skill is disabled,
	// EINVALID naming the field.
	Trigger(ctx context.Context, name, event string, data json.RawMessage) (ingest.Result, error)
}

func (s *Server) handleSkillList(w http.ResponseWriter, r *http.Request) {
	skills, err := s.cfg.Skills.List(r.Context())
	if err != nil {
		writeError(w, r, s.cfg.Logger, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"skills": orEmpty(skills)})
}

// handleSkillPut answers the skill as it now runs, with the config version.
func (s *Server) handleSkillPut(w http.ResponseWriter, r *http.Request) {
	var cfg json.RawMessage
	if err := s.decodeJSON(w, r, &cfg); err != nil {
		writeError(w, r, s.cfg.Logger, err)
		return
	}
	version, err := s.cfg.Skills.Put(r.Context(), r.PathValue("name"), cfg, actor(r))
	if err != nil {
		writeError(w, r, s.cfg.Logger, err)
		return
	}
	s.writeSkill(w, r, version)
}

func (s *Server) handleSkillDisable(w http.ResponseWriter, r *http.Request) {
	version, err := s.cfg.Skills.Disable(r.Context(), r.PathValue("name"), actor(r))
	if err != nil {
		writeError(w, r, s.cfg.Logger, err)
		return
	}
	s.writeSkill(w, r, version)
}

func (s *Server) writeSkill(w http.ResponseWriter, r *http.Request, version int) {
	skills, err := s.cfg.Skills.List(r.Context())
	if err != nil {
		writeError(w, r, s.cfg.Logger, err)
		return
	}
	for _, sk := range skills {
		if sk.Name == r.PathValue("name") {
			writeJSON(w, http.StatusOK, struct {
				Skill
				Version int `json:"version"`
			}{sk, version})
			return
		}
	}
	writeError(w, r, s.cfg.Logger, synclayer.Errorf(synclayer.ENOTFOUND, "no skill %q", r.PathValue("name")))
}

type triggerRequest struct {
	Event string          `json:"event"`
	Data  json.RawMessage `json:"data"`
}

// handleSkillTrigger answers 202: the event is stored and its delivery
// queued, not yet made. A genuine event that cannot be synced (an invalid
// email) is still stored, with status "failed" and the reason, as for a
// webhook.
func (s *Server) handleSkillTrigger(w http.ResponseWriter, r *http.Request) {
	var req triggerRequest
	if err := s.decodeJSON(w, r, &req); err != nil {
		writeError(w, r, s.cfg.Logger, err)
		return
	}
	if len(req.Data) == 0 {
		req.Data = json.RawMessage("null")
	}
	res, err := s.cfg.Skills.Trigger(r.Context(), r.PathValue("name"), req.Event, req.Data)
	if err != nil {
		writeError(w, r, s.cfg.Logger, err)
		return
	}
	writeJSON(w, http.StatusAccepted, res)
}
