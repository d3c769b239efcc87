package api

import (
	"net/http"

	"synclayer"
)

// handleCompanyList answers the companies whose name starts with ?name=
// (folded as CompanyKey folds it), by name.
func (s *Server) handleCompanyList(w http.ResponseWriter, r *http.Request) {
	limit, err := queryLimit(r)
	if err != nil {
		writeError(w, r, s.cfg.Logger, err)
		return
	}
	cos, err := s.cfg.Store.FindCompanies(r.Context(), r.URL.Query().Get("name"), limit)
	if err != nil {
		writeError(w, r, s.cfg.Logger, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"companies": orEmpty(cos)})
}

// handleCompanyGet answers one company with the IDs of its contacts (up
// to ?limit=, default 100).
func (s *Server) handleCompanyGet(w http.ResponseWriter, r *http.Request) {
	limit, err := queryLimit(r)
	if err != nil {
		writeError(w, r, s.cfg.Logger, err)
		return
	}
	co, err := s.cfg.Store.FindCompany(r.Context(), r.PathValue("id"))
	if err != nil {
		writeError(w, r, s.cfg.Logger, err)
		return
	}
	contacts, err := s.cfg.Store.FindCompanyContacts(r.Context(), co.ID, limit)
	if err != nil {
		writeError(w, r, s.cfg.Logger, err)
		return
	}
	writeJSON(w, http.StatusOK, struct {
		*synclayer.Company
		Contacts []string `json:"contacts"`
	}{co, orEmpty(contacts)})
}
