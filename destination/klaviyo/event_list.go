package klaviyo

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"synclayer"
)

// MaxEventPage is the page[size] ListEvents asks for: the spec's
// description says get_events "Returns a maximum of 200 events per page"
// (its page[size] schema allows 1000), so 200 meets both.
const MaxEventPage = 200

// EventQuery asks for one page of a metric's events after a time.
type EventQuery struct {
	MetricID   string
	After      time.Time // events strictly after it
	Cursor     string    // the page[cursor] the page before gave; "" for the first
	PageSize   int       // 1 to MaxEventPage; 0 is MaxEventPage
	Background bool      // take at most half of the event-reads bucket (reconciliation)
}

// EventPage is one page of events.
type EventPage struct {
	Events []*RecordedEvent
	Next   string    // the page[cursor] of the next page; "" on the last
	Date   time.Time // Klaviyo's Date header; zero when absent
}

// RecordedEvent is an event Klaviyo holds: its ID, its time (RawTime as
// Klaviyo wrote it; Time zero when it did not read), and its profile,
// with Email and ExternalID when the answer included it (nil when not:
// a profile deleted since).
type RecordedEvent struct {
	ID        string
	Time      time.Time
	RawTime   string
	ProfileID string
	Profile   *Profile
}

// ListEvents returns one page of the events of metric q.MetricID after
// q.After, oldest first, each with its profile's email and external_id
// (GET /api/events?filter=and(equals(metric_id,…),greater-than(datetime,…))
// &sort=datetime&include=profile). Errors are classified as for every
// call; a metric ID that cannot be quoted in a filter is permanent.
func (c *Client) ListEvents(ctx context.Context, q EventQuery) (*EventPage, error) {
	var w struct {
		Data []struct {
			ID         string `json:"id"`
			Attributes struct {
				Datetime  string `json:"datetime"`
				Timestamp *int64 `json:"timestamp"`
			} `json:"attributes"`
			Relationships struct {
				Profile struct {
					Data *struct {
						ID string `json:"id"`
					} `json:"data"`
				} `json:"profile"`
			} `json:"relationships"`
		} `json:"data"`
		Included []struct {
			Type string `json:"type"`
			profileObject
		} `json:"included"`
		Links collectionLinks `json:"links"`
	}
	var h http.Header
	k := call{method: http.MethodGet, route: "/api/events", path: "/api/events", out: &w, spare: q.Background, header: &h}
	if q.MetricID == "" || strings.ContainsAny(q.MetricID, "\"\\") {
		return nil, synclayer.Permanent(c.wrap(k, errors.New("a metric ID must be set and cannot hold a double quote or backslash")))
	}
	size := q.PageSize
	if size <= 0 || size > MaxEventPage {
		size = MaxEventPage
	}
	k.query = url.Values{
		"filter":          {`and(equals(metric_id,"` + q.MetricID + `"),greater-than(datetime,` + filterTime(q.After) + `))`},
		"sort":            {"datetime"},
		"include":         {"profile"},
		"fields[event]":   {"datetime,timestamp"},
		"fields[profile]": {"email,external_id"},
		"page[size]":      {strconv.Itoa(size)},
	}
	if q.Cursor != "" {
		k.query.Set("page[cursor]", q.Cursor)
	}
	if _, err := c.do(ctx, k); err != nil {
		return nil, err
	}
	next, err := w.Links.cursor()
	if err != nil {
		return nil, c.wrap(k, err)
	}
	profiles := map[string]*Profile{}
	for _, o := range w.Included {
		if o.Type == "profile" {
			profiles[o.ID] = o.profile()
		}
	}
	page := &EventPage{Next: next, Date: answerDate(h)}
	for _, d := range w.Data {
		ev := &RecordedEvent{ID: d.ID, RawTime: d.Attributes.Datetime}
		if t, ok := parseTimestamp(d.Attributes.Datetime); ok {
			ev.Time = t
		} else if d.Attributes.Timestamp != nil {
			ev.Time = time.Unix(*d.Attributes.Timestamp, 0).UTC()
		}
		if p := d.Relationships.Profile.Data; p != nil {
			ev.ProfileID, ev.Profile = p.ID, profiles[p.ID]
		}
		page.Events = append(page.Events, ev)
	}
	return page, nil
}
