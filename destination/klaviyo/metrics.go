package klaviyo

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
)

// Metric is one of the account's metrics: its ID, name and the name of
// the integration that records it ("Klaviyo" for Klaviyo's own).
type Metric struct {
	ID          string
	Name        string
	Integration string
}

// maxMetricPages bounds ListMetrics: 200 metrics a page (spec,
// get_metrics), so 10,000 metrics, far more than an account holds.
const maxMetricPages = 50

// ListMetrics returns every metric of the account (GET /api/metrics,
// following links.next). Background reads take at most half of the
// metrics bucket. Errors are classified as for every call.
func (c *Client) ListMetrics(ctx context.Context, background bool) ([]Metric, error) {
	var out []Metric
	cursor := ""
	for range maxMetricPages {
		var w struct {
			Data []struct {
				ID         string `json:"id"`
				Attributes struct {
					Name        string          `json:"name"`
					Integration json.RawMessage `json:"integration"`
				} `json:"attributes"`
			} `json:"data"`
			Links collectionLinks `json:"links"`
		}
		k := call{method: http.MethodGet, route: "/api/metrics", path: "/api/metrics", out: &w, spare: background,
			query: url.Values{"fields[metric]": {"name,integration"}}}
		if cursor != "" {
			k.query.Set("page[cursor]", cursor)
		}
		if _, err := c.do(ctx, k); err != nil {
			return nil, err
		}
		for _, d := range w.Data {
			var in struct {
				Name string `json:"name"`
			}
			_ = json.Unmarshal(d.Attributes.Integration, &in)
			out = append(out, Metric{ID: d.ID, Name: d.Attributes.Name, Integration: in.Name})
		}
		next, err := w.Links.cursor()
		if err != nil {
			return nil, c.wrap(k, err)
		}
		if next == "" {
			return out, nil
		}
		cursor = next
	}
	return nil, fmt.Errorf("klaviyo: GET /api/metrics: more than %d pages", maxMetricPages)
}
