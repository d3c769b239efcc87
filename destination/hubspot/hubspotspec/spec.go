// Package hubspotspec checks HTTP requests against the trimmed HubSpot
// OpenAPI documents vendored in destination/hubspot/testdata/openapi
// (contacts, deals, companies, tasks, notes, v4 associations, properties, communication
// preferences and the OAuth token endpoint, one document each, as HubSpot publishes them), so tests of the hubspot client and
// simulator fail when a request would not be accepted by the real API. It
// is for tests only.
package hubspotspec

import (
	"errors"
	"fmt"
	"net/http"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"

	"synclayer/destination/openapicheck"
)

// Validator validates requests against the document their path belongs
// to. It is safe for concurrent use.
type Validator struct {
	docs []doc
}

type doc struct {
	prefix  string
	checker *openapicheck.Checker
}

var (
	loadOnce  sync.Once
	loaded    *Validator
	loadedErr error
)

// Load returns the validator for the vendored documents, parsed once per
// test binary; it fails tb when one cannot be read. Validate checks a
// known path and method, parameters, a valid JSON body and a Bearer
// Authorization header (a private app's access token).
func Load(tb testing.TB) *Validator {
	tb.Helper()
	loadOnce.Do(func() { loaded, loadedErr = load() })
	if loadedErr != nil {
		tb.Fatalf("hubspotspec: %v", loadedErr)
	}
	return loaded
}

// Dir is where the trimmed documents live.
func Dir() string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Join(filepath.Dir(file), "..", "testdata", "openapi")
}

func load() (*Validator, error) {
	spec := openapicheck.Spec{Host: "api.hubapi.com", CheckEmails: true, Auth: bearer}
	v := &Validator{}
	// The token endpoint authenticates with the app's credentials in the
	// form body, not a Bearer token.
	tokenSpec := openapicheck.Spec{Host: "api.hubapi.com"}
	for _, d := range []struct {
		prefix, file string
		spec         openapicheck.Spec
	}{
		{"/crm/v3/objects/contacts", "contacts.json", spec},
		{"/crm/v3/objects/0-3", "deals.json", spec},
		{"/crm/v3/objects/companies", "companies.json", spec},
		{"/crm/v3/objects/tasks", "tasks.json", spec},
		{"/crm/v3/objects/notes", "notes.json", spec},
		{"/crm/v4/objects/", "associations.json", spec},
		{"/crm/v4/associations/", "associations.json", spec},
		{"/crm/v3/properties/", "properties.json", spec},
		{"/communication-preferences/v3/", "subscriptions.json", spec},
		{"/crm/v3/owners", "owners.json", spec},
		{"/oauth/v3/token", "oauth.json", tokenSpec},
	} {
		c, err := openapicheck.Load(filepath.Join(Dir(), d.file), d.spec)
		if err != nil {
			return nil, fmt.Errorf("hubspot spec: %w", err)
		}
		v.docs = append(v.docs, doc{d.prefix, c})
	}
	return v, nil
}

func bearer(r *http.Request) error {
	tok, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	if !ok || strings.TrimSpace(tok) == "" {
		return errors.New("missing Authorization: Bearer header (a private app access token)")
	}
	return nil
}

// Validate reports whether r, whose body was read into body, is a
// request HubSpot's documents accept. A path outside the vendored
// documents is refused.
func (v *Validator) Validate(r *http.Request, body []byte) error {
	for _, d := range v.docs {
		if strings.HasPrefix(r.URL.Path, d.prefix) {
			return d.checker.Validate(r, body)
		}
	}
	return fmt.Errorf("%s %s: no matching operation in the vendored HubSpot specs", r.Method, r.URL.Path)
}

// ValidateResponse reports whether an answer to r is one HubSpot's
// document for r's path allows (statuses it does not declare are not
// checked), so a simulator's answers can be held to the spec too.
func (v *Validator) ValidateResponse(r *http.Request, status int, header http.Header, body []byte) error {
	for _, d := range v.docs {
		if strings.HasPrefix(r.URL.Path, d.prefix) {
			return d.checker.ValidateResponse(r, status, header, body)
		}
	}
	return fmt.Errorf("%s %s: no matching operation in the vendored HubSpot specs", r.Method, r.URL.Path)
}
