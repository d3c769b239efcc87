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
