// Package klaviyospec checks HTTP requests (and the simulator's answers)
// against the trimmed Klaviyo OpenAPI spec vendored in
// destination/klaviyo/testdata/openapi, so tests of the klaviyo client and
// simulator fail when a request would not be accepted by the real API. It
// is for tests only.
package klaviyospec

import (
	"errors"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"

	"synclayer/destination/openapicheck"
)

// EnvSpec names the environment variable that overrides the spec location.
const EnvSpec = "KLAVIYO_OPENAPI_SPEC"

// Validator validates requests, and the simulator's answers, against the
// spec. It is safe for concurrent use.
type Validator = openapicheck.Checker

var (
	loadOnce  sync.Once
	loaded    *Validator
	loadedErr error
)

// Load returns the validator for the spec at $KLAVIYO_OPENAPI_SPEC, or
// else the vendored testdata/openapi/klaviyo.json. The spec is parsed once
// per test binary; Load fails tb when it cannot be read. Validate checks a
// known path and method, path, query and header parameters (the revision
// header is required), a JSON:API body, and a Klaviyo-API-Key
// Authorization header.
func Load(tb testing.TB) *Validator {
	tb.Helper()
	loadOnce.Do(func() { loaded, loadedErr = load() })
	if loadedErr != nil {
		tb.Fatalf("klaviyospec: %v", loadedErr)
	}
	return loaded
}

func load() (*Validator, error) {
	path := os.Getenv(EnvSpec)
	if path == "" {
		_, file, _, ok := runtime.Caller(0)
		if !ok {
			return nil, fmt.Errorf("cannot locate the vendored spec; set $%s", EnvSpec)
		}
		path = filepath.Join(filepath.Dir(file), "..", "testdata", "openapi", "klaviyo.json")
	}
	return openapicheck.Load(path, openapicheck.Spec{Host: "a.klaviyo.com", CheckEmails: true,
		Auth: func(r *http.Request) error {
			if !strings.HasPrefix(r.Header.Get("Authorization"), "Klaviyo-API-Key ") {
				return errors.New("missing Authorization: Klaviyo-API-Key header")
			}
			return nil
		}})
}
