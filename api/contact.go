package api

import (
	"net/http"
	"strings"

	"synclayer"
)

// handleContactList finds contacts by ?email= or ?phone= (E.164), newest
// first; with neither it lists the most recently changed contacts.
func (s *Server) handleContactList(w http.ResponseWriter, r *http.Request) {
	limit, err := queryLimit(r)
	if err != nil {
		writeError(w, r, s.cfg.Logger, err)
		return
	}
	q := r.URL.Query()
	f := synclayer.ContactFilter{Email: strings.ToLower(strings.TrimSpace(q.Get("email"))), Phone: strings.TrimSpace(q.Get("phone")), Limit: limit}
	contacts, err := s.cfg.Store.FindContacts(r.Context(), f)
	if err != nil {
		writeError(w, r, s.cfg.Logger, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"contacts": orEmpty(contacts)})
}

func (s *Server) handleContactGet(w http.ResponseWriter, r *http.Request) {
	c, err := s.cfg.Store.FindContactByID(r.Context(), r.PathValue("id"))
	if err != nil {
		writeError(w, r, s.cfg.Logger, err)
		return
	}
	writeJSON(w, http.StatusOK, c)
}

// handleContactTrace answers the contact's history, oldest first: each
// event with the rule that decided every field, and each delivery with what
// the destination answered. An unknown contact is 404, not an empty trace.
func (s *Server) handleContactTrace(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	if _, err := s.cfg.Store.FindContactByID(r.Context(), id); err != nil {
		writeError(w, r, s.cfg.Logger, err)
		return
	}
	trace, err := s.cfg.Store.Trace(r.Context(), id)
	if err != nil {
		writeError(w, r, s.cfg.Logger, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"contactId": id, "trace": orEmpty(trace)})
}
