package api

import (
	"net/http"

	"synclayer"
)

func (s *Server) handleKeyList(w http.ResponseWriter, r *http.Request) {
	keys, err := s.cfg.Keys.FindKeys(r.Context())
	if err != nil {
		writeError(w, r, s.cfg.Logger, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"keys": orEmpty(keys)})
}

type keyCreateRequest struct {
	Role synclayer.Role `json:"role"`
	Name string         `json:"name"`
}

// handleKeyCreate answers 201 with the new key's secret. It is the only
// time the secret is shown: only its hash is stored.
func (s *Server) handleKeyCreate(w http.ResponseWriter, r *http.Request) {
	var req keyCreateRequest
	if err := s.decodeJSON(w, r, &req); err != nil {
		writeError(w, r, s.cfg.Logger, err)
		return
	}
	k, secret, err := synclayer.NewAPIKey(req.Role, req.Name, s.cfg.Now())
	if err == nil {
		err = s.cfg.Keys.CreateKey(r.Context(), k)
	}
	if err != nil {
		writeError(w, r, s.cfg.Logger, err)
		return
	}
	s.cfg.Logger.Info("API key created", "key", k.ID, "role", k.Role, "by", actor(r))
	writeJSON(w, http.StatusCreated, struct {
		*synclayer.APIKey
		Key string `json:"key"`
	}{k, secret})
}

// handleKeyRevoke revokes a key; it stops working at the next request.
func (s *Server) handleKeyRevoke(w http.ResponseWriter, r *http.Request) {
	if err := s.cfg.Keys.RevokeKey(r.Context(), r.PathValue("id"), s.cfg.Now()); err != nil {
		writeError(w, r, s.cfg.Logger, err)
		return
	}
	s.cfg.Logger.Info("API key revoked", "key", r.PathValue("id"), "by", actor(r))
	w.WriteHeader(http.StatusNoContent)
}
