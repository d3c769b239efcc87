// Package openapicheck validates HTTP requests, and answers, against a
// platform's OpenAPI 3 document: what each destination's spec check
// (brevospec, klaviyospec, mailchimpspec) is built on, so the tests of a
// client and its simulator fail when a request would not be accepted by
// the real API. It is for tests only; the binary never links it.
package openapicheck

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/mail"
	"strings"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"
	"github.com/getkin/kin-openapi/routers/gorillamux"
)

// Spec says how a platform's document is read and its requests checked.
type Spec struct {
	// Host and Base are where the document's server puts the API
	// ("api.brevo.com", "/v3"). Requests are moved onto them before
	// routing, so a simulator at any address, under any mount, validates.
	Host, Base string
	// Auth checks the request's credentials are there in the platform's
	// scheme (the document's security schemes are not enforced).
	Auth func(r *http.Request) error
	// Errata mend what the document gets wrong, each named and sourced
	// in its package's errata.go; nil for none.
	Errata func(doc *openapi3.T)
	// CheckEmails checks format "email", which kin-openapi leaves
	// unchecked, as a bare address.
	CheckEmails bool
}

// Checker validates against one loaded document. It is safe for
// concurrent use.
type Checker struct {
	router routers.Router
	spec   Spec
	opts   []openapi3.SchemaValidationOption
}

// Load reads the document at path for s.
func Load(path string, s Spec) (*Checker, error) {
	doc, err := openapi3.NewLoader().LoadFromFile(path)
	if err != nil {
		return nil, fmt.Errorf("load spec %s: %w", path, err)
	}
	if s.Errata != nil {
		s.Errata(doc)
	}
	doc.Servers = openapi3.Servers{{URL: "https://" + s.Host + s.Base}}
	router, err := gorillamux.NewRouter(doc)
	if err != nil {
		return nil, fmt.Errorf("route spec %s: %w", path, err)
	}
	c := &Checker{router: router, spec: s}
	if s.CheckEmails {
		c.opts = []openapi3.SchemaValidationOption{
			openapi3.WithStringFormatValidator("email", openapi3.NewCallbackValidator(func(v string) error {
				if a, err := mail.ParseAddress(v); err != nil || a.Address != v {
					return errors.New("not an email address")
				}
				return nil
			})),
		}
	}
	return c, nil
}

// Validate reports whether r, whose body has already been read into
// body, is a request the document accepts: a known path and method, valid
// path, query and header parameters, a valid body, and credentials. r is
// not modified. The signature fits the simulators' Validate options.
func (c *Checker) Validate(r *http.Request, body []byte) error {
	if c.spec.Auth != nil {
		if err := c.spec.Auth(r); err != nil {
			return err
		}
	}
	input, err := c.input(c.rewrite(r, body))
	if err != nil {
		return fmt.Errorf("%s %s: %w", r.Method, r.URL.Path, err)
	}
	if err := openapi3filter.ValidateRequest(context.Background(), input); err != nil {
		return fmt.Errorf("%s %s (%s): %w", r.Method, r.URL.Path, input.Route.Operation.OperationID, err)
	}
	return nil
}

// ValidateResponse reports whether an answer with status, header and body
// is one the document allows for request r (statuses it does not declare
// are not checked).
func (c *Checker) ValidateResponse(r *http.Request, status int, header http.Header, body []byte) error {
	input, err := c.input(c.rewrite(r, nil))
	if err != nil {
		return fmt.Errorf("%s %s: %w", r.Method, r.URL.Path, err)
	}
	out := &openapi3filter.ResponseValidationInput{RequestValidationInput: input, Status: status, Header: header, Options: input.Options}
	out.SetBodyBytes(body)
	if err := openapi3filter.ValidateResponse(context.Background(), out); err != nil {
		return fmt.Errorf("%s %s (%s) answer %d: %w", r.Method, r.URL.Path, input.Route.Operation.OperationID, status, err)
	}
	return nil
}

// rewrite returns a copy of r addressed to the document's server, with body.
func (c *Checker) rewrite(r *http.Request, body []byte) *http.Request {
	req := r.Clone(context.Background())
	req.URL.Scheme, req.URL.Host, req.Host = "https", c.spec.Host, c.spec.Host
	req.URL.Path = c.spec.Base + c.trimBase(r.URL.Path)
	if r.URL.RawPath != "" {
		req.URL.RawPath = c.spec.Base + c.trimBase(r.URL.RawPath)
	}
	req.Body = io.NopCloser(bytes.NewReader(body))
	req.ContentLength = int64(len(body))
	return req
}

// trimBase strips what comes before the API's paths: the base (/v3,
// /3.0) and any mount in front of it (/simulator/mailchimp/3.0).
func (c *Checker) trimBase(p string) string {
	b := c.spec.Base
	if b == "" {
		return p
	}
	if p == b {
		return ""
	}
	if i := strings.Index(p, b+"/"); i >= 0 {
		return p[i+len(b):]
	}
	return p
}

func (c *Checker) input(req *http.Request) (*openapi3filter.RequestValidationInput, error) {
	route, params, err := c.router.FindRoute(req)
	if err != nil {
		return nil, err
	}
	return &openapi3filter.RequestValidationInput{
		Request: req, PathParams: params, Route: route,
		Options: &openapi3filter.Options{
			AuthenticationFunc:      openapi3filter.NoopAuthenticationFunc,
			SkipSettingDefaults:     true,
			MultiError:              true,
			SchemaValidationOptions: c.opts,
		},
	}, nil
}
