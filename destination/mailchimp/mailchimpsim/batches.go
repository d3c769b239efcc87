package mailchimpsim

import (
	"bytes"
	"context"
	crand "crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"
)

// MaxPendingBatches is how many unfinished batches an account may have;
// one more POST /batches is answered 429.
const MaxPendingBatches = 500

// batchSteps is the order a batch's status moves in, one step per
// GET /batches/{batch_id} (FinishBatches runs them all).
var batchSteps = []string{"pending", "preprocessing", "started", "finalizing", "finished"}

// resultsPerFile is how many results one .json file of the archive holds;
// the archive has several files, as Mailchimp's can.
const resultsPerFile = 100

// Operation is one request of a batch, as POST /batches takes it.
type Operation struct {
	Method      string         `json:"method"`
	Path        string         `json:"path"`
	Params      map[string]any `json:"params,omitempty"`
	Body        string         `json:"body,omitempty"`
	OperationID *string        `json:"operation_id,omitempty"`
}

// Result is one operation's entry in a batch's results archive.
type Result struct {
	StatusCode  int     `json:"status_code"`
	OperationID *string `json:"operation_id"`
	Response    string  `json:"response"`
}

type batch struct {
	id        string
	key       string // the API key the batch was submitted with, for its operations
	base      string // scheme, host and mount prefix, for response_body_url
	ops       []Operation
	status    string
	running   bool
	submitted time.Time
	completed time.Time
	results   []Result
	errored   int
	archive   []byte
	expired   bool // the archive link no longer answers
	seq       int  // order of submission
}

func (s *Server) handleBatchCreate(w http.ResponseWriter, r *http.Request) {
	var req struct {
		Operations []Operation `json:"operations"`
	}
	if err := json.NewDecoder(r.Body).Decode(&req); err != nil || req.Operations == nil {
		invalid(w, "The resource submitted could not be validated. For field-specific details, see the 'errors' array.",
			FieldError{Field: "operations", Message: "Schema describes array, an array of operations is required."})
		return
	}
	for i, op := range req.Operations {
		if !slices.Contains([]string{"GET", "POST", "PUT", "PATCH", "DELETE"}, op.Method) || op.Path == "" {
			invalid(w, "The resource submitted could not be validated. For field-specific details, see the 'errors' array.",
				FieldError{Field: fmt.Sprintf("operations.%d", i), Message: "method and path are required"})
			return
		}
	}
	_, key, _ := r.BasicAuth()
	b := &batch{id: newID(), key: key, base: baseOf(r), ops: req.Operations, status: "pending", submitted: s.now()}
	s.mu.Lock()
	pending := 0
	for _, o := range s.batches {
		if o.status != "finished" {
			pending++
		}
	}
	if pending >= MaxPendingBatches {
		s.mu.Unlock()
		writeProblem(w, http.StatusTooManyRequests, "Too Many Requests", fmt.Sprintf("You have more than %d pending batches.", MaxPendingBatches))
		return
	}
	s.batchSeq++
	b.seq = s.batchSeq
	s.batches[b.id] = b
	out := b.json()
	s.mu.Unlock()
	writeJSON(w, http.StatusOK, out)
}

func (s *Server) handleBatchGet(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	b := s.batches[r.PathValue("batch_id")]
	s.mu.Unlock()
	if b == nil {
		notFound(w)
		return
	}
	s.step(b, false)
	s.mu.Lock()
	out := b.json()
	s.mu.Unlock()
	writeJSON(w, http.StatusOK, out)
}

// step moves b one status on (unless batches are held and not forced),
// running its operations on the way to started and packing the results
// archive on the way to finished.
func (s *Server) step(b *batch, force bool) {
	s.mu.Lock()
	if (s.holdBatches && !force) || b.running || b.status == "finished" {
		s.mu.Unlock()
		return
	}
	next := batchSteps[slices.Index(batchSteps, b.status)+1]
	if next != "started" {
		b.status = next
		if next == "finished" {
			b.completed = s.now()
			b.archive = packResults(b.id, b.results)
		}
		s.mu.Unlock()
		return
	}
	b.running = true
	s.mu.Unlock()
	results, errored := s.runOperations(b)
	s.mu.Lock()
	b.results, b.errored, b.status, b.running = results, errored, "started", false
	s.mu.Unlock()
}

// runOperations answers each operation as the API would answer it alone,
// through the same handlers and the same validation, with the batch's
// API key. s.mu must not be held.
func (s *Server) runOperations(b *batch) ([]Result, int) {
	s.mu.Lock()
	validate := s.validate
	s.mu.Unlock()
	results := make([]Result, len(b.ops))
	errored := 0
	for i, op := range b.ops {
		rec := &recorder{header: http.Header{}}
		s.runOperation(rec, b, i, op, validate)
		if rec.status == 0 {
			rec.status = http.StatusOK
		}
		if rec.status >= 400 {
			errored++
		}
		results[i] = Result{StatusCode: rec.status, OperationID: op.OperationID, Response: rec.body.String()}
	}
	return results, errored
}

func (s *Server) runOperation(w http.ResponseWriter, b *batch, i int, op Operation, validate func(*http.Request, []byte) error) {
	u := "http://mailchimp.invalid" + op.Path
	if len(op.Params) > 0 {
		q := url.Values{}
		for k, v := range op.Params {
			q.Set(k, fmt.Sprint(v))
		}
		u += "?" + q.Encode()
	}
	body := []byte(op.Body)
	r, err := http.NewRequestWithContext(context.Background(), op.Method, u, bytes.NewReader(body))
	if err != nil || !strings.HasPrefix(op.Path, "/") || strings.HasPrefix(op.Path, "/batches") {
		invalid(w, "The resource submitted could not be validated: the operation's path is not an API path.")
		return
	}
	r.SetBasicAuth("batch", b.key)
	if len(body) > 0 {
		r.Header.Set("content-type", "application/json")
	}
	if validate != nil {
		if err := validate(r, body); err != nil {
			s.Violation(fmt.Sprintf("batch %s operation %d: %v", b.id, i, err))
			invalid(w, "The resource submitted could not be validated: "+err.Error())
			return
		}
	}
	if _, pattern := s.mux.Handler(r); pattern == "" {
		notFound(w)
		return
	}
	s.mux.ServeHTTP(w, r)
}

// json is b as GET /batches/{batch_id} answers it; s.mu must be held.
// completed_at and response_body_url are "" until the batch is finished.
func (b *batch) json() map[string]any {
	finished := 0
	if b.results != nil {
		finished = len(b.results)
	}
	out := map[string]any{"id": b.id, "status": b.status, "total_operations": len(b.ops),
		"finished_operations": finished, "errored_operations": b.errored,
		"submitted_at": b.submitted.UTC().Format(time.RFC3339), "completed_at": "", "response_body_url": ""}
	if b.status == "finished" {
		out["completed_at"] = b.completed.UTC().Format(time.RFC3339)
		out["response_body_url"] = fmt.Sprintf("%s%s%s-response.tar.gz?Expires=%d&Signature=simulated",
			b.base, resultsPrefix, b.id, b.completed.Add(resultsTTL).Unix())
	}
	return out
}

func newID() string {
	b := make([]byte, 5)
	crand.Read(b)
	return hex.EncodeToString(b)
}

// recorder keeps an operation's answer.
type recorder struct {
	header http.Header
	status int
	body   bytes.Buffer
}

func (r *recorder) Header() http.Header { return r.header }
func (r *recorder) WriteHeader(code int) {
	if r.status == 0 {
		r.status = code
	}
}
func (r *recorder) Write(b []byte) (int, error) {
	if r.status == 0 {
		r.status = http.StatusOK
	}
	return r.body.Write(b)
}
