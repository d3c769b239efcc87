package adminclient

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
)

// Error is an answer other than 2xx. Code is one of synclayer's error codes
// (synclayer.EINVALID, EUNAUTHORIZED, EFORBIDDEN, ENOTFOUND, ECONFLICT, ...),
// Message says what to do, and Field names the input at fault, if any.
type Error struct {
	Status  int
	Code    string
	Message string
	Field   string
}

func (e *Error) Error() string {
	msg := e.Message
	if e.Field != "" {
		msg = e.Field + ": " + msg
	}
	return fmt.Sprintf("synclayer: %d %s: %s", e.Status, e.Code, msg)
}

// ErrorCode returns the code of the *Error in err's chain, or "" when err
// did not come from the server (a network error, for one).
func ErrorCode(err error) string {
	var e *Error
	if errors.As(err, &e) {
		return e.Code
	}
	return ""
}

// newError reads the server's {"error": {...}} body. A body of another
// shape (a proxy's error page) keeps the status, with the body as message.
func newError(status int, body []byte) *Error {
	var b struct {
		Error struct {
			Code    string `json:"code"`
			Message string `json:"message"`
			Field   string `json:"field"`
		} `json:"error"`
	}
	if err := json.Unmarshal(body, &b); err == nil && b.Error.Code != "" {
		return &Error{Status: status, Code: b.Error.Code, Message: b.Error.Message, Field: b.Error.Field}
	}
	msg := strings.TrimSpace(string(body))
	if len(msg) > 200 {
		msg = msg[:200]
	}
	if msg == "" {
		msg = http.StatusText(status)
	}
	return &Error{Status: status, Code: "http_" + fmt.Sprint(status), Message: msg}
}
