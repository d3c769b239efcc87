package shopifysim

import (
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"net/http"
	"regexp"
	"slices"
	"strconv"
	"time"
)

// bulkOp is one bulk query operation. Its results are made when it is
// created, from the customers as they are then.
type bulkOp struct {
	id      int
	query   string
	created time.Time
	data    []byte
	count   int
	sig     string // the signature of its results' URL
	expired bool
}

var bulkPath = regexp.MustCompile(`/bulk-results/([0-9]+)\.jsonl$`)

func (s *Server) bulkStatus(op *bulkOp, now time.Time) string {
	if now.Sub(op.created) >= s.bulkTime {
		return "COMPLETED"
	}
	return "RUNNING"
}

func (s *Server) bulkNode(op *bulkOp, now time.Time, base string) map[string]any {
	status := s.bulkStatus(op, now)
	node := map[string]any{"id": gid("BulkOperation", strconv.Itoa(op.id)), "type": "QUERY", "status": status,
		"errorCode": nil, "createdAt": datetime(op.created), "query": op.query, "objectCount": "0", "url": nil, "completedAt": nil}
	if status == "COMPLETED" {
		node["objectCount"] = strconv.Itoa(op.count)
		node["completedAt"] = datetime(op.created.Add(s.bulkTime))
		if op.count > 0 {
			node["url"] = base + "/bulk-results/" + strconv.Itoa(op.id) + ".jsonl?sig=" + op.sig
		}
	}
	return node
}

func (s *Server) currentBulkOperation(f field, vars map[string]json.RawMessage, now time.Time, base string) (any, *gqlError) {
	if t := f.stringArg("type", vars); t != "" && t != "QUERY" {
		return nil, nil // the simulator runs no bulk mutations
	}
	if len(s.bulkOps) == 0 {
		return nil, nil
	}
	return s.bulkNode(s.bulkOps[len(s.bulkOps)-1], now, base), nil
}

// bulkOperationRunQuery starts a bulk query: one at a time, as Shopify
// runs them, of the customers connection only (the simulator's limit).
func (s *Server) bulkOperationRunQuery(f field, vars map[string]json.RawMessage, now time.Time, base string) (any, *gqlError) {
	fail := func(code, msg string) (any, *gqlError) {
		return map[string]any{"bulkOperation": nil, "userErrors": []map[string]any{{"field": []string{"query"}, "message": msg, "code": code}}}, nil
	}
	if n := len(s.bulkOps); n > 0 && s.bulkStatus(s.bulkOps[n-1], now) != "COMPLETED" {
		return fail("OPERATION_IN_PROGRESS", "A bulk query operation for this app and shop is already in progress: "+
			gid("BulkOperation", strconv.Itoa(s.bulkOps[n-1].id))+".")
	}
	q := f.stringArg("query", vars)
	inner, err := parseOperation(q)
	if err != nil {
		return fail("INVALID", "Invalid bulk query: "+err.Error())
	}
	if len(inner.sel) != 1 || inner.sel[0].name != "customers" || inner.sel[0].child("edges") == nil || inner.sel[0].child("edges").child("node") == nil {
		return fail("INVALID", "shopifysim runs bulk queries of customers { edges { node { ... } } } only")
	}
	node := inner.sel[0].child("edges").child("node")
	ids := make([]string, 0, len(s.customers))
	for id := range s.customers {
		ids = append(ids, id)
	}
	slices.SortFunc(ids, func(a, b string) int { return int(numericID(a) - numericID(b)) })
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	for _, id := range ids {
		enc.Encode(project(customerNode(s.customers[id]), node.sel))
	}
	sig := make([]byte, 16)
	rand.Read(sig)
	op := &bulkOp{id: len(s.bulkOps) + 1, query: q, created: now.UTC().Truncate(time.Second), data: buf.Bytes(), count: len(ids), sig: hex.EncodeToString(sig)}
	s.bulkOps = append(s.bulkOps, op)
	return map[string]any{"bulkOperation": map[string]any{"id": gid("BulkOperation", strconv.Itoa(op.id)), "status": "CREATED",
		"createdAt": datetime(op.created), "query": q, "objectCount": "0", "url": nil, "errorCode": nil, "type": "QUERY"},
		"userErrors": []any{}}, nil
}

// BulkOperations is how many bulk operations were started.
func (s *Server) BulkOperations() int { s.mu.Lock(); defer s.mu.Unlock(); return len(s.bulkOps) }

// ExpireBulkResults makes every result URL given so far answer as an
// expired signed URL does (Shopify's last a week).
func (s *Server) ExpireBulkResults() {
	s.mu.Lock()
	for _, op := range s.bulkOps {
		op.expired = true
	}
	s.mu.Unlock()
}

// serveBulkResult serves a result file, with Range requests, as the
// storage behind Shopify's signed URLs does.
func (s *Server) serveBulkResult(w http.ResponseWriter, r *http.Request) {
	id, _ := strconv.Atoi(bulkPath.FindStringSubmatch(r.URL.Path)[1])
	s.mu.Lock()
	var op *bulkOp
	if id >= 1 && id <= len(s.bulkOps) {
		op = s.bulkOps[id-1]
	}
	ok := op != nil && !op.expired && r.URL.Query().Get("sig") == op.sig && s.bulkStatus(op, s.now()) == "COMPLETED"
	s.mu.Unlock()
	if !ok {
		w.Header().Set("Content-Type", "application/xml; charset=UTF-8")
		w.WriteHeader(http.StatusForbidden)
		w.Write([]byte(`<?xml version='1.0' encoding='UTF-8'?><Error><Code>ExpiredToken</Code><Message>The provided token has expired.</Message></Error>`))
		return
	}
	w.Header().Set("Content-Type", "application/jsonl")
	http.ServeContent(w, r, "", op.created, bytes.NewReader(op.data))
}
