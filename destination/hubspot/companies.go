package hubspot

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"

	"synclayer"
)

// Companies: a contact's company field is a HubSpot company, upserted by
// synclayer_company_key (the name folded to lower case and single
// spaces, a company property with unique values created at start), so
// "ACME  Inc" and "acme inc" are one company, and associated with the
// contact (and with its orders' deals).

// CompanyKeyProperty is the company property that keys a company by its
// name.
const CompanyKeyProperty = "synclayer_company_key"

// companyName is the contact's company, or "".
func companyName(c *synclayer.Contact) string {
	if c == nil {
		return ""
	}
	var name string
	_ = json.Unmarshal(c.Value(synclayer.FieldCompany), &name)
	return strings.Join(strings.Fields(name), " ")
}

// upsertCompany creates or updates the company named name and returns its
// record ID.
func upsertCompany(ctx context.Context, c *Client, name string) (string, error) {
	res, err := c.UpsertCompanies(ctx, []UpsertInput{{ID: synclayer.CompanyKey(name), IDProperty: CompanyKeyProperty, Properties: map[string]string{"name": name}}})
	if err != nil {
		return "", err
	}
	if len(res.Results) != 1 {
		return "", synclayer.Permanent(fmt.Errorf("hubspot refused the company: %s", batchReason(res.Errors)))
	}
	return res.Results[0].ID, nil
}

// ensureUniqueProperty creates a string property with unique values on
// an object type, unless the account has it.
func ensureUniqueProperty(ctx context.Context, c *Client, objectType, name, label, group string) error {
	props, err := c.ListProperties(ctx, objectType)
	if err != nil {
		return err
	}
	for _, p := range props {
		if p.Name == name {
			return nil
		}
	}
	return c.CreateProperty(ctx, objectType, Property{Name: name, Label: label, Type: "string", FieldType: "text", GroupName: group, HasUniqueValue: true})
}
