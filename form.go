package synclayer

import (
	"net/url"
	"time"
)

// FormSource is a source that a shop's own web pages post to, at
// /forms/<name>, rather than a platform's signed webhooks: a browser
// cannot keep a secret, so what guards it is the page origins it allows
// (CORS), a honeypot field, a limit per client address, and, for
// consent, an optional double opt-in confirmed through a signed link.
type FormSource interface {
	Source
	// AllowOrigin reports whether a page at origin (scheme://host[:port],
	// the Origin header) may post. A post without an Origin (a plain
	// HTML form in an old browser, or curl) is let through: CORS guards
	// browsers' scripts, not the form itself.
	AllowOrigin(origin string) bool
	// Redirect is where a plain HTML form's browser is sent (303) once
	// its post is stored; "" answers with JSON.
	Redirect() string
	// PerClient is how many posts a client address may make a minute; 0
	// is no limit.
	PerClient() int
	// Confirm reads a double opt-in confirmation (the link's query, posted
	// back from the page that link opens) and returns its event: the
	// opt-in, dated when the person asked for it. An expired or forged
	// link is EINVALID naming the parameter.
	Confirm(query url.Values, now time.Time) ([]*Event, error)
	// Confirmed is where the browser goes once the opt-in is stored; ""
	// answers with a short page.
	Confirmed() string
}
