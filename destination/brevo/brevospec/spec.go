// Package brevospec checks HTTP requests against Brevo's OpenAPI spec, so
// tests of the brevo client and simulator fail when a request would not be
// accepted by the real API. It is for tests only.
package brevospec

import (
	"errors"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"sync"
	"testing"

	"synclayer/destination/openapicheck"
)

// EnvSpec names the environment variable that overrides the spec location.
const EnvSpec = "BREVO_OPENAPI_SPEC"

// Validator validates requests, and the simulator's answers, against the
// spec. It is safe for concurrent use.
type Validator = openapicheck.Checker

var (
	loadOnce  sync.Once
	loaded    *Validator
	loadedErr error
)

// Load returns the validator for the spec at $BREVO_OPENAPI_SPEC, or else at
// <repo root>/../shared/brevo/openapi.yaml, where the repo root is the
// nearest directory upward holding go.mod. The spec is parsed once per test
// binary. Load fails tb when the spec cannot be found or parsed.
func Load(tb testing.TB) *Validator {
	tb.Helper()
	loadOnce.Do(func() { loaded, loadedErr = load() })
	if loadedErr != nil {
		tb.Fatalf("brevospec: %v", loadedErr)
	}
	return loaded
}

func load() (*Validator, error) {
	path, err := specPath()
	if err != nil {
		return nil, err
	}
	return openapicheck.Load(path, openapicheck.Spec{Host: "api.brevo.com", Base: "/v3", Errata: applyErrata, CheckEmails: true,
		Auth: func(r *http.Request) error {
			if r.Header.Get("api-key") == "" {
				return errors.New("missing api-key header")
			}
			return nil
		}})
}

func specPath() (string, error) {
	if p := os.Getenv(EnvSpec); p != "" {
		if _, err := os.Stat(p); err != nil {
			return "", fmt.Errorf("$%s: %w", EnvSpec, err)
		}
		return p, nil
	}
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			break
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", fmt.Errorf("no go.mod above the working directory; set $%s to Brevo's openapi.yaml", EnvSpec)
		}
		dir = parent
	}
	p := filepath.Join(dir, "..", "shared", "brevo", "openapi.yaml")
	if _, err := os.Stat(p); err != nil {
		return "", fmt.Errorf("Brevo OpenAPI spec not found at %s (set $%s to its path)", p, EnvSpec)
	}
	return p, nil
}
