package klaviyo

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"sync"

	"synclayer"
)

// Limits of one bulk profile import job, from the description of POST
// /api/profile-bulk-import-jobs: "up to 10,000 profiles per request",
// "maximum allowed payload size is 5MB", "per-profile is 100KB". The
// sizes are read as decimal units, the smaller reading.
const (
	MaxBulkImportProfiles = 10000
	MaxBulkImportBytes    = 5_000_000
	MaxBulkProfileBytes   = 100_000
)

// Bulk import job statuses. The spec's enum is queued, processing,
// complete and cancelled; BulkFailed is not in it, but a job that fails
// as a whole is handled as one that was cancelled.
const (
	BulkQueued     = "queued"
	BulkProcessing = "processing"
	BulkComplete   = "complete"
	BulkCancelled  = "cancelled"
	BulkFailed     = "failed"
)

// BulkImportJob is a profile bulk import job as Klaviyo reports it.
type BulkImportJob struct {
	ID        string
	Status    string // BulkQueued, BulkProcessing, BulkComplete, BulkCancelled
	Total     int    // total_count: the profiles sent
	Completed int    // completed_count
	Failed    int    // failed_count: the profiles Klaviyo refused
}

// ImportError is one profile a bulk import job refused. Email and
// ExternalID are those of the profile as sent (original_payload), which
// is how a refusal finds its row; Pointer is source.pointer.
type ImportError struct {
	Code, Title, Detail string
	Pointer             string
	Email, ExternalID   string
}

// rowKey identifies one profile of a job sent, in order.
type rowKey struct{ email, externalID string }

// jobMemory keeps the row keys of the last bulk jobs sent, so the import
// errors of a job can be mapped back to row indexes. It lives as long as
// the client: after a restart a job is unknown, and CheckBatch falls
// back on the error's pointer, then on refusing every row.
type jobMemory struct {
	mu    sync.Mutex
	rows  map[string][]rowKey
	order []string
}

// maxJobsKept bounds jobMemory; a job is forgotten once checked done.
const maxJobsKept = 256

func (m *jobMemory) put(id string, keys []rowKey) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.rows == nil {
		m.rows = map[string][]rowKey{}
	}
	if len(m.order) >= maxJobsKept {
		delete(m.rows, m.order[0])
		m.order = m.order[1:]
	}
	m.rows[id] = keys
	m.order = append(m.order, id)
}

func (m *jobMemory) get(id string) ([]rowKey, bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	keys, ok := m.rows[id]
	return keys, ok
}

func (m *jobMemory) forget(id string) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if _, ok := m.rows[id]; !ok {
		return
	}
	delete(m.rows, id)
	for i, x := range m.order {
		if x == id {
			m.order = append(m.order[:i], m.order[i+1:]...)
			break
		}
	}
}

// CreateBulkImport starts a bulk import job of profiles, each a profile
// resource object ({"type":"profile","attributes":{...}}), and returns it
// as Klaviyo answered (202, usually queued). It sends no list: a job's
// list relationship is not used (docs/platforms/klaviyo.md). More than
// MaxBulkImportProfiles profiles or a body over MaxBulkImportBytes is a
// permanent error before any request.
func (c *Client) CreateBulkImport(ctx context.Context, profiles []json.RawMessage) (*BulkImportJob, error) {
	const route = "/api/profile-bulk-import-jobs"
	k := call{method: http.MethodPost, route: route, path: route}
	if len(profiles) == 0 || len(profiles) > MaxBulkImportProfiles {
		return nil, synclayer.Permanent(c.wrap(k, fmt.Errorf("a bulk import job takes 1 to %d profiles, not %d", MaxBulkImportProfiles, len(profiles))))
	}
	keys := make([]rowKey, len(profiles))
	for i, p := range profiles {
		var o struct {
			Type       string `json:"type"`
			Attributes struct {
				Email      string `json:"email"`
				ExternalID string `json:"external_id"`
			} `json:"attributes"`
		}
		if err := json.Unmarshal(p, &o); err != nil || o.Type != "profile" {
			return nil, synclayer.Permanent(c.wrap(k, fmt.Errorf("profile %d is not a profile resource object", i)))
		}
		keys[i] = rowKey{email: o.Attributes.Email, externalID: o.Attributes.ExternalID}
	}
	body, err := json.Marshal(map[string]any{"data": map[string]any{
		"type":       "profile-bulk-import-job",
		"attributes": map[string]any{"profiles": map[string]any{"data": profiles}},
	}})
	if err != nil {
		return nil, synclayer.Permanent(c.wrap(k, fmt.Errorf("encode body: %w", err)))
	}
	if len(body) > MaxBulkImportBytes {
		return nil, synclayer.Permanent(c.wrap(k, fmt.Errorf("the job's body is %d bytes, over Klaviyo's %d", len(body), MaxBulkImportBytes)))
	}
	var w jobDoc
	k.body, k.out = json.RawMessage(body), &w
	if _, err := c.do(ctx, k); err != nil {
		return nil, err
	}
	job := w.Data.job()
	c.jobs.put(job.ID, keys)
	return job, nil
}

// GetBulkImport returns bulk import job id. An unknown ID is a permanent
// error for which IsNotFound is true.
func (c *Client) GetBulkImport(ctx context.Context, id string) (*BulkImportJob, error) {
	var w jobDoc
	k := call{method: http.MethodGet, route: "/api/profile-bulk-import-jobs/{id}", path: "/api/profile-bulk-import-jobs/" + url.PathEscape(id), out: &w}
	if _, err := c.do(ctx, k); err != nil {
		return nil, err
	}
	return w.Data.job(), nil
}

// BulkImportErrors returns every import error of job id, reading all
// pages (100 a page).
func (c *Client) BulkImportErrors(ctx context.Context, id string) ([]ImportError, error) {
	var out []ImportError
	cursor := ""
	for page := 0; page <= MaxBulkImportProfiles/100; page++ {
		k := call{method: http.MethodGet, route: "/api/profile-bulk-import-jobs/{id}/import-errors",
			path: "/api/profile-bulk-import-jobs/" + url.PathEscape(id) + "/import-errors", query: url.Values{"page[size]": {"100"}}}
		if cursor != "" {
			k.query.Set("page[cursor]", cursor)
		}
		var w struct {
			Data []struct {
				Attributes struct {
					Code    string                     `json:"code"`
					Title   string                     `json:"title"`
					Detail  string                     `json:"detail"`
					Source  *ErrorSource               `json:"source"`
					Payload map[string]json.RawMessage `json:"original_payload"`
				} `json:"attributes"`
			} `json:"data"`
			Links struct {
				Next string `json:"next"`
			} `json:"links"`
		}
		k.out = &w
		if _, err := c.do(ctx, k); err != nil {
			return nil, err
		}
		for _, d := range w.Data {
			a := d.Attributes
			e := ImportError{Code: a.Code, Title: a.Title, Detail: a.Detail}
			if a.Source != nil {
				e.Pointer = a.Source.Pointer
			}
			e.Email, e.ExternalID = payloadKeys(a.Payload)
			out = append(out, e)
		}
		if cursor = nextCursor(w.Links.Next); cursor == "" {
			return out, nil
		}
	}
	return out, nil
}

// payloadKeys reads email and external_id from an import error's
// original_payload, which may be the profile's attributes or the whole
// profile resource object.
func payloadKeys(p map[string]json.RawMessage) (email, externalID string) {
	if raw, ok := p["attributes"]; ok {
		var inner map[string]json.RawMessage
		if json.Unmarshal(raw, &inner) == nil {
			p = inner
		}
	}
	_ = json.Unmarshal(p["email"], &email)
	_ = json.Unmarshal(p["external_id"], &externalID)
	return email, externalID
}

// nextCursor is the page[cursor] of a links.next URL, or "".
func nextCursor(next string) string {
	if next == "" {
		return ""
	}
	u, err := url.Parse(next)
	if err != nil {
		return ""
	}
	return strings.TrimSpace(u.Query().Get("page[cursor]"))
}

// jobDoc is the answer to a job's create or get.
type jobDoc struct {
	Data jobObject `json:"data"`
}

// jobObject is a profile-bulk-import-job resource object.
type jobObject struct {
	ID         string `json:"id"`
	Attributes struct {
		Status         string `json:"status"`
		TotalCount     int    `json:"total_count"`
		CompletedCount *int   `json:"completed_count"`
		FailedCount    *int   `json:"failed_count"`
	} `json:"attributes"`
}

func (o jobObject) job() *BulkImportJob {
	a := o.Attributes
	j := &BulkImportJob{ID: o.ID, Status: a.Status, Total: a.TotalCount}
	if a.CompletedCount != nil {
		j.Completed = *a.CompletedCount
	}
	if a.FailedCount != nil {
		j.Failed = *a.FailedCount
	}
	return j
}
