package hubspot

import (
	"context"
	"net/http"
)

// Property is one contact property definition.
type Property struct {
	Name      string `json:"name"`
	Label     string `json:"label"`
	Type      string `json:"type"`      // string, number, date, datetime, enumeration, bool
	FieldType string `json:"fieldType"` // text, number, date, ...
	GroupName string `json:"groupName"`
	// HasUniqueValue makes the property one a batch upsert may key by.
	HasUniqueValue bool `json:"hasUniqueValue,omitempty"`
	// Options are an enumeration's or a bool's values (a bool's are
	// true and false).
	Options []PropertyOption `json:"options,omitempty"`
}

// PropertyOption is one value of an enumeration or bool property.
type PropertyOption struct {
	Label        string `json:"label"`
	Value        string `json:"value"`
	DisplayOrder int    `json:"displayOrder"`
	Hidden       bool   `json:"hidden"`
}

// ListContactProperties returns the account's contact properties.
func (c *Client) ListContactProperties(ctx context.Context) ([]Property, error) {
	var out struct {
		Results []Property `json:"results"`
	}
	_, err := c.do(ctx, call{method: http.MethodGet, route: "/crm/v3/properties/{objectType}", path: "/crm/v3/properties/contacts", out: &out})
	return out.Results, err
}

// CreateContactProperty adds a contact property.
func (c *Client) CreateContactProperty(ctx context.Context, p Property) error {
	_, err := c.do(ctx, call{method: http.MethodPost, route: "/crm/v3/properties/{objectType}", path: "/crm/v3/properties/contacts", body: p})
	return err
}

// ListProperties returns the properties of an object type (contacts,
// companies, 0-3 for deals).
func (c *Client) ListProperties(ctx context.Context, objectType string) ([]Property, error) {
	var out struct {
		Results []Property `json:"results"`
	}
	_, err := c.do(ctx, call{method: http.MethodGet, route: "/crm/v3/properties/{objectType}", path: "/crm/v3/properties/" + objectType, out: &out})
	return out.Results, err
}

// CreateProperty adds a property to an object type.
func (c *Client) CreateProperty(ctx context.Context, objectType string, p Property) error {
	_, err := c.do(ctx, call{method: http.MethodPost, route: "/crm/v3/properties/{objectType}", path: "/crm/v3/properties/" + objectType, body: p})
	return err
}
