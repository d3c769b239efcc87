// Package brevospec checks HTTP requests against Brevo's OpenAPI spec, so
// tests of the brevo client and simulator fail when a request would not be
// accepted by the real API. It is for tests only.
package brevospec

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/mail"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"
	"github.com/getkin/kin-openapi/routers/gorillamux"
)

// EnvSpec names the environment variable that overrides the spec location.
const EnvSpec = "BREVO_OPENAPI_SPEC"

// specHost and specBase are where the spec's servers entry puts the API.
// Requests are rewritten onto them before routing, so the validator works
// for any simulator address.
const (
	specHost = "api.brevo.com"
	specBase = "/v3"
)

// Validator validates requests against the loaded spec. It is safe for
// concurrent use.
type Validator struct {
	router routers.Router
}

// schemaOptions make the spec's format "email" checked, which kin-openapi
// leaves unchecked by default.
var schemaOptions = []openapi3.SchemaValidationOption{
	openapi3.WithStringFormatValidator("email", openapi3.NewCallbackValidator(func(s string) error {
		if a, err := mail.ParseAddress(s); err != nil || a.Address != s {
			return errors.New("not an email address")
		}
		return nil
	})),
}

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
	loader := openapi3.NewLoader()
	doc, err := loader.LoadFromFile(path)
	if err != nil {
		return nil, fmt.Errorf("load spec %s: %w", path, err)
	}
	applyErrata(doc)
	router, err := gorillamux.NewRouter(doc)
	if err != nil {
		return nil, fmt.Errorf("route spec %s: %w", path, err)
	}
	return &Validator{router: router}, nil
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

// Validate reports whether r, whose body has already been read into body,
// is a request the spec accepts: a known path and method, valid path, query
// and header parameters, a valid JSON body, and an api-key header. r is not
// modified. The signature fits brevosim.Options.Validate.
func (v *Validator) Validate(r *http.Request, body []byte) error {
	if r.Header.Get("api-key") == "" {
		return errors.New("missing api-key header")
	}
	req := v.rewrite(r, body)
	input, err := v.input(req)
	if err != nil {
		return fmt.Errorf("%s %s: %w", r.Method, r.URL.Path, err)
	}
	if err := openapi3filter.ValidateRequest(context.Background(), input); err != nil {
		return fmt.Errorf("%s %s (%s): %w", r.Method, r.URL.Path, input.Route.Operation.OperationID, err)
	}
	return nil
}

// ValidateResponse reports whether a response with status, header and
// body is one the spec allows for request r: the body must match the
// schema the spec declares for that status (statuses the spec does not
// declare are not checked).
func (v *Validator) ValidateResponse(r *http.Request, status int, header http.Header, body []byte) error {
	req := v.rewrite(r, nil)
	input, err := v.input(req)
	if err != nil {
		return fmt.Errorf("%s %s: %w", r.Method, r.URL.Path, err)
	}
	out := &openapi3filter.ResponseValidationInput{
		RequestValidationInput: input,
		Status:                 status,
		Header:                 header,
		Options:                input.Options,
	}
	out.SetBodyBytes(body)
	if err := openapi3filter.ValidateResponse(context.Background(), out); err != nil {
		return fmt.Errorf("%s %s (%s) answer %d: %w", r.Method, r.URL.Path, input.Route.Operation.OperationID, status, err)
	}
	return nil
}

// rewrite returns a copy of r addressed to the spec's server, with body.
func (v *Validator) rewrite(r *http.Request, body []byte) *http.Request {
	req := r.Clone(context.Background())
	req.URL.Scheme, req.URL.Host, req.Host = "https", specHost, specHost
	req.URL.Path = specBase + trimBase(r.URL.Path)
	if r.URL.RawPath != "" {
		req.URL.RawPath = specBase + trimBase(r.URL.RawPath)
	}
	req.Body = io.NopCloser(bytes.NewReader(body))
	req.ContentLength = int64(len(body))
	return req
}

func (v *Validator) input(req *http.Request) (*openapi3filter.RequestValidationInput, error) {
	route, params, err := v.router.FindRoute(req)
	if err != nil {
		return nil, err
	}
	return &openapi3filter.RequestValidationInput{
		Request:    req,
		PathParams: params,
		Route:      route,
		Options: &openapi3filter.Options{
			AuthenticationFunc:      openapi3filter.NoopAuthenticationFunc,
			SkipSettingDefaults:     true,
			MultiError:              true,
			SchemaValidationOptions: schemaOptions,
		},
	}, nil
}

// trimBase strips a leading /v3, so requests to a simulator mounted at the
// root and at /v3 both route.
func trimBase(p string) string {
	if p == specBase || strings.HasPrefix(p, specBase+"/") {
		return p[len(specBase):]
	}
	return p
}
