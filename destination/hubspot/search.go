package hubspot

import (
	"context"
	"net/http"
	"time"
)

// MaxSearchResults is the most results one search query pages through:
// HubSpot refuses a page past the 10,000th (docs/platforms/hubspot.md),
// so a longer read starts a new query from where the last page ended.
const MaxSearchResults = 10000

// SearchPageSize is the results a reconciliation asks for per page.
const SearchPageSize = 100

// SearchRequest is a CRM search (POST /crm/v3/objects/contacts/search)
// of the contacts modified at or after Since, oldest first.
type SearchRequest struct {
	Since      time.Time
	Properties []string
	After      string // HubSpot's paging token; "" is the first page
	Limit      int
}

// SearchResult is one page of a search: the contacts, and the token of
// the next page ("" on the last).
type SearchResult struct {
	Total   int      `json:"total"`
	Results []Object `json:"results"`
	Paging  *struct {
		Next *struct {
			After string `json:"after"`
		} `json:"next"`
	} `json:"paging"`
}

// NextAfter is the next page's token, or "".
func (r *SearchResult) NextAfter() string {
	if r.Paging == nil || r.Paging.Next == nil {
		return ""
	}
	return r.Paging.Next.After
}

type searchFilter struct {
	PropertyName string `json:"propertyName"`
	Operator     string `json:"operator"`
	Value        string `json:"value"`
}

type searchBody struct {
	FilterGroups []map[string][]searchFilter `json:"filterGroups"`
	Sorts        []string                    `json:"sorts"`
	Properties   []string                    `json:"properties"`
	Limit        int                         `json:"limit"`
	After        string                      `json:"after"`
}

// SearchContacts reads one page of the contacts whose lastmodifieddate
// is at or after r.Since, sorted by lastmodifieddate, ascending. The
// search API has its own per-second limit, which a 429 reports like any
// other.
func (c *Client) SearchContacts(ctx context.Context, r SearchRequest) (*SearchResult, error) {
	after := r.After
	if after == "" {
		after = "0"
	}
	limit := r.Limit
	if limit <= 0 {
		limit = SearchPageSize
	}
	body := searchBody{
		FilterGroups: []map[string][]searchFilter{{"filters": {{PropertyName: "lastmodifieddate", Operator: "GTE", Value: formatMillis(r.Since)}}}},
		Sorts:        []string{"lastmodifieddate"},
		Properties:   r.Properties,
		Limit:        limit,
		After:        after,
	}
	out := &SearchResult{}
	_, err := c.do(ctx, call{method: http.MethodPost, route: "/crm/v3/objects/contacts/search",
		path: "/crm/v3/objects/contacts/search", body: body, out: out})
	if err != nil {
		return nil, err
	}
	return out, nil
}

func formatMillis(t time.Time) string {
	return time.UnixMilli(t.UnixMilli()).UTC().Format("2006-01-02T15:04:05.000Z")
}
