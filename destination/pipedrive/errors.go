package pipedrive

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"regexp"
	"time"

	"synclayer"
)

// APIError is a non-2xx answer from Pipedrive, decoded from its error
// body {"success": false, "error": ..., "error_info": ...}. Message is
// redacted: an email address in it is replaced by "<email>".
type APIError struct {
	Status  int
	Message string
	Info    string
	Code    string // errorCode, where Pipedrive sends one
}

// Error returns the status and message, never the token or an address.
func (e *APIError) Error() string {
	s := fmt.Sprintf("%d %s", e.Status, http.StatusText(e.Status))
	if e.Message != "" {
		s += ": " + e.Message
	}
	if e.Info != "" {
		s += " (" + e.Info + ")"
	}
	return s
}

// HTTPStatus returns the status answered, for synclayer.HTTPStatus.
func (e *APIError) HTTPStatus() int { return e.Status }

var emailPattern = regexp.MustCompile(`[^\s"'<>(),;:]+@[^\s"'<>(),;:]+`)

func redact(s string) string { return emailPattern.ReplaceAllString(s, "<email>") }

func parseAPIError(status int, body []byte) *APIError {
	e := &APIError{Status: status}
	var m struct {
		Error     string `json:"error"`
		ErrorInfo string `json:"error_info"`
		ErrorCode any    `json:"errorCode"`
	}
	if json.Unmarshal(body, &m) == nil {
		e.Message, e.Info = redact(m.Error), redact(m.ErrorInfo)
		if m.ErrorCode != nil {
			e.Code = fmt.Sprint(m.ErrorCode)
		}
	}
	return e
}

// IsNotFound reports whether err is Pipedrive's 404 (410 for a person
// deleted, likewise).
func IsNotFound(err error) bool {
	return hasStatus(err, http.StatusNotFound) || hasStatus(err, http.StatusGone)
}

// IsUnauthorized reports whether err is Pipedrive's 401.
func IsUnauthorized(err error) bool { return hasStatus(err, http.StatusUnauthorized) }

func hasStatus(err error, status int) bool {
	var e *APIError
	return errors.As(err, &e) && e.Status == status
}

// classify wraps err for the queue: 429 asks for a retry after wait
// (synclayer.Throttled); 401 names the api_token setting and is
// permanent; 403 (the user may not do this: API access disabled, or a
// permission set) is permanent and says so; 408, 423 and 5xx stay plain
// errors, retried with backoff; every other status is permanent.
func classify(err error, apiErr *APIError, wait time.Duration) error {
	switch s := apiErr.Status; {
	case s == http.StatusTooManyRequests:
		return synclayer.Throttled(err, wait)
	case s == http.StatusUnauthorized:
		return synclayer.Permanent(fmt.Errorf("%w: check api_token, the personal API token from Pipedrive → Personal preferences → API, and company_domain; a user has one token per company, and regenerating it voids the old one", err))
	case s == http.StatusForbidden:
		return synclayer.Permanent(fmt.Errorf("%w: the api_token's user may not do this in Pipedrive (API access, or the user's permission set)", err))
	case s == http.StatusRequestTimeout, s == http.StatusLocked, s >= 500:
		return err
	}
	return synclayer.Permanent(err)
}
