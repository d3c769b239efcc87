package brevo

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"strconv"
)

// MaxImportBytes is the size of a POST /contacts/import body synclayer
// stays under: Brevo allows 10 MB and recommends about 8 MB, since the
// body grows while it is parsed.
const MaxImportBytes = 8 << 20

// Batch limits of Brevo's e-commerce batch endpoints.
const (
	MaxOrderBatch      = 1000    // orders per POST /orders/status/batch
	MaxOrderBatchBytes = 5 << 20 // bytes per POST /orders/status/batch
	MaxProductBatch    = 100     // products per POST /products/batch
)

// ImportContact is one contact of an import's jsonBody. Attributes carry
// EXT_ID (the canonical contact ID) and SMS like any other attribute.
type ImportContact struct {
	Email      string         `json:"email,omitempty"`
	Attributes map[string]any `json:"attributes,omitempty"`
}

// ImportRequest is the body of POST /contacts/import as synclayer sends
// it. It has no blocklist field on purpose: an import never blocklists
// anyone, and cannot unblock anyone either, so consent changes go through
// the single-contact calls.
type ImportRequest struct {
	JSONBody                json.RawMessage `json:"-"` // a JSON array of ImportContact, built by the caller to stay under MaxImportBytes
	ListIDs                 []int64         `json:"listIds"`
	UpdateExistingContacts  bool            `json:"updateExistingContacts"`
	EmptyContactsAttributes bool            `json:"emptyContactsAttributes"`
	DisableNotification     bool            `json:"disableNotification,omitempty"`
}

// ImportContacts starts a contact import (POST /contacts/import, 202) and
// returns Brevo's process ID. The import runs in the background: only a
// completed process (GetProcess) means the contacts are in Brevo.
//
// JSONBody is spliced into the request as it is, not encoded again, since
// it is up to 8 MB: it must be a valid JSON array, as ImportBody builds.
func (c *Client) ImportContacts(ctx context.Context, req ImportRequest) (processID int64, err error) {
	tail, err := json.Marshal(req) // without jsonBody: {"listIds":…}
	if err != nil {
		return 0, err
	}
	body := req.JSONBody
	if len(body) == 0 {
		body = json.RawMessage("[]")
	}
	raw := make([]byte, 0, len(body)+len(tail)+16)
	raw = append(raw, `{"jsonBody":`...)
	raw = append(raw, body...)
	raw = append(raw, ',')
	raw = append(raw, tail[1:]...) // tail is {"listIds":…}
	var out struct {
		ProcessID int64 `json:"processId"`
	}
	if _, err := c.do(ctx, call{method: http.MethodPost, route: "/contacts/import", path: "/contacts/import", raw: raw, out: &out}); err != nil {
		return 0, err
	}
	return out.ProcessID, nil
}

// Process is a Brevo background process, as GET /processes/{id} reports it.
type Process struct {
	ID     int64  `json:"id"`
	Name   string `json:"name"`
	Status string `json:"status"` // queued, in_process (the spec says processing), completed, failed, cancelled
	Error  string `json:"error,omitempty"`
	Info   *struct {
		Import *ImportReport `json:"import"`
	} `json:"info,omitempty"` // for a completed process
}

// ImportReport is what a completed import process says it skipped: Brevo
// counts the rows it left out but does not say which.
type ImportReport struct {
	InvalidEmails      int64 `json:"invalid_emails"`
	DuplicateContactID int64 `json:"duplicate_contact_id"`
	DuplicateExtID     int64 `json:"duplicate_ext_id"`
	DuplicateEmailID   int64 `json:"duplicate_email_id"`
	DuplicatePhoneID   int64 `json:"duplicate_phone_id"`
}

// Skipped is how many rows a completed import left out, by its report.
func (p *Process) Skipped() int64 {
	if p.Info == nil || p.Info.Import == nil {
		return 0
	}
	r := p.Info.Import
	return r.InvalidEmails + r.DuplicateContactID + r.DuplicateExtID + r.DuplicateEmailID + r.DuplicatePhoneID
}

// Done reports whether the process has ended, and whether it succeeded.
func (p *Process) Done() (done, ok bool) {
	switch p.Status {
	case "completed":
		return true, true
	case "failed", "cancelled":
		return true, false
	}
	return false, false
}

// GetProcess reads one background process (GET /processes/{id}). It
// counts against the scarce "other" bucket, so poll sparingly, or read
// many at once with ListProcesses.
func (c *Client) GetProcess(ctx context.Context, id int64) (*Process, error) {
	var p Process
	s := strconv.FormatInt(id, 10)
	if _, err := c.do(ctx, call{method: http.MethodGet, route: "/processes/{processId}", path: "/processes/" + s, out: &p}); err != nil {
		return nil, err
	}
	return &p, nil
}

// ListProcesses reads the newest background processes (GET /processes,
// at most 50), one call for many imports.
func (c *Client) ListProcesses(ctx context.Context, limit int) ([]Process, error) {
	var out struct {
		Count     int64     `json:"count"`
		Processes []Process `json:"processes"`
	}
	q := url.Values{"limit": {strconv.Itoa(min(max(limit, 1), 50))}, "sort": {"desc"}}
	if _, err := c.do(ctx, call{method: http.MethodGet, route: "/processes", path: "/processes", query: q, out: &out}); err != nil {
		return nil, err
	}
	return out.Processes, nil
}

// UpsertProducts creates or updates up to MaxProductBatch products in one
// call (POST /products/batch with updateEnabled, 201). It counts against
// the "other" bucket.
func (c *Client) UpsertProducts(ctx context.Context, products []Product) (created, updated int64, err error) {
	type item struct {
		Product
		UpdateEnabled bool `json:"updateEnabled,omitempty"` // not per product in a batch: shadows Product's
	}
	items := make([]item, len(products))
	for i, p := range products {
		if p.Categories == nil {
			p.Categories = []string{}
		}
		items[i] = item{Product: p}
	}
	body := struct {
		Products      []item `json:"products"`
		UpdateEnabled bool   `json:"updateEnabled"`
	}{items, true}
	var out struct {
		CreatedCount int64 `json:"createdCount"`
		UpdatedCount int64 `json:"updatedCount"`
	}
	if _, err := c.do(ctx, call{method: http.MethodPost, route: "/products/batch", path: "/products/batch", body: body, out: &out}); err != nil {
		return 0, 0, err
	}
	return out.CreatedCount, out.UpdatedCount, nil
}
