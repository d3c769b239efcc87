package api

import (
	"encoding/base64"
	"net/http"
	"time"
	"unicode/utf8"
)

// rejection is a kept rejection as the admin API shows it: the request's
// headers without credentials or signatures, and its body (the first 64
// KiB), as text when it is UTF-8 and in base64 otherwise.
type rejection struct {
	ID         int64             `json:"id"`
	Source     string            `json:"source"`
	ReceivedAt time.Time         `json:"receivedAt"`
	Status     int               `json:"status"`
	Code       string            `json:"code"`
	Message    string            `json:"message"`
	Headers    map[string]string `json:"headers,omitempty"`
	Body       string            `json:"body,omitempty"`
	BodyBase64 string            `json:"bodyBase64,omitempty"`
}

// handleRejectionList answers the newest kept rejections (webhooks
// refused, and records a source's API listed that could not be read),
// newest first, of ?source= when given: what was refused and why, for an
// operator to inspect. Operator, since the bodies are the platforms'
// payloads as they came, personal data included.
func (s *Server) handleRejectionList(w http.ResponseWriter, r *http.Request) {
	limit, err := queryLimit(r)
	if err != nil {
		writeError(w, r, s.cfg.Logger, err)
		return
	}
	if limit == 0 {
		limit = 100
	}
	if s.cfg.Rejections == nil {
		writeJSON(w, http.StatusOK, map[string]any{"rejections": []rejection{}})
		return
	}
	source := r.URL.Query().Get("source")
	read := limit
	if source != "" {
		read = 1000 // all that are kept, then filtered
	}
	rejs, err := s.cfg.Rejections.FindRejections(r.Context(), read)
	if err != nil {
		writeError(w, r, s.cfg.Logger, err)
		return
	}
	out := []rejection{}
	for _, rj := range rejs {
		if source != "" && rj.Source != source {
			continue
		}
		v := rejection{ID: rj.ID, Source: rj.Source, ReceivedAt: rj.ReceivedAt, Status: rj.Status, Code: rj.Code, Message: rj.Message, Headers: rj.Headers}
		if utf8.Valid(rj.Body) {
			v.Body = string(rj.Body)
		} else {
			v.BodyBase64 = base64.StdEncoding.EncodeToString(rj.Body)
		}
		out = append(out, v)
		if len(out) == limit {
			break
		}
	}
	writeJSON(w, http.StatusOK, map[string]any{"rejections": out})
}
