package klaviyosim

import (
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"mime"
	"net/http"
	"regexp"
	"strings"
	"time"
)

const mediaType = "application/vnd.api+json"

// apiError is one JSON:API error answer.
type apiError struct {
	status    int
	code      string
	detail    string
	pointer   string // source.pointer, a JSON pointer into the body
	parameter string // source.parameter, a query parameter or header
	meta      map[string]any
}

var titles = map[int]string{
	http.StatusBadRequest:            "Invalid input.",
	http.StatusUnauthorized:          "Authentication credentials were not provided.",
	http.StatusNotFound:              "Not found.",
	http.StatusNotAcceptable:         "Could not satisfy the request Accept header.",
	http.StatusConflict:              "Conflict.",
	http.StatusUnsupportedMediaType:  "Unsupported media type.",
	http.StatusTooManyRequests:       "Request was throttled.",
	http.StatusInternalServerError:   "A server error occurred.",
	http.StatusRequestEntityTooLarge: "Request too large.",
}

func (e *apiError) write(w http.ResponseWriter) {
	obj := map[string]any{
		"id": newUUID(), "status": e.status, "code": e.code,
		"title": titles[e.status], "detail": e.detail, "links": map[string]any{}, "meta": map[string]any{},
	}
	if e.meta != nil {
		obj["meta"] = e.meta
	}
	switch {
	case e.pointer != "":
		obj["source"] = map[string]string{"pointer": e.pointer}
	case e.parameter != "":
		obj["source"] = map[string]string{"parameter": e.parameter}
	}
	writeJSON(w, e.status, map[string]any{"errors": []any{obj}})
}

func writeError(w http.ResponseWriter, status int, code, detail, pointer string) {
	(&apiError{status: status, code: code, detail: detail, pointer: pointer}).write(w)
}

func invalid(detail, pointer string) *apiError {
	return &apiError{status: http.StatusBadRequest, code: "invalid", detail: detail, pointer: pointer}
}

func notFound(detail string) *apiError {
	return &apiError{status: http.StatusNotFound, code: "not_found", detail: detail}
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", mediaType)
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

// checkMedia enforces JSON:API media types: a body must be sent as
// application/vnd.api+json (415 otherwise), and an Accept header must
// allow it (406 otherwise).
func checkMedia(r *http.Request, body []byte) *apiError {
	if len(body) > 0 {
		mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
		if err != nil || mt != mediaType {
			return &apiError{status: http.StatusUnsupportedMediaType, code: "unsupported_media_type",
				detail: "Unsupported media type in request: send bodies as " + mediaType + ".", parameter: "Content-Type"}
		}
	}
	if a := r.Header.Get("Accept"); a != "" && !strings.Contains(a, mediaType) && !strings.Contains(a, "*/*") &&
		!strings.Contains(a, "application/json") {
		return &apiError{status: http.StatusNotAcceptable, code: "not_acceptable", detail: "Accept " + mediaType + ".", parameter: "Accept"}
	}
	return nil
}

var revisionPattern = regexp.MustCompile(`^\d{4}-\d{2}-\d{2}(\.[a-z0-9]+)?$`)

func validRevision(v string) bool {
	if !revisionPattern.MatchString(v) {
		return false
	}
	_, err := time.Parse("2006-01-02", v[:10])
	return err == nil
}

func newUUID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	h := hex.EncodeToString(b[:])
	return h[:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:]
}

// timestamp formats t as Klaviyo does (ISO 8601 with offset).
func timestamp(t time.Time) any {
	if t.IsZero() {
		return nil
	}
	return t.UTC().Format("2006-01-02T15:04:05.000000+00:00")
}
