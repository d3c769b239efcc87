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
