package mailchimpsim

import (
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"net/http"
	"strings"
)

// errorDocs is the type URI Mailchimp puts in its problem documents.
const errorDocs = "https://mailchimp.com/developer/marketing/docs/errors/"

// Problem is Mailchimp's problem-details error body.
type Problem struct {
	Type     string       `json:"type"`
	Title    string       `json:"title"`
	Status   int          `json:"status"`
	Detail   string       `json:"detail"`
	Instance string       `json:"instance"`
	Errors   []FieldError `json:"errors,omitempty"`
}

// FieldError is one entry of a Problem's errors array.
type FieldError struct {
	Field   string `json:"field"`
	Message string `json:"message"`
}

func writeProblem(w http.ResponseWriter, status int, title, detail string, errs ...FieldError) {
	b := make([]byte, 16)
	rand.Read(b)
	w.Header().Set("content-type", "application/problem+json; charset=utf-8")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(Problem{Type: errorDocs, Title: title, Status: status, Detail: detail,
		Instance: hex.EncodeToString(b), Errors: errs})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("content-type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(v)
}

func notFound(w http.ResponseWriter) {
	writeProblem(w, http.StatusNotFound, "Resource Not Found", "The requested resource could not be found.")
}

func invalid(w http.ResponseWriter, detail string, errs ...FieldError) {
	writeProblem(w, http.StatusBadRequest, "Invalid Resource", detail, errs...)
}

// stripBase removes everything up to and including /3.0, so the server
// answers at the root, under /3.0, and under a mount prefix.
func stripBase(r *http.Request) {
	trim := func(p string) string {
		if i := strings.Index(p, "/3.0/"); i >= 0 {
			return p[i+len("/3.0"):]
		}
		return p
	}
	r.URL.Path = trim(r.URL.Path)
	r.URL.RawPath = trim(r.URL.RawPath)
}
