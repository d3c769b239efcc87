package shopifysim

import (
	"encoding/json"
	"fmt"
	"math"
	"net/http"
	"time"
)

// maxQueryCost is the most a query may request: Shopify refuses a
// costlier one before running it, whatever the bucket holds.
const maxQueryCost = 1000

// handler answers one root field; s.mu is held.
type handler func(s *Server, f field, vars map[string]json.RawMessage, now time.Time, base string) (any, *gqlError)

// queries and mutationHandlers are the root fields the simulator answers
// besides the two consent mutations.
var (
	queries = map[string]handler{
		"customers": func(s *Server, f field, vars map[string]json.RawMessage, _ time.Time, _ string) (any, *gqlError) {
			return s.connection(s.customerRows(), f, vars)
		},
		"orders": func(s *Server, f field, vars map[string]json.RawMessage, _ time.Time, _ string) (any, *gqlError) {
			return s.connection(s.orderRows(f, vars), f, vars)
		},
		"products": func(s *Server, f field, vars map[string]json.RawMessage, _ time.Time, _ string) (any, *gqlError) {
			return s.connection(s.productRows(f, vars), f, vars)
		},
		"customersCount": func(s *Server, f field, vars map[string]json.RawMessage, _ time.Time, _ string) (any, *gqlError) {
			return s.customersCount(f, vars)
		},
		"currentBulkOperation": (*Server).currentBulkOperation,
		"webhookSubscriptions": (*Server).webhookSubscriptions,
	}
	mutationHandlers = map[string]handler{
		"bulkOperationRunQuery":     (*Server).bulkOperationRunQuery,
		"webhookSubscriptionCreate": (*Server).webhookSubscriptionCreate,
		"webhookSubscriptionUpdate": (*Server).webhookSubscriptionUpdate,
	}
)

// serveOperation answers a query or mutation of one root field the
// simulator knows, charging its cost; it reports false for a root field
// it does not know, which the caller refuses.
func (s *Server) serveOperation(w http.ResponseWriter, req request, base string) bool {
	op, err := parseOperation(req.Query)
	if err != nil {
		s.answerError(w, gqlError{Message: "Parse error: " + err.Error(), Extensions: map[string]any{"code": "PARSE_ERROR"}})
		return true
	}
	if len(op.sel) != 1 {
		return false
	}
	f := op.sel[0]
	h := queries[f.name]
	requested := cost(op.sel, req.Variables)
	if op.kind == "mutation" {
		h, requested = mutationHandlers[f.name], s.mutationCost
	}
	if h == nil {
		return false
	}
	if requested > maxQueryCost {
		s.answerError(w, gqlError{Message: fmt.Sprintf("Query cost is %.0f, which exceeds the single query max cost limit (%d).", requested, maxQueryCost),
			Extensions: map[string]any{"code": "MAX_COST_EXCEEDED", "cost": requested, "maxCost": maxQueryCost}})
		return true
	}
	s.mu.Lock()
	now := s.now()
	if !s.bucket.spend(requested, now) {
		ext := s.bucket.cost(requested, nil)
		s.mu.Unlock()
		writeJSON(w, http.StatusOK, map[string]any{
			"errors": []gqlError{{Message: "Throttled", Extensions: map[string]any{
				"code": "THROTTLED", "documentation": "https://shopify.dev/api/usage/rate-limits"}}},
			"extensions": map[string]any{"cost": ext},
		})
		return true
	}
	result, gerr := h(s, f, req.Variables, now, base)
	actual := requested
	if m, ok := result.(map[string]any); ok && op.kind == "query" {
		// Shopify charges what the answer holds and gives the rest back.
		if edges, ok := m["edges"].([]any); ok {
			if first, ok := f.intArg("first", req.Variables); ok && first > 0 {
				actual = 2 + float64(len(edges))*(requested-2)/float64(first)
			}
		}
	}
	s.bucket.available = math.Min(s.bucket.max, s.bucket.available+requested-actual)
	ext := s.bucket.cost(requested, &actual)
	s.mu.Unlock()
	if gerr != nil {
		writeJSON(w, http.StatusOK, map[string]any{"errors": []gqlError{*gerr}, "data": nil, "extensions": map[string]any{"cost": ext}})
		return true
	}
	var data any
	if result != nil {
		if m, ok := result.(map[string]any); ok && m == nil {
			data = nil
		} else {
			data = project(result, f.sel)
		}
	}
	writeJSON(w, http.StatusOK, map[string]any{"data": map[string]any{f.name: data}, "extensions": map[string]any{"cost": ext}})
	return true
}
