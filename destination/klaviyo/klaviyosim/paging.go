package klaviyosim

import (
	"encoding/base64"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// Klaviyo pages collections by cursor: an answer's links.next is the same
// request with page[cursor] set, and is absent on the last page. The
// simulator's cursor is a keyset position, the sort key and ID of the last
// resource sent, so resources added or removed between pages move none of
// the others (Klaviyo's cursor is opaque; this is the simulator's choice).

// position is a place in a collection sorted by (at, id).
type position struct {
	at time.Time
	id string
}

// before reports whether p sorts before q.
func (p position) before(q position) bool {
	if !p.at.Equal(q.at) {
		return p.at.Before(q.at)
	}
	return p.id < q.id
}

func (p position) token() string {
	return base64.RawURLEncoding.EncodeToString(fmt.Appendf(nil, "%d|%s", p.at.UnixNano(), p.id))
}

// parsePosition reads page[cursor]; "" is the start.
func parsePosition(s string) (position, bool, *apiError) {
	if s == "" {
		return position{}, false, nil
	}
	bad := &apiError{status: http.StatusBadRequest, code: "invalid", detail: "Invalid page cursor.", parameter: "page[cursor]"}
	b, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil {
		return position{}, false, bad
	}
	ns, id, ok := strings.Cut(string(b), "|")
	n, err := strconv.ParseInt(ns, 10, 64)
	if !ok || err != nil {
		return position{}, false, bad
	}
	return position{at: time.Unix(0, n).UTC(), id: id}, true, nil
}

// pageSize reads page[size]: def when absent, 1 to limit.
func pageSize(q url.Values, def, limit int) (int, *apiError) {
	v := q.Get("page[size]")
	if v == "" {
		return def, nil
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 1 || n > limit {
		return 0, &apiError{status: http.StatusBadRequest, code: "invalid", detail: fmt.Sprintf("page[size] must be 1 to %d.", limit), parameter: "page[size]"}
	}
	return n, nil
}

// links are a collection answer's links: self, and next (the request
// with page[cursor] at last) when more follow.
func links(r *http.Request, more bool, last position) map[string]any {
	self := "https://a.klaviyo.com" + r.URL.RequestURI()
	out := map[string]any{"self": self}
	if more {
		q := r.URL.Query()
		q.Set("page[cursor]", last.token())
		out["next"] = "https://a.klaviyo.com" + r.URL.Path + "?" + q.Encode()
	}
	return out
}
