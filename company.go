package synclayer

import (
	"context"
	"strings"
	"time"
)

// Company is the organization a contact buys for, one record across every
// source: a Shopify customer's address company, a WooCommerce billing
// company and a form's company field that name the same company (by
// CompanyKey) are one company with one stable ID, so a CRM gets one
// company record and every contact of it is linked there, not one
// company per source or per spelling.
type Company struct {
	ID   string `json:"id"` // "co_" + a ULID; never changes
	Key  string `json:"key"`
	Name string `json:"name"` // as the latest source spelled it
	// Domain is the company's web domain where a source gave one; ""
	// otherwise (a person's email domain is not their company's: many
	// buy with gmail.com).
	Domain string `json:"domain,omitempty"`
	// Sources are the sources that named it, each with the time it last
	// did.
	Sources   map[string]time.Time `json:"sources"`
	CreatedAt time.Time            `json:"createdAt"`
	UpdatedAt time.Time            `json:"updatedAt"`
	Version   int64                `json:"version"`
}

// FieldCompanyID is the contact field holding its Company's ID, set by
// ingest whenever the company field changes: mapped like any field, it
// gives a destination a stable company key.
const FieldCompanyID = "companyId"

// CompanySource is the source ingest records the companyId field as set
// by: it is derived from the company field, not said by any platform.
const CompanySource = "companies"

// CompanyKey is the key two spellings of one company share: the name
// folded to lower case with its spaces collapsed, so "ACME  Inc" and
// "acme inc" are one company. "" for a blank name.
func CompanyKey(name string) string {
	return strings.ToLower(strings.Join(strings.Fields(name), " "))
}

// CompanyTx is the part of an ingest transaction that keeps companies.
type CompanyTx interface {
	// FindCompanyByKey returns the company with that key, or ENOTFOUND.
	FindCompanyByKey(ctx context.Context, key string) (*Company, error)
	// SaveCompany inserts a company without an ID (assigning one) or
	// updates one, bumping its version.
	SaveCompany(ctx context.Context, co *Company) error
	// SetContactCompany links the contact to the company ("" unlinks it):
	// a contact belongs to one company at a time.
	SetContactCompany(ctx context.Context, contactID, companyID string) error
}

// CompanyStore reads companies outside ingest: the admin API.
type CompanyStore interface {
	// FindCompany returns the company, or ENOTFOUND.
	FindCompany(ctx context.Context, id string) (*Company, error)
	// FindCompanies returns the companies whose key starts with
	// CompanyKey(prefix) ("" for all), by key, at most limit.
	FindCompanies(ctx context.Context, prefix string, limit int) ([]*Company, error)
	// FindCompanyContacts returns the IDs of the contacts linked to the
	// company, at most limit, oldest link first.
	FindCompanyContacts(ctx context.Context, companyID string, limit int) ([]string, error)
}
