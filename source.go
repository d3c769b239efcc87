package synclayer

import (
	"net/http"
	"time"
)

// Source verifies and normalizes webhook deliveries from one platform.
type Source interface {
	// Name is the source's name in config and in URLs: "shopify".
	Name() string

	// Parse verifies the request over its raw body and returns the events it
	// carries. A bad or missing signature is an EUNAUTHORIZED error; a body
	// or topic it cannot read is EINVALID naming the field. A delivery that
	// needs no processing (a ping) returns no events and no error.
	Parse(h http.Header, body []byte, now time.Time) ([]*Event, error)
}
