package api

import (
	"context"
	"net/http"
	"strconv"

	"synclayer"
)

// ConfigManager reads the configuration history and rolls back to an
// earlier version. The program wires it, since applying a version means
// rebuilding the skills it runs.
type ConfigManager interface {
	// ConfigVersions lists versions newest first, without their YAML, and
	// the version this server runs.
	ConfigVersions(ctx context.Context, limit int) (versions []*synclayer.ConfigVersion, running int, err error)
	// ConfigVersion returns version n with its YAML; ENOTFOUND if unknown.
	ConfigVersion(ctx context.Context, n int) (*synclayer.ConfigVersion, error)
	// Rollback applies version n's skills at once, without a restart, and
	// records that as a new version, which it returns. Errors: ENOTFOUND,
	// EINVALID naming "version" when it cannot run with the current config.
	Rollback(ctx context.Context, n int, actor string) (*synclayer.ConfigVersion, error)
}

// noConfigs answers when the server was built without a ConfigManager.
func (s *Server) noConfigs(w http.ResponseWriter, r *http.Request) bool {
	if s.cfg.Configs != nil {
		return false
	}
	writeError(w, r, s.cfg.Logger, synclayer.Errorf(synclayer.EINTERNAL, "this server keeps no config history"))
	return true
}

func (s *Server) handleConfigVersionList(w http.ResponseWriter, r *http.Request) {
	if s.noConfigs(w, r) {
		return
	}
	limit, err := queryLimit(r)
	if err != nil {
		writeError(w, r, s.cfg.Logger, err)
		return
	}
	versions, running, err := s.cfg.Configs.ConfigVersions(r.Context(), limit)
	if err != nil {
		writeError(w, r, s.cfg.Logger, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"running": running, "versions": orEmpty(versions)})
}

func (s *Server) handleConfigVersionGet(w http.ResponseWriter, r *http.Request) {
	if s.noConfigs(w, r) {
		return
	}
	n, err := strconv.Atoi(r.PathValue("n"))
	if err != nil || n < 1 {
		writeError(w, r, s.cfg.Logger, synclayer.FieldErrorf("n", "%q is not a config version; versions are numbered from 1", r.PathValue("n")))
		return
	}
	v, err := s.cfg.Configs.ConfigVersion(r.Context(), n)
	if err != nil {
		writeError(w, r, s.cfg.Logger, err)
		return
	}
	writeJSON(w, http.StatusOK, v)
}

type rollbackRequest struct {
	Version int `json:"version"`
}

// handleConfigRollback answers the new version the rollback recorded.
func (s *Server) handleConfigRollback(w http.ResponseWriter, r *http.Request) {
	if s.noConfigs(w, r) {
		return
	}
	var req rollbackRequest
	if err := s.decodeJSON(w, r, &req); err != nil {
		writeError(w, r, s.cfg.Logger, err)
		return
	}
	if req.Version < 1 {
		writeError(w, r, s.cfg.Logger, synclayer.FieldErrorf("version", "give the version to roll back to, from GET /api/v1/config/versions"))
		return
	}
	v, err := s.cfg.Configs.Rollback(r.Context(), req.Version, actor(r))
	if err != nil {
		writeError(w, r, s.cfg.Logger, err)
		return
	}
	writeJSON(w, http.StatusOK, v)
}
