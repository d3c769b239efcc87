package mailchimp

import (
	"archive/tar"
	"compress/gzip"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"

	"synclayer"
)

// Batch statuses, in the order Mailchimp moves a batch through them. Only
// a finished batch has results.
const (
	BatchPending       = "pending"
	BatchPreprocessing = "preprocessing"
	BatchStarted       = "started"
	BatchFinalizing    = "finalizing"
	BatchFinished      = "finished"
)

// BatchOperation is one request of a batch. Body is the request's JSON
// body as a string, as Mailchimp takes it; OperationID comes back with the
// operation's result, so a result can be matched to its request.
type BatchOperation struct {
	Method      string `json:"method"`
	Path        string `json:"path"`
	Body        string `json:"body,omitempty"`
	OperationID string `json:"operation_id,omitempty"`
}

// Batch is the status of a batch request. ResponseBodyURL, set once the
// batch is finished, is a gzipped tar archive of every operation's result.
type Batch struct {
	ID                 string `json:"id"`
	Status             string `json:"status"`
	TotalOperations    int    `json:"total_operations"`
	FinishedOperations int    `json:"finished_operations"`
	ErroredOperations  int    `json:"errored_operations"`
	SubmittedAt        string `json:"submitted_at,omitempty"`
	CompletedAt        string `json:"completed_at,omitempty"`
	ResponseBodyURL    string `json:"response_body_url,omitempty"`
}

// OperationResult is one operation's entry in a batch's results archive:
// its HTTP status, the operation_id it was sent with, and its answer body
// as a JSON string (a problem document when it failed).
type OperationResult struct {
	StatusCode  int    `json:"status_code"`
	OperationID string `json:"operation_id"`
	Response    string `json:"response"`
}

// Problem decodes a failed operation's answer like a direct one, with
// email addresses redacted.
func (r OperationResult) Problem() *APIError { return parseAPIError(r.StatusCode, []byte(r.Response)) }

// maxArchive caps a results archive, compressed and unpacked.
const maxArchive = 64 << 20

// titleArchiveGone titles the error of a results download answered 4xx.
const titleArchiveGone = "Batch Results Unavailable"

// StartBatch submits ops as one batch (POST /batches) and returns it,
// usually pending. Mailchimp answers 429 while the account has 500
// batches pending; that comes back as synclayer.RetryAfter.
func (c *Client) StartBatch(ctx context.Context, ops []BatchOperation) (*Batch, error) {
	b := &Batch{}
	body := struct {
		Operations []BatchOperation `json:"operations"`
	}{ops}
	if _, err := c.do(ctx, call{method: http.MethodPost, route: "/batches", path: "/batches", body: body, out: b}); err != nil {
		return nil, err
	}
	if b.ID == "" {
		return nil, errors.New("mailchimp: POST /batches: the answer has no batch id")
	}
	return b, nil
}

// GetBatch returns the status of batch id (GET /batches/{batch_id}); an
// *APIError with status 404 (IsNotFound) when Mailchimp holds no such
// batch.
func (c *Client) GetBatch(ctx context.Context, id string) (*Batch, error) {
	b := &Batch{}
	_, err := c.do(ctx, call{method: http.MethodGet, route: "/batches/{batch_id}", path: "/batches/" + url.PathEscape(id), out: b})
	if err != nil {
		return nil, err
	}
	return b, nil
}

// BatchResults downloads and unpacks a finished batch's results archive.
// The archive lives outside the API (a storage link), so the request
// carries no API key, which must not travel to another host, and may
// follow redirects; it still holds a connection slot. A 4xx answer (the
// link expired) is an *APIError titled "Batch Results Unavailable".
func (c *Client) BatchResults(ctx context.Context, link string) ([]OperationResult, error) {
	u, err := url.Parse(link)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		return nil, synclayer.Permanent(errors.New("mailchimp: the batch's response_body_url is not an http(s) URL"))
	}
	waited, err := c.slots.acquire(ctx)
	if err != nil {
		return nil, err
	}
	defer c.slots.release()
	if waited > 0 && c.onWait != nil {
		c.onWait("connections", waited)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, link, nil)
	if err != nil {
		return nil, synclayer.Permanent(errors.New("mailchimp: build the results request"))
	}
	hc := *c.http
	// No credentials to carry elsewhere, so redirects may be followed;
	// the link is signed, so only its name is logged.
	hc.CheckRedirect = nil
	k := call{method: http.MethodGet, route: "{response_body_url}"}
	start := time.Now()
	resp, err := hc.Do(req)
	if err != nil {
		err = transportError(err)
		c.logRequest(ctx, k, 0, time.Since(start), "", err)
		return nil, fmt.Errorf("mailchimp: download batch results: %w", err)
	}
	defer resp.Body.Close()
	c.logRequest(ctx, k, resp.StatusCode, time.Since(start), "", nil)
	if resp.StatusCode/100 != 2 {
		e := &APIError{Status: resp.StatusCode, Title: titleArchiveGone}
		return nil, fmt.Errorf("mailchimp: download batch results: %w", e)
	}
	results, err := readResults(io.LimitReader(resp.Body, maxArchive))
	if err != nil {
		return nil, fmt.Errorf("mailchimp: read batch results: %w", err)
	}
	return results, nil
}

// archiveGone reports whether err is a results download answered 4xx
// (other than 408 and 429): the archive will not come back.
func archiveGone(err error) bool {
	var e *APIError
	return errors.As(err, &e) && e.Title == titleArchiveGone && e.Status/100 == 4 &&
		e.Status != http.StatusRequestTimeout && e.Status != http.StatusTooManyRequests
}

// readResults reads every .json file of a gzipped tar archive, each an
// array of results, and skips every other entry (directories).
func readResults(r io.Reader) ([]OperationResult, error) {
	zr, err := gzip.NewReader(r)
	if err != nil {
		return nil, err
	}
	defer zr.Close()
	tr := tar.NewReader(io.LimitReader(zr, maxArchive))
	var out []OperationResult
	for {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			return out, nil
		}
		if err != nil {
			return nil, err
		}
		if h.Typeflag != tar.TypeReg || !strings.HasSuffix(h.Name, ".json") {
			continue
		}
		var part []OperationResult
		if err := json.NewDecoder(tr).Decode(&part); err != nil {
			return nil, fmt.Errorf("%s: %w", h.Name, err)
		}
		out = append(out, part...)
	}
}
