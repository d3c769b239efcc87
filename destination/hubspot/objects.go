package hubspot

import (
	"context"
	"net/http"
	"net/url"
)

// Object type IDs and names as HubSpot's paths take them. The deals
// spec names its paths by the type ID 0-3, and the client calls them so.
const (
	objectDeals     = "0-3"
	objectCompanies = "companies"
	objectTasks     = "tasks"
	objectNotes     = "notes"
)

// UpsertDeals creates or updates deals by a unique property in one call
// (POST /crm/v3/objects/0-3/batch/upsert).
func (c *Client) UpsertDeals(ctx context.Context, inputs []UpsertInput) (*UpsertResult, error) {
	return c.upsertObjects(ctx, objectDeals, inputs)
}

// UpsertCompanies creates or updates companies by a unique property in
// one call (POST /crm/v3/objects/companies/batch/upsert).
func (c *Client) UpsertCompanies(ctx context.Context, inputs []UpsertInput) (*UpsertResult, error) {
	return c.upsertObjects(ctx, objectCompanies, inputs)
}

func (c *Client) upsertObjects(ctx context.Context, objectType string, inputs []UpsertInput) (*UpsertResult, error) {
	out := &UpsertResult{}
	path := "/crm/v3/objects/" + objectType + "/batch/upsert"
	if _, err := c.do(ctx, call{method: http.MethodPost, route: path, path: path, body: map[string]any{"inputs": inputs}, out: out}); err != nil {
		return nil, err
	}
	return out, nil
}

// AssociateDefault links two records with their types' default
// association (PUT /crm/v4/objects/{from}/{id}/associations/default/{to}/{id}).
// Linking records already linked changes nothing, so a retry is safe.
func (c *Client) AssociateDefault(ctx context.Context, fromType, fromID, toType, toID string) error {
	_, err := c.do(ctx, call{method: http.MethodPut,
		route: "/crm/v4/objects/{fromObjectType}/{fromObjectId}/associations/default/{toObjectType}/{toObjectId}",
		path: "/crm/v4/objects/" + url.PathEscape(fromType) + "/" + url.PathEscape(fromID) + "/associations/default/" +
			url.PathEscape(toType) + "/" + url.PathEscape(toID)})
	return err
}

// UpsertTasks creates or updates tasks by a unique property in one call
// (POST /crm/v3/objects/tasks/batch/upsert).
func (c *Client) UpsertTasks(ctx context.Context, inputs []UpsertInput) (*UpsertResult, error) {
	return c.upsertObjects(ctx, objectTasks, inputs)
}

// UpsertNotes creates or updates notes by a unique property in one call
// (POST /crm/v3/objects/notes/batch/upsert).
func (c *Client) UpsertNotes(ctx context.Context, inputs []UpsertInput) (*UpsertResult, error) {
	return c.upsertObjects(ctx, objectNotes, inputs)
}

// Link is one pair of records for a batch of default associations.
type Link struct {
	FromID, ToID string
}

// AssociateDefaultBatch links each pair with the types' default
// association in one call (POST
// /crm/v4/associations/{from}/{to}/batch/associate/default), for batch
// mode's contact → company links. Pairs linked already stay linked; a
// 207's refused pairs are returned as their errors.
func (c *Client) AssociateDefaultBatch(ctx context.Context, fromType, toType string, links []Link) ([]BatchError, error) {
	type id struct {
		ID string `json:"id"`
	}
	type pair struct {
		From id `json:"from"`
		To   id `json:"to"`
	}
	inputs := make([]pair, len(links))
	for i, l := range links {
		inputs[i] = pair{id{l.FromID}, id{l.ToID}}
	}
	var out struct {
		Errors []BatchError `json:"errors"`
	}
	_, err := c.do(ctx, call{method: http.MethodPost, route: "/crm/v4/associations/{fromObjectType}/{toObjectType}/batch/associate/default",
		path: "/crm/v4/associations/" + url.PathEscape(fromType) + "/" + url.PathEscape(toType) + "/batch/associate/default",
		body: map[string]any{"inputs": inputs}, out: &out})
	return out.Errors, err
}
