// Package mailchimpspec checks HTTP requests against the trimmed Mailchimp
// Marketing API spec in ../testdata/openapi, so tests of the mailchimp
// client and simulator fail when a request would not be accepted by the
// real API. It is for tests only.
package mailchimpspec

import (
	"errors"
	"fmt"
	"net/http"
	"path/filepath"
	"runtime"
	"sync"
	"testing"

	"synclayer/destination/openapicheck"
)

// Validator validates requests, and the simulator's answers, against the
// spec. It is safe for concurrent use.
type Validator = openapicheck.Checker

var (
	loadOnce  sync.Once
	loaded    *Validator
	loadedErr error
)

// Load returns the validator for the vendored spec, parsed once per test
// binary; it fails tb when the spec cannot be read. Validate checks a
// known path and method, parameters, a valid body and HTTP Basic
// credentials (the API key as the password).
func Load(tb testing.TB) *Validator {
	tb.Helper()
	loadOnce.Do(func() { loaded, loadedErr = load() })
	if loadedErr != nil {
		tb.Fatalf("mailchimpspec: %v", loadedErr)
	}
	return loaded
}

// Path is where the trimmed spec lives.
func Path() string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Join(filepath.Dir(file), "..", "testdata", "openapi", "marketing.json")
}

func load() (*Validator, error) {
	v, err := openapicheck.Load(Path(), openapicheck.Spec{Host: "server.api.mailchimp.com", Base: "/3.0", Errata: applyErrata,
		Auth: func(r *http.Request) error {
			if _, pass, ok := r.BasicAuth(); !ok || pass == "" {
				return errors.New("missing HTTP Basic credentials (the API key is the password)")
			}
			return nil
		}})
	if err != nil {
		return nil, fmt.Errorf("mailchimp spec: %w", err)
	}
	return v, nil
}
