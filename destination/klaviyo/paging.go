package klaviyo

import (
	"errors"
	"net/http"
	"net/url"
	"time"
)

// Klaviyo pages collections by cursor: links.next is the same request
// with page[cursor] set, and is absent on the last page.

// collectionLinks are a collection answer's links.
type collectionLinks struct {
	Next string `json:"next"`
}

// cursor is the page[cursor] of links.next: "" on the last page, an error
// for a next link that names none (following it would read the same page
// again).
func (l collectionLinks) cursor() (string, error) {
	if l.Next == "" {
		return "", nil
	}
	u, err := url.Parse(l.Next)
	if err != nil || u.Query().Get("page[cursor]") == "" {
		return "", errors.New("links.next names no page[cursor]")
	}
	return u.Query().Get("page[cursor]"), nil
}

// filterTime writes t for a filter as Klaviyo's datetimes guide does:
// ISO 8601 in UTC, unquoted, to the millisecond (truncated, so a
// greater-than bound never excludes what is after t).
func filterTime(t time.Time) string { return t.UTC().Format("2006-01-02T15:04:05.000Z") }

// answerDate is an answer's Date header, zero when absent or unreadable.
func answerDate(h http.Header) time.Time {
	t, err := http.ParseTime(h.Get("Date"))
	if err != nil {
		return time.Time{}
	}
	return t.UTC()
}

// parseTimestamp reads a timestamp of Klaviyo's answers: ISO 8601, with
// an offset or (as the spec's descriptions write it) without, then UTC.
func parseTimestamp(s string) (time.Time, bool) {
	for _, layout := range []string{time.RFC3339Nano, "2006-01-02T15:04:05.999999999"} {
		if t, err := time.Parse(layout, s); err == nil {
			return t.UTC(), true
		}
	}
	return time.Time{}, false
}
