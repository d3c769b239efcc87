package brevosim

import (
	"encoding/json"
	"net/http"
	"strings"
)

// stripBase removes a leading /v3, so the server answers at either base.
func stripBase(r *http.Request) {
	trim := func(p string) string {
		if p == "/v3" || strings.HasPrefix(p, "/v3/") {
			return p[len("/v3"):]
		}
		return p
	}
	r.URL.Path = trim(r.URL.Path)
	r.URL.RawPath = trim(r.URL.RawPath)
}

// writeJSON writes v with status.
func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("content-type", "application/json")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(v)
}

// errorBody is Brevo's errorModel / contactErrorModel.
type errorBody struct {
	Code     string         `json:"code,omitempty"`
	Message  string         `json:"message"`
	Metadata map[string]any `json:"metadata,omitempty"`
}

func writeError(w http.ResponseWriter, status int, code, message string) {
	writeJSON(w, status, errorBody{Code: code, Message: message})
}
