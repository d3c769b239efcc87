// Package klaviyospec checks HTTP requests (and the simulator's answers)
// against the trimmed Klaviyo OpenAPI spec vendored in
// destination/klaviyo/testdata/openapi, so tests of the klaviyo client and
// simulator fail when a request would not be accepted by the real API. It
// is for tests only.
package klaviyospec

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
	"runtime"
	"strings"
	"sync"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"
	"github.com/getkin/kin-openapi/routers/gorillamux"
)

// EnvSpec names the environment variable that overrides the spec location.
const EnvSpec = "KLAVIYO_OPENAPI_SPEC"

// specHost is the host of the spec's servers entry; requests are moved
// onto it before routing, so any simulator address validates.
const specHost = "a.klaviyo.com"

// Validator validates requests against the loaded spec. It is safe for
// concurrent use.
type Validator struct {
	router routers.Router
}

// schemaOptions check format "email", which kin-openapi leaves unchecked.
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

// Load returns the validator for the spec at $KLAVIYO_OPENAPI_SPEC, or
// else the vendored testdata/openapi/klaviyo.json. The spec is parsed once
// per test binary; Load fails tb when it cannot be read.
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
	doc, err := openapi3.NewLoader().LoadFromFile(path)
	if err != nil {
		return nil, fmt.Errorf("load spec %s: %w", path, err)
	}
	router, err := gorillamux.NewRouter(doc)
	if err != nil {
		return nil, fmt.Errorf("route spec %s: %w", path, err)
	}
	return &Validator{router: router}, nil
}

// Validate reports whether r, whose body has already been read into body,
// is a request the spec accepts: a known path and method, valid path,
// query and header parameters (the revision header is required), a valid
// JSON:API body, and a Klaviyo-API-Key Authorization header. r is not
// modified. The signature fits klaviyosim.Options.Validate.
func (v *Validator) Validate(r *http.Request, body []byte) error {
	if !strings.HasPrefix(r.Header.Get("Authorization"), "Klaviyo-API-Key ") {
		return errors.New("missing Authorization: Klaviyo-API-Key header")
	}
	input, err := v.input(v.rewrite(r, body))
	if err != nil {
		return fmt.Errorf("%s %s: %w", r.Method, r.URL.Path, err)
	}
	if err := openapi3filter.ValidateRequest(context.Background(), input); err != nil {
		return fmt.Errorf("%s %s (%s): %w", r.Method, r.URL.Path, input.Route.Operation.OperationID, err)
	}
	return nil
}

// ValidateResponse reports whether an answer with status, header and body
// is one the spec allows for request r.
func (v *Validator) ValidateResponse(r *http.Request, status int, header http.Header, body []byte) error {
	input, err := v.input(v.rewrite(r, nil))
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

func (v *Validator) rewrite(r *http.Request, body []byte) *http.Request {
	req := r.Clone(context.Background())
	req.URL.Scheme, req.URL.Host, req.Host = "https", specHost, specHost
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
