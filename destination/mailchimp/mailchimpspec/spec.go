// Package mailchimpspec checks HTTP requests against the trimmed Mailchimp
// Marketing API spec in ../testdata/openapi, so tests of the mailchimp
// client and simulator fail when a request would not be accepted by the
// real API. It is for tests only.
package mailchimpspec

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
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

// specHost and specBase are where the spec's servers entry
// (https://server.api.mailchimp.com/3.0) puts the API. Requests are
// rewritten onto them before routing, so any simulator address works.
const (
	specHost = "server.api.mailchimp.com"
	specBase = "/3.0"
)

// Validator validates requests against the spec. It is safe for
// concurrent use.
type Validator struct {
	router routers.Router
}

var (
	loadOnce  sync.Once
	loaded    *Validator
	loadedErr error
)

// Load returns the validator for testdata/openapi/marketing.json beside
// this package, parsed once per test binary. It fails tb when the spec
// cannot be read.
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
	doc, err := openapi3.NewLoader().LoadFromFile(Path())
	if err != nil {
		return nil, fmt.Errorf("load spec: %w", err)
	}
	applyErrata(doc)
	doc.Servers = openapi3.Servers{{URL: "https://" + specHost + specBase}}
	router, err := gorillamux.NewRouter(doc)
	if err != nil {
		return nil, fmt.Errorf("route spec: %w", err)
	}
	return &Validator{router: router}, nil
}

// Validate reports whether r, whose body has already been read into body,
// is a request the spec accepts: a known path and method, valid
// parameters, a valid JSON body, and HTTP Basic credentials (the spec's
// basicAuth scheme). r is not modified. It fits mailchimpsim.Options.Validate.
func (v *Validator) Validate(r *http.Request, body []byte) error {
	if _, pass, ok := r.BasicAuth(); !ok || pass == "" {
		return errors.New("missing HTTP Basic credentials (the API key is the password)")
	}
	req := rewrite(r, body)
	input, err := v.input(req)
	if err != nil {
		return fmt.Errorf("%s %s: %w", r.Method, r.URL.Path, err)
	}
	if err := openapi3filter.ValidateRequest(context.Background(), input); err != nil {
		return fmt.Errorf("%s %s (%s): %w", r.Method, r.URL.Path, input.Route.Operation.OperationID, err)
	}
	return nil
}

// ValidateResponse reports whether an answer with status, header and body
// matches the schema the spec declares for request r.
func (v *Validator) ValidateResponse(r *http.Request, status int, header http.Header, body []byte) error {
	input, err := v.input(rewrite(r, nil))
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

func rewrite(r *http.Request, body []byte) *http.Request {
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
			AuthenticationFunc:  openapi3filter.NoopAuthenticationFunc,
			SkipSettingDefaults: true,
			MultiError:          true,
		},
	}, nil
}

// trimBase strips everything up to and including /3.0, so a simulator
// mounted under a prefix (/simulator/mailchimp/3.0) routes too.
func trimBase(p string) string {
	if i := strings.Index(p, specBase+"/"); i >= 0 {
		return p[i+len(specBase):]
	}
	return p
}
