package brevo

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"time"

	"synclayer"
)

// APIError is a non-2xx answer from Brevo. Code is Brevo's error code, an
// open string such as "invalid_parameter", "duplicate_parameter" or
// "document_not_found"; Message is Brevo's text. Metadata is the optional
// object of contactErrorModel, e.g. {"duplicate_identifiers":["email"]}.
type APIError struct {
	Status   int
	Code     string
	Message  string
	Metadata map[string]any
}

// Error returns the status, code and Brevo's message. It never holds the
// API key or the request body.
func (e *APIError) Error() string {
	switch {
	case e.Code != "" && e.Message != "":
		return fmt.Sprintf("%d %s: %s", e.Status, e.Code, e.Message)
	case e.Code != "":
		return fmt.Sprintf("%d %s", e.Status, e.Code)
	case e.Message != "":
		return fmt.Sprintf("%d: %s", e.Status, e.Message)
	}
	return fmt.Sprintf("%d %s", e.Status, http.StatusText(e.Status))
}

// IsNotFound reports whether err is Brevo's 404, as when a contact to
// update, delete or get does not exist.
func IsNotFound(err error) bool {
	var e *APIError
	return errors.As(err, &e) && e.Status == http.StatusNotFound
}

// parseAPIError decodes Brevo's {code, message, metadata} body; a body that
// is not that shape leaves Code and Message empty rather than quoting it.
func parseAPIError(status int, body []byte) *APIError {
	e := &APIError{Status: status}
	var m struct {
		Code     string         `json:"code"`
		Message  string         `json:"message"`
		Metadata map[string]any `json:"metadata"`
	}
	if json.Unmarshal(body, &m) == nil {
		e.Code, e.Message, e.Metadata = m.Code, m.Message, m.Metadata
	}
	return e
}

// classify wraps err (which wraps apiErr) for the queue: 429 asks for a
// retry after the rate-limit reset; 5xx and 425 Too Early stay plain
// errors, which the queue retries with backoff; every other status (4xx,
// and an unexpected 3xx) is permanent.
func classify(err error, apiErr *APIError, rl rateHeaders) error {
	switch s := apiErr.Status; {
	case s == http.StatusTooManyRequests:
		d := time.Second
		if rl.hasReset && rl.reset > 0 {
			d = rl.reset
		}
		return synclayer.Throttled(err, d)
	case s == http.StatusTooEarly:
		return err
	case s < 500:
		return synclayer.Permanent(err)
	}
	return err
}

// HTTPStatus returns the status answered, for synclayer.HTTPStatus.
func (e *APIError) HTTPStatus() int { return e.Status }
