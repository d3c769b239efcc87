package hubspot

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

// APIError is a non-2xx answer from HubSpot, decoded from its error body
// {status, message, correlationId, category, errors[]}. Message is
// redacted: an email address in it is replaced by "<email>".
type APIError struct {
	Status        int
	Category      string // VALIDATION_ERROR, OBJECT_NOT_FOUND, INVALID_AUTHENTICATION, RATE_LIMITS, ...
	Message       string
	CorrelationID string
	PolicyName    string // a 429's limit: TEN_SECONDLY_ROLLING, SECONDLY or DAILY
	Details       []string
}

// Error returns the status, category, message and correlation ID, never
// the token or an address.
func (e *APIError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%d", e.Status)
	if e.Category != "" {
		b.WriteString(" " + e.Category)
	} else {
		b.WriteString(" " + http.StatusText(e.Status))
	}
	if e.PolicyName != "" {
		b.WriteString(" (" + e.PolicyName + ")")
	}
	if e.Message != "" {
		b.WriteString(": " + e.Message)
	}
	for _, d := range e.Details {
		b.WriteString("; " + d)
	}
	if e.CorrelationID != "" {
		b.WriteString(" [correlationId " + e.CorrelationID + "]")
	}
	return b.String()
}

// HTTPStatus returns the status answered, for synclayer.HTTPStatus.
func (e *APIError) HTTPStatus() int { return e.Status }

var emailPattern = regexp.MustCompile(`[^\s"'<>(),;:]+@[^\s"'<>(),;:]+`)

func redact(s string) string { return emailPattern.ReplaceAllString(s, "<email>") }

func parseAPIError(status int, body []byte) *APIError {
	e := &APIError{Status: status}
	var m struct {
		Message       string `json:"message"`
		CorrelationID string `json:"correlationId"`
		Category      string `json:"category"`
		PolicyName    string `json:"policyName"`
		Errors        []struct {
			Message string `json:"message"`
			In      string `json:"in"`
		} `json:"errors"`
	}
	if json.Unmarshal(body, &m) == nil {
		e.Message, e.CorrelationID, e.Category, e.PolicyName = redact(m.Message), m.CorrelationID, m.Category, m.PolicyName
		for _, d := range m.Errors {
			e.Details = append(e.Details, redact(strings.TrimSpace(d.In+" "+d.Message)))
		}
	}
	return e
}

// IsNotFound reports whether err is HubSpot's 404.
func IsNotFound(err error) bool { return hasStatus(err, http.StatusNotFound) }

// IsUnauthorized reports whether err is HubSpot's 401.
func IsUnauthorized(err error) bool { return hasStatus(err, http.StatusUnauthorized) }

func hasStatus(err error, status int) bool {
	var e *APIError
	return errors.As(err, &e) && e.Status == status
}

// isAlready reports whether err is the 400 HubSpot answers a subscribe or
// unsubscribe that changes nothing ("... is already unsubscribed ...").
func isAlready(err error, what string) bool {
	var e *APIError
	return errors.As(err, &e) && e.Status == http.StatusBadRequest && strings.Contains(strings.ToLower(e.Message), "already "+what)
}

// isOptedOut reports whether err is HubSpot's refusal to subscribe an
// address that opted out.
func isOptedOut(err error) bool {
	var e *APIError
	if !errors.As(err, &e) || e.Status != http.StatusBadRequest {
		return false
	}
	m := strings.ToLower(e.Message)
	return strings.Contains(m, "opted out") || strings.Contains(m, "unsubscribed") || strings.Contains(m, "resubscribe")
}

// classify wraps err for the queue: 429 asks for a retry after wait; 401
// names the access_token setting (or, with oauth, the app's grant) and is
// permanent; 408, 423 and 5xx stay plain errors, retried with backoff;
// every other status is permanent.
func classify(err error, apiErr *APIError, wait time.Duration, oauth bool) error {
	switch s := apiErr.Status; {
	case s == http.StatusTooManyRequests:
		return synclayer.Throttled(err, wait)
	case s == http.StatusUnauthorized && oauth:
		return synclayer.Permanent(fmt.Errorf("%w: HubSpot refused a just-refreshed OAuth access token: check that the app is still installed in the account and has the scopes crm.objects.contacts.write, crm.schemas.contacts.write and communication_preferences.write; reconnect it if not", err))
	case s == http.StatusUnauthorized:
		return synclayer.Permanent(fmt.Errorf("%w: check access_token, the private app's access token (pat-…) from HubSpot → Settings → Integrations → Private Apps, and its scopes (crm.objects.contacts.write, crm.schemas.contacts.write, communication_preferences.write)", err))
	case s == http.StatusRequestTimeout, s == http.StatusLocked, s >= 500:
		return err
	}
	return synclayer.Permanent(err)
}
