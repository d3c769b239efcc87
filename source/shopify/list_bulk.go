package shopify

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"sync"
	"time"

	"synclayer"
)

// A full customer listing of a large shop is one bulk operation
// (docs/platforms/shopify.md, "Bulk operations"): Shopify runs the query
// on its side, with no query cost limit, and writes every customer to a
// JSONL file; synclayer then reads the file a page at a time. The cursor
// holds the operation's id and the byte offset of the next line, so a
// backfill that was killed reads on in the same file; the file's URL,
// which grants anyone who holds it the shop's customers, is kept in
// memory and asked from currentBulkOperation again after a restart, never
// written into the cursor.
const (
	bulkRunOp     = "bulkOperationRunQuery"
	bulkRunQuery  = `mutation bulkOperationRunQuery($query: String!) { bulkOperationRunQuery(query: $query) { bulkOperation { id status } userErrors { field message code } } }`
	bulkCurrentOp = "currentBulkOperation"
	// currentBulkOperation is asked without its type argument, which is
	// QUERY by default.
	bulkCurrentQuery = `query currentBulkOperation { currentBulkOperation { id type status errorCode objectCount createdAt url query } }`
	// customersBulkQuery is the bulk operation's query: every customer,
	// with the fields a page selects.
	customersBulkQuery = `{ customers { edges { node { ` + customerFields + ` } } } }`
)

// Bulk listing limits: lines to a page by default, how long one List call
// waits for a running operation before it answers Throttled, and the
// longest line read.
const (
	bulkPageLines = 250
	bulkMaxWait   = 45 * time.Second
	maxBulkLine   = 1 << 20
)

// bulkCache keeps the result URL of each completed operation this
// process polled, so the pages of one backfill do not ask for it again.
type bulkCache struct {
	mu   sync.Mutex
	urls map[string]string
}

// bulkFirstPoll is the first wait between two polls of a running
// operation, doubled up to 5 s: Shopify's guide polls every few seconds.
const bulkFirstPoll = time.Second

func (b *bulkCache) get(id string) string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.urls[id]
}

func (b *bulkCache) set(id, url string) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.urls == nil {
		b.urls = map[string]string{}
	}
	if url == "" {
		delete(b.urls, id)
		return
	}
	b.urls[id] = url
}

// bulkOperation is a BulkOperation as the queries select it.
type bulkOperation struct {
	ID          string    `json:"id"`
	Type        string    `json:"type"`
	Status      string    `json:"status"`
	ErrorCode   string    `json:"errorCode"`
	ObjectCount string    `json:"objectCount"` // UnsignedInt64, a string
	CreatedAt   time.Time `json:"createdAt"`
	URL         string    `json:"url"`
	Query       string    `json:"query"`
}

// startBulk runs the customers bulk query and reads the first page of
// its file.
func (s *Source) startBulk(ctx context.Context, req synclayer.ListRequest, c listCursor) (synclayer.ListPage, error) {
	op, err := s.runBulk(ctx)
	if err != nil {
		return synclayer.ListPage{}, err
	}
	return s.bulkPage(ctx, req, listCursor{Kind: c.Kind, Total: c.Total, Bulk: op.ID})
}

// runBulk starts the customers bulk query. One of this query that is
// already running (a backfill killed before its first page, another
// instance's) is read instead of starting another, which Shopify would
// refuse; another query of the app's makes it wait (Throttled).
func (s *Source) runBulk(ctx context.Context) (*bulkOperation, error) {
	var out struct {
		BulkOperation *bulkOperation `json:"bulkOperation"`
		UserErrors    []userError    `json:"userErrors"`
	}
	if err := s.admin.query(ctx, bulkRunOp, bulkRunQuery, mutationCost, map[string]any{"query": customersBulkQuery}, &out); err != nil {
		return nil, err
	}
	op := out.BulkOperation
	if len(out.UserErrors) > 0 {
		ue := out.UserErrors[0]
		if ue.Code != "OPERATION_IN_PROGRESS" {
			return nil, synclayer.Permanent(&APIError{Status: http.StatusOK, Op: bulkRunOp, Code: ue.Code, Field: ue.Field, code: synclayer.EINVALID,
				Message: "Shopify refused the bulk query of customers: " + s.admin.scrub(ue.Message)})
		}
		cur, err := s.currentBulk(ctx)
		if err != nil {
			return nil, err
		}
		if cur == nil || cur.Query != customersBulkQuery {
			return nil, synclayer.Throttled(&APIError{Status: http.StatusOK, Op: bulkRunOp, Code: ue.Code,
				Message: "another bulk query of this app is running on " + s.admin.shop + " (Shopify runs one at a time); synclayer tries again when it has ended"}, 30*time.Second)
		}
		op = cur
	}
	if op == nil || op.ID == "" {
		return nil, fmt.Errorf("shopify: %s: the answer names no bulk operation", bulkRunOp)
	}
	return op, nil
}

// currentBulk is the app's latest bulk query operation, or nil.
func (s *Source) currentBulk(ctx context.Context) (*bulkOperation, error) {
	var out *bulkOperation
	err := s.admin.query(ctx, bulkCurrentOp, bulkCurrentQuery, 1, nil, &out)
	var none *noDataError
	if errors.As(err, &none) {
		return nil, nil // null before the app's first operation
	}
	return out, err
}

// bulkPage reads the page of c's operation at c.Offset, waiting for the
// operation to complete first. An operation that is gone (a later one
// replaced it, it failed or expired) or whose file's URL no longer
// answers is started again from the first line, once per call: the lines
// already read come again, and their DedupeKeys make them count once.
func (s *Source) bulkPage(ctx context.Context, req synclayer.ListRequest, c listCursor) (synclayer.ListPage, error) {
	for restarted := false; ; restarted = true {
		url, op, err := s.bulkURL(ctx, &c)
		if err == nil && url == "" && op != nil {
			// Completed with no customer: the file is empty.
			return synclayer.ListPage{Total: c.Total, Next: listCursor{Kind: c.Kind, Since: c.Since.Add(-indexLag), Total: -1}.encode()}, nil
		}
		if errors.Is(err, errBulkGone) && !restarted {
			if c, err = s.restartBulk(ctx, c); err != nil {
				return synclayer.ListPage{}, err
			}
			continue
		}
		if err != nil {
			return synclayer.ListPage{}, err
		}
		p, err := s.readBulk(ctx, req, c, url)
		if errors.Is(err, errBulkGone) && !restarted {
			s.bulk.set(c.Bulk, "")
			if c, err = s.restartBulk(ctx, c); err != nil {
				return synclayer.ListPage{}, err
			}
			continue
		}
		return p, err
	}
}

// errBulkGone is an operation that cannot be read on: start another.
var errBulkGone = errors.New("shopify: the bulk operation's results are gone")

// restartBulk is c on a new operation, from its first line.
func (s *Source) restartBulk(ctx context.Context, c listCursor) (listCursor, error) {
	op, err := s.runBulk(ctx)
	if err != nil {
		return c, err
	}
	return listCursor{Kind: c.Kind, Total: c.Total, Bulk: op.ID}, nil
}

// bulkURL waits for c's operation to complete and returns its file's URL
// ("" for an operation that found nothing), setting c.Since to the
// operation's start (where the listing after it begins) and c.Total to
// its object count. errBulkGone says to start another.
func (s *Source) bulkURL(ctx context.Context, c *listCursor) (string, *bulkOperation, error) {
	if url := s.bulk.get(c.Bulk); url != "" {
		return url, nil, nil
	}
	wait, deadline := bulkFirstPoll, time.Now().Add(bulkMaxWait)
	for {
		op, err := s.currentBulk(ctx)
		if err != nil {
			return "", nil, err
		}
		if op == nil || op.ID != c.Bulk {
			return "", nil, errBulkGone
		}
		c.Since = op.CreatedAt.UTC()
		if n, err := strconv.Atoi(op.ObjectCount); err == nil && op.Status == "COMPLETED" {
			c.Total = n
		}
		switch op.Status {
		case "COMPLETED":
			s.bulk.set(op.ID, op.URL)
			return op.URL, op, nil
		case "FAILED":
			if op.ErrorCode == "ACCESS_DENIED" {
				return "", nil, synclayer.Permanent(&APIError{Status: http.StatusOK, Op: bulkCurrentOp, Code: op.ErrorCode, Setting: "admin.access_token", code: synclayer.EFORBIDDEN,
					Message: "Shopify's bulk operation was denied access to the customers: the app of admin.access_token needs the read_customers scope"})
			}
			return "", nil, errBulkGone
		case "CANCELED", "CANCELING", "EXPIRED":
			return "", nil, errBulkGone
		}
		if time.Now().Add(wait).After(deadline) {
			return "", nil, synclayer.Throttled(fmt.Errorf("shopify: the bulk operation listing the customers is %s (%s objects so far); synclayer reads it when it completes",
				op.Status, op.ObjectCount), 10*time.Second)
		}
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return "", nil, ctx.Err()
		case <-t.C:
		}
		wait = min(2*wait, 5*time.Second)
	}
}

// readBulk reads up to a page of lines of the file at url from c.Offset.
// The URL is signed: it is fetched without the access token, and asked
// for from the offset on (Range), so a page does not download what came
// before it.
func (s *Source) readBulk(ctx context.Context, req synclayer.ListRequest, c listCursor, url string) (synclayer.ListPage, error) {
	limit := req.Limit
	if limit <= 0 {
		limit = bulkPageLines
	}
	hreq, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return synclayer.ListPage{}, fmt.Errorf("shopify: the bulk operation's URL cannot be read: %w", errBulkGone)
	}
	if c.Offset > 0 {
		hreq.Header.Set("Range", "bytes="+strconv.FormatInt(c.Offset, 10)+"-")
	}
	resp, err := s.admin.download.Do(hreq)
	if err != nil {
		return synclayer.ListPage{}, fmt.Errorf("shopify: download the bulk operation's results: %w", transportError(err))
	}
	defer resp.Body.Close()
	body := io.Reader(resp.Body)
	switch {
	case resp.StatusCode == http.StatusPartialContent:
	case resp.StatusCode == http.StatusOK:
		if _, err := io.CopyN(io.Discard, resp.Body, c.Offset); err != nil {
			return synclayer.ListPage{}, fmt.Errorf("shopify: the bulk operation's file is shorter than the cursor's offset %d: %w", c.Offset, errBulkGone)
		}
	case resp.StatusCode == http.StatusRequestedRangeNotSatisfiable:
		body = bytes.NewReader(nil) // the offset is the file's end
	case resp.StatusCode == http.StatusBadRequest || resp.StatusCode == http.StatusUnauthorized ||
		resp.StatusCode == http.StatusForbidden || resp.StatusCode == http.StatusNotFound || resp.StatusCode == http.StatusGone:
		// A signed URL answers so once it has expired (a week after the
		// operation completed).
		return synclayer.ListPage{}, fmt.Errorf("shopify: the bulk operation's URL answered %d: %w", resp.StatusCode, errBulkGone)
	default:
		return synclayer.ListPage{}, fmt.Errorf("shopify: download the bulk operation's results: %d %s", resp.StatusCode, http.StatusText(resp.StatusCode))
	}
	r := bufio.NewReaderSize(body, 64<<10)
	p := synclayer.ListPage{Total: c.Total}
	now := s.admin.now().UTC()
	for len(p.Events)+len(p.Failed) < limit {
		line, err := r.ReadSlice('\n')
		if errors.Is(err, bufio.ErrBufferFull) {
			var rest []byte
			rest, err = readLine(r, line)
			line = rest
		}
		if len(line) > 0 {
			c.Offset += int64(len(line))
			c.Line++
			if t := bytes.TrimSpace(line); len(t) > 0 {
				s.add(&p, &c, &customerListing, append([]byte(nil), t...), now)
			}
		}
		if errors.Is(err, io.EOF) {
			p.Next = listCursor{Kind: c.Kind, Since: c.Since.Add(-indexLag), Total: -1}.encode()
			return p, nil
		}
		if err != nil {
			return synclayer.ListPage{}, fmt.Errorf("shopify: read the bulk operation's results at line %d: %w", c.Line+1, err)
		}
	}
	if _, err := r.Peek(1); errors.Is(err, io.EOF) {
		p.Next = listCursor{Kind: c.Kind, Since: c.Since.Add(-indexLag), Total: -1}.encode()
		return p, nil
	}
	p.More, p.Next = true, c.encode()
	return p, nil
}

// readLine reads the rest of a line longer than the buffer, up to
// maxBulkLine.
func readLine(r *bufio.Reader, start []byte) ([]byte, error) {
	line := append([]byte(nil), start...)
	for len(line) <= maxBulkLine {
		more, err := r.ReadSlice('\n')
		line = append(line, more...)
		if !errors.Is(err, bufio.ErrBufferFull) {
			return line, err
		}
	}
	return nil, fmt.Errorf("a line is longer than %d bytes", maxBulkLine)
}
