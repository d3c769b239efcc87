package api

import (
	"encoding/json"
	"log/slog"
	"net/http"

	"synclayer"
)

// statusOf maps an error code to its HTTP status.
func statusOf(code string) int {
	switch code {
	case synclayer.EINVALID:
		return http.StatusBadRequest
	case synclayer.EUNAUTHORIZED:
		return http.StatusUnauthorized
	case synclayer.EFORBIDDEN:
		return http.StatusForbidden
	case synclayer.ENOTFOUND:
		return http.StatusNotFound
	case synclayer.ECONFLICT:
		return http.StatusConflict
	case synclayer.ETOOLARGE:
		return http.StatusRequestEntityTooLarge
	case synclayer.ETOOMANY:
		return http.StatusTooManyRequests
	}
	return http.StatusInternalServerError
}

type errorBody struct {
	Error struct {
		Code    string `json:"code"`
		Message string `json:"message"`
		Field   string `json:"field,omitempty"`
	} `json:"error"`
}

// writeError answers with {"error": {"code", "message", "field"}}. Internal
// errors are logged and answered with a generic message.
func writeError(w http.ResponseWriter, r *http.Request, log *slog.Logger, err error) {
	code := synclayer.ErrorCode(err)
	var body errorBody
	body.Error.Code, body.Error.Message = code, synclayer.ErrorMessage(err)
	if e, ok := err.(*synclayer.Error); ok {
		body.Error.Field, body.Error.Message = e.Field, e.Message
	}
	if code == synclayer.EINTERNAL {
		log.Error("request failed", "method", r.Method, "path", r.URL.Path, "err", err)
		body.Error.Message = "internal error; the request was not processed, retry later"
	}
	writeJSON(w, statusOf(code), body)
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

func errorBodyOf(code, message, field string) errorBody {
	var b errorBody
	b.Error.Code, b.Error.Message, b.Error.Field = code, message, field
	return b
}
