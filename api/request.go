package api

import (
	"errors"
	"io"
	"net/http"
	"strconv"

	"synclayer"
	"synclayer/normalize"
)

// decodeJSON reads one JSON value from the request body into v, refusing
// unknown keys, so a misspelt key is an error naming it instead of being
// ignored. Errors are EINVALID naming "body" or the field at fault, and
// ETOOLARGE.
func (s *Server) decodeJSON(w http.ResponseWriter, r *http.Request, v any) error {
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, s.cfg.MaxBodyBytes))
	var tooBig *http.MaxBytesError
	if errors.As(err, &tooBig) {
		return synclayer.Errorf(synclayer.ETOOLARGE, "the body is larger than the %d-byte limit (server.max_body_bytes)", tooBig.Limit)
	}
	if err != nil {
		return synclayer.FieldErrorf("body", "could not be read")
	}
	return normalize.Strict("body", body, v)
}

// pathID parses the {id} path value as a job ID.
func pathID(r *http.Request) (int64, error) {
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err != nil || id <= 0 {
		return 0, synclayer.FieldErrorf("id", "%q is not a job ID; job IDs are positive numbers", r.PathValue("id"))
	}
	return id, nil
}

// queryLimit parses ?limit=, 0 when absent (the store's default).
func queryLimit(r *http.Request) (int, error) {
	v := r.URL.Query().Get("limit")
	if v == "" {
		return 0, nil
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 1 || n > 1000 {
		return 0, synclayer.FieldErrorf("limit", "must be a number from 1 to 1000, not %q", v)
	}
	return n, nil
}

// orEmpty makes a nil list encode as [] rather than null.
func orEmpty[T any](list []T) []T {
	if list == nil {
		return []T{}
	}
	return list
}
