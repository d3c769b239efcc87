// Package pipedrivespec checks HTTP requests against the OpenAPI subsets
// of Pipedrive's API in destination/pipedrive/testdata/openapi: v2
// persons and person fields (persons.json), v2 organizations, deals, deal
// fields and activities (crm.json), and v1 notes, users and webhooks
// (v1.json), each transcribed from Pipedrive's official generated client
// (SOURCE.md says why and from where), so
// tests of the pipedrive client and simulator fail when a request would
// not be accepted by the real API. It is for tests only.
package pipedrivespec

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

// Validator validates requests against the document. It is safe for
// concurrent use.
type Validator struct {
	persons, crm, v1 *openapicheck.Checker
}

var (
	loadOnce  sync.Once
	loaded    *Validator
	loadedErr error
)

// Load returns the validator, parsed once per test binary; it fails tb
// when the document cannot be read. Validate checks a known path and
// method, parameters, a valid JSON body, an x-api-token header, and
// that no api_token is in the URL.
func Load(tb testing.TB) *Validator {
	tb.Helper()
	loadOnce.Do(func() { loaded, loadedErr = load() })
	if loadedErr != nil {
		tb.Fatalf("pipedrivespec: %v", loadedErr)
	}
	return loaded
}

// Dir is where the document lives.
func Dir() string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Join(filepath.Dir(file), "..", "testdata", "openapi")
}

func load() (*Validator, error) {
	v := &Validator{}
	for _, d := range []struct {
		file, base string
		into       **openapicheck.Checker
	}{{"persons.json", "/api/v2", &v.persons}, {"crm.json", "/api/v2", &v.crm}, {"v1.json", "/api/v1", &v.v1}} {
		c, err := openapicheck.Load(filepath.Join(Dir(), d.file), openapicheck.Spec{Host: "api.pipedrive.com", Base: d.base, Auth: apiToken})
		if err != nil {
			return nil, fmt.Errorf("pipedrive spec: %w", err)
		}
		*d.into = c
	}
	return v, nil
}

// checker picks the document that describes path; nil for none.
func (v *Validator) checker(path string) *openapicheck.Checker {
	switch {
	case strings.Contains(path, "/api/v2/persons"), strings.Contains(path, "/api/v2/personFields"):
		return v.persons
	case strings.Contains(path, "/api/v2/"):
		return v.crm
	case strings.Contains(path, "/api/v1/"):
		return v.v1
	}
	return nil
}

func apiToken(r *http.Request) error {
	if r.URL.Query().Has("api_token") {
		return errors.New("the API token is in the URL (api_token): send it in the x-api-token header, so no logged URL holds it")
	}
	if strings.TrimSpace(r.Header.Get("x-api-token")) == "" {
		return errors.New("missing x-api-token header (a personal API token)")
	}
	return nil
}

// Validate reports whether r, whose body was read into body, is a
// request the documents accept. A path none of them has is refused.
func (v *Validator) Validate(r *http.Request, body []byte) error {
	c := v.checker(r.URL.Path)
	if c == nil {
		return fmt.Errorf("%s %s: no matching operation in the Pipedrive spec", r.Method, r.URL.Path)
	}
	return c.Validate(r, body)
}

// ValidateResponse reports whether an answer to r is one the document
// allows.
func (v *Validator) ValidateResponse(r *http.Request, status int, header http.Header, body []byte) error {
	c := v.checker(r.URL.Path)
	if c == nil {
		return fmt.Errorf("%s %s: no matching operation in the Pipedrive spec", r.Method, r.URL.Path)
	}
	return c.ValidateResponse(r, status, header, body)
}
