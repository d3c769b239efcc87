package hubspotsim

import (
	"crypto/rand"
	"encoding/json"
	"fmt"
	"net/http"
)

// Error is HubSpot's error body.
type Error struct {
	Status        string        `json:"status"`
	Message       string        `json:"message"`
	CorrelationID string        `json:"correlationId"`
	Category      string        `json:"category"`
	Errors        []ErrorDetail `json:"errors,omitempty"`
	PolicyName    string        `json:"policyName,omitempty"` // 429s only
	ErrorType     string        `json:"errorType,omitempty"`  // 429s only: RATE_LIMIT
}

// ErrorDetail is one entry of an error's errors array.
type ErrorDetail struct {
	Message string `json:"message"`
	In      string `json:"in,omitempty"`
	Code    string `json:"code,omitempty"`
}

func correlationID() string {
	b := make([]byte, 16)
	rand.Read(b)
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:])
}

func writeError(w http.ResponseWriter, status int, category, message string, details []ErrorDetail) {
	writeJSON(w, status, Error{Status: "error", Message: message, CorrelationID: correlationID(), Category: category, Errors: details})
}

func writeRateLimit(w http.ResponseWriter, policy, message string) {
	writeJSON(w, http.StatusTooManyRequests, Error{Status: "error", Message: message, CorrelationID: correlationID(),
		Category: "RATE_LIMITS", ErrorType: "RATE_LIMIT", PolicyName: policy})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json;charset=utf-8")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(v)
}
