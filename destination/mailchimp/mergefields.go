package mailchimp

import (
	"context"
	"net/http"
	"net/url"
	"strconv"
)

// MaxMergeTag is the longest merge tag Mailchimp accepts.
const MaxMergeTag = 10

// MergeField is one audience field. Type is one of text, number, address,
// phone, date, url, imageurl, radio, dropdown, birthday or zip.
type MergeField struct {
	MergeID  int64  `json:"merge_id,omitempty"`
	Tag      string `json:"tag"`
	Name     string `json:"name"`
	Type     string `json:"type"`
	Required bool   `json:"required,omitempty"`
}

// mergeFieldPage is the most merge fields one GET returns (the spec's
// maximum for count).
const mergeFieldPage = 1000

// ListMergeFields returns every merge field of the audience.
func (c *Client) ListMergeFields(ctx context.Context, listID string) ([]MergeField, error) {
	var all []MergeField
	for offset := 0; ; offset += mergeFieldPage {
		var page struct {
			MergeFields []MergeField `json:"merge_fields"`
			TotalItems  int          `json:"total_items"`
		}
		q := url.Values{"count": {strconv.Itoa(mergeFieldPage)}, "offset": {strconv.Itoa(offset)}}
		_, err := c.do(ctx, call{method: http.MethodGet, route: "/lists/{list_id}/merge-fields",
			path: "/lists/" + url.PathEscape(listID) + "/merge-fields", query: q, out: &page})
		if err != nil {
			return nil, err
		}
		all = append(all, page.MergeFields...)
		if len(page.MergeFields) < mergeFieldPage || len(all) >= page.TotalItems {
			return all, nil
		}
	}
}

// CreateMergeField adds a merge field to the audience and returns it.
func (c *Client) CreateMergeField(ctx context.Context, listID string, f MergeField) (*MergeField, error) {
	body := struct {
		Tag  string `json:"tag"`
		Name string `json:"name"`
		Type string `json:"type"`
	}{f.Tag, f.Name, f.Type}
	out := &MergeField{}
	_, err := c.do(ctx, call{method: http.MethodPost, route: "/lists/{list_id}/merge-fields",
		path: "/lists/" + url.PathEscape(listID) + "/merge-fields", body: body, out: out})
	if err != nil {
		return nil, err
	}
	return out, nil
}
