package synclayer

import (
	"errors"
	"fmt"
	"time"
)

// Error codes. Each maps to one HTTP status in the api package.
const (
	ECONFLICT     = "conflict"
	EINTERNAL     = "internal"
	EINVALID      = "invalid"
	ENOTFOUND     = "not_found"
	EUNAUTHORIZED = "unauthorized"
	EFORBIDDEN    = "forbidden"
	ETOOLARGE     = "too_large"
	ETOOMANY      = "rate_limited" // a limit on what comes in; Retry-After says when to come back
)

// Error is an error meant for the user: Message says what is wrong and, where
// it can, what to do about it. Field names the offending input when there is
// one. Internal details never go in Message; they are logged instead.
type Error struct {
	Code    string
	Message string
	Field   string
}

func (e *Error) Error() string {
	if e.Field != "" {
		return fmt.Sprintf("%s: %s", e.Field, e.Message)
	}
	return e.Message
}

// Errorf returns an *Error with the given code.
func Errorf(code, format string, args ...any) *Error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...)}
}

// FieldErrorf returns an EINVALID *Error naming the field at fault.
func FieldErrorf(field, format string, args ...any) *Error {
	return &Error{Code: EINVALID, Field: field, Message: fmt.Sprintf(format, args...)}
}

// ErrorCode returns the code of err, or EINTERNAL when err is not an *Error.
func ErrorCode(err error) string {
	var e *Error
	if errors.As(err, &e) {
		return e.Code
	}
	if err == nil {
		return ""
	}
	return EINTERNAL
}

// ErrorMessage returns the user-facing message of err. Errors that are not an
// *Error are internal and get a generic message, so details never leak.
func ErrorMessage(err error) string {
	var e *Error
	if errors.As(err, &e) {
		return e.Error()
	}
	return "internal error"
}

// PermanentError marks a delivery failure that retrying cannot fix, such as a
// 400 invalid_parameter from a destination. The queue dead-letters it.
type PermanentError struct{ Err error }

func (e *PermanentError) Error() string { return e.Err.Error() }
func (e *PermanentError) Unwrap() error { return e.Err }

// Permanent wraps err so the queue dead-letters the job instead of retrying.
func Permanent(err error) error { return &PermanentError{Err: err} }

// RetryAfterError asks the queue to retry no sooner than After, as when a
// destination says when its rate-limit window resets. Throttled marks a
// rate limit (a 429, a throttled call, a client's empty budget): no
// failure, so the retry waits what it asks and no more, however many
// attempts the job has had; any other RetryAfter (a contact not there
// yet) still backs off as failures do, from After up.
type RetryAfterError struct {
	Err       error
	After     time.Duration
	Throttled bool
}

func (e *RetryAfterError) Error() string { return e.Err.Error() }
func (e *RetryAfterError) Unwrap() error { return e.Err }

// RetryAfter wraps err with the earliest time a retry can succeed.
func RetryAfter(err error, d time.Duration) error { return &RetryAfterError{Err: err, After: d} }

// Throttled wraps err, a rate limit's refusal, with the time its window
// resets (RetryAfterError.Throttled).
func Throttled(err error, d time.Duration) error {
	return &RetryAfterError{Err: err, After: d, Throttled: true}
}

// HTTPStatus returns the HTTP status an outside service answered, taken
// from the first error in err's chain with an HTTPStatus method (each
// destination's APIError has one), or 0 when there is none. The program
// reads 401 and 403 from it as credentials the service rejects, whatever
// the platform.
func HTTPStatus(err error) int {
	var s interface{ HTTPStatus() int }
	if errors.As(err, &s) {
		return s.HTTPStatus()
	}
	return 0
}
