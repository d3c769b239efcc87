package mailchimp

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"regexp"
	"strings"
	"time"

	"synclayer"
)

// Titles of Mailchimp problem-details answers that synclayer acts on.
const (
	TitleComplianceState = "Member In Compliance State"
	TitleForgottenEmail  = "Forgotten Email Not Subscribed"
	TitleInvalidResource = "Invalid Resource"
	TitleMemberExists    = "Member Exists"
	TitleAPIKeyInvalid   = "API Key Invalid"
	TitleTooManyRequests = "Too Many Requests"
	TitleNotFound        = "Resource Not Found"
)

// APIError is a non-2xx answer from Mailchimp, decoded from its
// problem-details body. Detail and the field messages are redacted: an
// email address in them (Mailchimp quotes the member's) is replaced by
// "<email>", so the error can be logged and shown.
type APIError struct {
	Status   int
	Type     string
	Title    string
	Detail   string
	Instance string
	Errors   []FieldError
}

// FieldError is one entry of a problem's errors array.
type FieldError struct {
	Field   string `json:"field"`
	Message string `json:"message"`
}

// Error returns the status, title, detail and field errors. It never holds
// the API key, the request body or an email address.
func (e *APIError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%d", e.Status)
	if e.Title != "" {
		b.WriteString(" " + e.Title)
	} else {
		b.WriteString(" " + http.StatusText(e.Status))
	}
	if e.Detail != "" {
		b.WriteString(": " + e.Detail)
	}
	for i, f := range e.Errors {
		if i == 0 {
			b.WriteString(" (")
		} else {
			b.WriteString("; ")
		}
		b.WriteString(f.Field + ": " + f.Message)
		if i == len(e.Errors)-1 {
			b.WriteString(")")
		}
	}
	return b.String()
}

// IsNotFound reports whether err is Mailchimp's 404, as for a member never
// added or permanently deleted.
func IsNotFound(err error) bool { return hasStatus(err, http.StatusNotFound) }

// IsComplianceState reports whether err is Mailchimp's refusal to
// subscribe a member who unsubscribed, bounced or is under compliance
// review. Only the person can lift it, by confirming a pending
// re-subscription or using a Mailchimp signup form.
func IsComplianceState(err error) bool { return hasTitle(err, TitleComplianceState) }

// IsForgottenEmail reports whether err is Mailchimp's refusal to re-add an
// address that was permanently deleted.
func IsForgottenEmail(err error) bool { return hasTitle(err, TitleForgottenEmail) }

func hasStatus(err error, status int) bool {
	var e *APIError
	return errors.As(err, &e) && e.Status == status
}

func hasTitle(err error, title string) bool {
	var e *APIError
	return errors.As(err, &e) && strings.EqualFold(e.Title, title)
}

var emailPattern = regexp.MustCompile(`[^\s"'<>(),;:]+@[^\s"'<>(),;:]+`)

// redact replaces anything shaped like an email address.
func redact(s string) string { return emailPattern.ReplaceAllString(s, "<email>") }

// parseAPIError decodes a problem-details body; a body of another shape
// leaves the fields empty rather than quoting it.
func parseAPIError(status int, body []byte) *APIError {
	e := &APIError{Status: status}
	var m struct {
		Type     string       `json:"type"`
		Title    string       `json:"title"`
		Detail   string       `json:"detail"`
		Instance string       `json:"instance"`
		Errors   []FieldError `json:"errors"`
	}
	if json.Unmarshal(body, &m) == nil {
		e.Type, e.Title, e.Detail, e.Instance = m.Type, m.Title, redact(m.Detail), m.Instance
		for _, f := range m.Errors {
			e.Errors = append(e.Errors, FieldError{Field: redact(f.Field), Message: redact(f.Message)})
		}
	}
	return e
}

// classify wraps err (which wraps apiErr) for the queue: 429 asks for a
// retry after wait; 408 and 5xx stay plain errors, retried with backoff;
// every other status is permanent.
func classify(err error, apiErr *APIError, wait time.Duration) error {
	switch s := apiErr.Status; {
	case s == http.StatusTooManyRequests:
		return synclayer.Throttled(err, wait)
	case s == http.StatusRequestTimeout, s >= 500:
		return err
	}
	return synclayer.Permanent(err)
}

// HTTPStatus returns the status answered, for synclayer.HTTPStatus.
func (e *APIError) HTTPStatus() int { return e.Status }
