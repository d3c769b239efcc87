// Package pipedrivespec checks HTTP requests against the OpenAPI subset
// of Pipedrive's v2 persons and person fields API in
// destination/pipedrive/testdata/openapi (transcribed from Pipedrive's
// official generated client; SOURCE.md says why and from where), so
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
	checker *openapicheck.Checker
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
	c, err := openapicheck.Load(filepath.Join(Dir(), "persons.json"), openapicheck.Spec{Host: "api.pipedrive.com", Base: "/api/v2", Auth: apiToken})
	if err != nil {
		return nil, fmt.Errorf("pipedrive spec: %w", err)
	}
	return &Validator{checker: c}, nil
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
// request the document accepts. A path outside /api/v2/persons and
// /api/v2/personFields is refused.
func (v *Validator) Validate(r *http.Request, body []byte) error {
	if !strings.Contains(r.URL.Path, "/api/v2/persons") && !strings.Contains(r.URL.Path, "/api/v2/personFields") {
		return fmt.Errorf("%s %s: no matching operation in the Pipedrive spec", r.Method, r.URL.Path)
	}
	return v.checker.Validate(r, body)
}

// ValidateResponse reports whether an answer to r is one the document
// allows.
func (v *Validator) ValidateResponse(r *http.Request, status int, header http.Header, body []byte) error {
	return v.checker.ValidateResponse(r, status, header, body)
}
