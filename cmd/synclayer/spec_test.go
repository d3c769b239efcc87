package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"
	"github.com/getkin/kin-openapi/routers/gorillamux"

	"synclayer"
	"synclayer/api"
)

var (
	specOnce   sync.Once
	specDoc    *openapi3.T
	specRouter routers.Router
	specErr    error
)

// loadSpec parses and validates api/openapi.yaml (as embedded) once.
func loadSpec(t *testing.T) (*openapi3.T, routers.Router) {
	t.Helper()
	specOnce.Do(func() {
		specDoc, specErr = openapi3.NewLoader().LoadFromData(api.OpenAPI())
		if specErr == nil {
			specErr = specDoc.Validate(context.Background())
		}
		if specErr == nil {
			specRouter, specErr = gorillamux.NewRouter(specDoc)
		}
	})
	if specErr != nil {
		t.Fatalf("api/openapi.yaml: %v", specErr)
	}
	return specDoc, specRouter
}

// specTransport sends requests to the server and checks every exchange
// against api/openapi.yaml: the route and status must be documented, the
// response must match its schema, and a request the server accepted (2xx)
// must match the spec too. It records which operations answered which
// statuses, for coverage checks.
type specTransport struct {
	t      *testing.T
	doc    *openapi3.T
	router routers.Router

	mu   sync.Mutex
	seen map[string][]int // "GET /api/v1/skills" → statuses answered
}

func newSpecTransport(t *testing.T) *specTransport {
	doc, router := loadSpec(t)
	return &specTransport{t: t, doc: doc, router: router, seen: map[string][]int{}}
}

func (s *specTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	var reqBody []byte
	if req.Body != nil {
		reqBody, _ = io.ReadAll(req.Body)
		req.Body.Close()
		req.Body = io.NopCloser(bytes.NewReader(reqBody))
	}
	resp, err := http.DefaultTransport.RoundTrip(req)
	if err != nil {
		return nil, err
	}
	respBody, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil {
		return nil, err
	}
	resp.Body = io.NopCloser(bytes.NewReader(respBody))
	if err := s.check(req, reqBody, resp, respBody); err != nil {
		s.t.Errorf("%s %s → %d violates api/openapi.yaml: %v\nresponse: %s", req.Method, req.URL.RequestURI(), resp.StatusCode, err, respBody)
	}
	return resp, nil
}

func (s *specTransport) check(req *http.Request, reqBody []byte, resp *http.Response, respBody []byte) error {
	route, params, err := s.router.FindRoute(req)
	if err != nil && (resp.StatusCode == http.StatusNotFound || resp.StatusCode == http.StatusMethodNotAllowed) {
		return s.checkUnrouted(resp, respBody)
	}
	if err != nil {
		return fmt.Errorf("route not in the spec: %w", err)
	}
	s.mu.Lock()
	op := req.Method + " " + route.Path
	s.seen[op] = append(s.seen[op], resp.StatusCode)
	s.mu.Unlock()
	ctx := context.Background()
	in := &openapi3filter.RequestValidationInput{
		Request: req.Clone(ctx), PathParams: params, Route: route,
		Options: &openapi3filter.Options{AuthenticationFunc: openapi3filter.NoopAuthenticationFunc},
	}
	in.Request.Body = io.NopCloser(bytes.NewReader(reqBody))
	if resp.StatusCode/100 == 2 {
		if err := openapi3filter.ValidateRequest(ctx, in); err != nil {
			return fmt.Errorf("the server accepted a request the spec refuses: %w", err)
		}
	}
	out := &openapi3filter.ResponseValidationInput{
		RequestValidationInput: in, Status: resp.StatusCode, Header: resp.Header,
		Options: &openapi3filter.Options{IncludeResponseStatus: true},
	}
	out.SetBodyBytes(respBody)
	return openapi3filter.ValidateResponse(ctx, out)
}

// checkUnrouted checks the answer to a path, or a method, the spec does
// not list: the documented Error schema as JSON, and for a 405 an Allow
// header.
func (s *specTransport) checkUnrouted(resp *http.Response, body []byte) error {
	s.mu.Lock()
	op := fmt.Sprint("unrouted ", resp.StatusCode)
	s.seen[op] = append(s.seen[op], resp.StatusCode)
	s.mu.Unlock()
	if ct := resp.Header.Get("Content-Type"); ct != "application/json" {
		return fmt.Errorf("an unrouted request answered %s, not application/json", ct)
	}
	if resp.StatusCode == http.StatusMethodNotAllowed && resp.Header.Get("Allow") == "" {
		return fmt.Errorf("405 without Allow")
	}
	var v any
	if err := json.Unmarshal(body, &v); err != nil {
		return fmt.Errorf("decode: %w", err)
	}
	return s.doc.Components.Schemas["Error"].Value.VisitJSON(v)
}

// statuses returns the statuses seen for an operation, "GET /api/v1/skills".
func (s *specTransport) statuses(op string) []int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.seen[op])
}

// operations lists every operation in the spec as "METHOD /path".
func operations(doc *openapi3.T) []string {
	var out []string
	for path, item := range doc.Paths.Map() {
		for method := range item.Operations() {
			out = append(out, method+" "+path)
		}
	}
	slices.Sort(out)
	return out
}

// apiKey stores a new key with role in the env's store and returns it.
func (e *env) apiKey(role synclayer.Role) string {
	e.t.Helper()
	k, secret, err := synclayer.NewAPIKey(role, "test "+string(role), time.Now())
	if err != nil {
		e.t.Fatal(err)
	}
	if err := e.m.DB.CreateKey(context.Background(), k); err != nil {
		e.t.Fatal(err)
	}
	return secret
}

// deadJob makes a dead-lettered job for a skill no worker runs, so it stays
// put until the test retries or deletes it.
func (e *env) deadJob(record string) int64 {
	e.t.Helper()
	ctx, now := context.Background(), time.Now()
	if err := e.m.DB.Tx(ctx, func(tx synclayer.Tx) error { return tx.EnqueueJob(ctx, "dlq-test", "brevo", record, now) }); err != nil {
		e.t.Fatal(err)
	}
	jobs, err := e.m.DB.ClaimJobs(ctx, "dlq-test", 1, time.Minute, now)
	if err != nil || len(jobs) != 1 {
		e.t.Fatalf("claim: %v, %v", jobs, err)
	}
	if err := e.m.DB.DeadJob(ctx, jobs[0], "400 invalid_parameter: SMS", nil, now); err != nil {
		e.t.Fatal(err)
	}
	return jobs[0].ID
}
