package klaviyo

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"synclayer"
)

// APIError is a non-2xx answer from Klaviyo: its status and the JSON:API
// error objects of the body ({"errors":[{id, code, title, detail, source,
// meta}]}), empty when the body was not that shape.
type APIError struct {
	Status int
	Errors []ErrorObject
}

// ErrorObject is one JSON:API error. Code is Klaviyo's error code, an open
// string such as "invalid", "not_found", "duplicate_profile",
// "not_authenticated" or "throttled"; Meta carries extra data, such as
// duplicate_profile_id on a 409.
type ErrorObject struct {
	ID     string         `json:"id"`
	Code   string         `json:"code"`
	Title  string         `json:"title"`
	Detail string         `json:"detail"`
	Source *ErrorSource   `json:"source,omitempty"`
	Meta   map[string]any `json:"meta,omitempty"`
}

// ErrorSource points at the offending part of the request.
type ErrorSource struct {
	Pointer   string `json:"pointer,omitempty"`
	Parameter string `json:"parameter,omitempty"`
}

// Error returns the status with each error's code, pointer and detail.
// Klaviyo's details describe the field, not its value, so no email or key
// appears; the request body is never quoted.
func (e *APIError) Error() string {
	if len(e.Errors) == 0 {
		return fmt.Sprintf("%d %s", e.Status, http.StatusText(e.Status))
	}
	parts := make([]string, 0, len(e.Errors))
	for _, o := range e.Errors {
		s := o.Code
		if o.Source != nil && o.Source.Pointer != "" {
			s += " at " + o.Source.Pointer
		} else if o.Source != nil && o.Source.Parameter != "" {
			s += " in parameter " + o.Source.Parameter
		}
		if d := firstNonEmpty(o.Detail, o.Title); d != "" {
			s += ": " + d
		}
		parts = append(parts, strings.TrimSpace(s))
	}
	return fmt.Sprintf("%d %s", e.Status, strings.Join(parts, "; "))
}

// Code returns the first error's code, or "".
func (e *APIError) Code() string {
	if len(e.Errors) == 0 {
		return ""
	}
	return e.Errors[0].Code
}

// IsNotFound reports whether err is Klaviyo's 404, as for a list or
// profile ID that does not exist.
func IsNotFound(err error) bool { return statusOf(err) == http.StatusNotFound }

// DuplicateProfileID returns the profile ID of a 409 duplicate_profile
// answer (meta.duplicate_profile_id), or "" when err is not one.
func DuplicateProfileID(err error) string {
	var e *APIError
	if !errors.As(err, &e) || e.Status != http.StatusConflict {
		return ""
	}
	for _, o := range e.Errors {
		if id, ok := o.Meta["duplicate_profile_id"].(string); ok && id != "" {
			return id
		}
	}
	return ""
}

func statusOf(err error) int {
	var e *APIError
	if errors.As(err, &e) {
		return e.Status
	}
	return 0
}

// parseAPIError decodes the JSON:API error body; anything else leaves
// Errors empty rather than quoting the body.
func parseAPIError(status int, body []byte) *APIError {
	e := &APIError{Status: status}
	var w struct {
		Errors []ErrorObject `json:"errors"`
	}
	if json.Unmarshal(body, &w) == nil {
		e.Errors = w.Errors
	}
	return e
}

// classify wraps err (which wraps apiErr) for the queue: 429 asks for a
// retry after Retry-After (1 s when absent); 408, 5xx and anything odd
// stay plain errors, which the queue retries with backoff; every other 4xx
// (and an unexpected 3xx) is permanent: sending it again cannot succeed.
func classify(err error, apiErr *APIError, rl rateHeaders) error {
	switch s := apiErr.Status; {
	case s == http.StatusTooManyRequests:
		d := time.Second
		if rl.retryAfter > 0 {
			d = rl.retryAfter
		}
		return synclayer.Throttled(err, d)
	case s == http.StatusRequestTimeout:
		return err
	case s < 500:
		return synclayer.Permanent(err)
	}
	return err
}

func firstNonEmpty(s ...string) string {
	for _, v := range s {
		if v != "" {
			return v
		}
	}
	return ""
}

// HTTPStatus returns the status answered, for synclayer.HTTPStatus.
func (e *APIError) HTTPStatus() int { return e.Status }
