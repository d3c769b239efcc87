package brevosim

import (
	"encoding/json"
	"io"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"
)

// DefaultOtherHourlyLimit is Brevo's general-tier limit of the "other"
// bucket, where the batch endpoints and /processes count: 100 requests an
// hour (Options.OtherHourlyLimit).
const DefaultOtherHourlyLimit = 100

// Import is the server's record of one POST /contacts/import.
type Import struct {
	ProcessID int64
	Status    string // queued, in_process, completed, failed
	Contacts  int    // rows in the body
	ListIDs   []int64
	Bytes     int // size of the request body
	CreatedAt time.Time

	// Counts of the applied import, as GET /processes reports them.
	InvalidEmails, Duplicates int

	rows  []importRow
	opts  importOptions
	error string
}

type importRow struct {
	email string
	attrs map[string]any
}

type importOptions struct {
	listIDs                      []int64
	updateExisting, emptyAttrs   bool
	emailBlacklist, smsBlacklist bool
}

// Imports returns the contact imports received, oldest first.
func (s *Server) Imports() []Import {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]Import, 0, len(s.imports))
	for _, p := range s.imports {
		c := *p
		c.ListIDs, c.rows = slices.Clone(p.ListIDs), nil
		out = append(out, c)
	}
	return out
}

// FailImports makes the next n contact imports fail: their process ends
// "failed" and nothing of them is applied.
func (s *Server) FailImports(n int) { s.mu.Lock(); s.failImports = n; s.mu.Unlock() }

func (s *Server) importRoutes() {
	s.mux.HandleFunc("POST /contacts/import", s.handleContactImport)
	s.mux.HandleFunc("GET /processes", s.handleProcessList)
	s.mux.HandleFunc("GET /processes/{processId}", s.handleProcessGet)
	s.mux.HandleFunc("POST /products/batch", s.handleProductBatch)
}

// importBody is the body of POST /contacts/import.
type importBody struct {
	JSONBody []map[string]any `json:"jsonBody"`
	FileBody *string          `json:"fileBody"`
	FileURL  *string          `json:"fileUrl"`
	ListIDs  []int64          `json:"listIds"`
	NewList  *struct {
		ListName string `json:"listName"`
	} `json:"newList"`
	UpdateExistingContacts  *bool `json:"updateExistingContacts"`
	EmptyContactsAttributes bool  `json:"emptyContactsAttributes"`
	EmailBlacklist          bool  `json:"emailBlacklist"`
	SMSBlacklist            bool  `json:"smsBlacklist"`
}

// handleContactImport accepts an import (202 {processId}) and applies it
// in the background, after Options.ImportDelay: the process is queued for
// the first half of the delay, in_process for the second, and completed
// once applied. With no delay it is applied before the answer.
func (s *Server) handleContactImport(w http.ResponseWriter, r *http.Request) {
	var b importBody
	data, _ := io.ReadAll(r.Body)
	if err := json.Unmarshal(data, &b); err != nil {
		badRequest("invalid_parameter", "Input must be a valid JSON object").write(w)
		return
	}
	given := 0
	for _, ok := range []bool{b.JSONBody != nil, b.FileBody != nil, b.FileURL != nil} {
		if ok {
			given++
		}
	}
	switch {
	case given == 0:
		badRequest("missing_parameter", "fileUrl, fileBody or jsonBody is mandatory").write(w)
		return
	case given > 1:
		badRequest("invalid_parameter", "send only one of fileUrl, fileBody and jsonBody").write(w)
		return
	case b.FileURL != nil:
		badRequest("invalid_parameter", "the simulator cannot fetch fileUrl; send fileBody or jsonBody").write(w)
		return
	case len(b.ListIDs) == 0 && (b.NewList == nil || b.NewList.ListName == ""):
		badRequest("missing_parameter", "listIds is mandatory if newList is not defined").write(w)
		return
	}
	rows := make([]importRow, 0, len(b.JSONBody))
	for _, item := range b.JSONBody {
		row := importRow{attrs: map[string]any{}}
		row.email, _ = item["email"].(string)
		if a, ok := item["attributes"].(map[string]any); ok {
			row.attrs = a
		}
		rows = append(rows, row)
	}
	if b.FileBody != nil {
		var e *apiError
		if rows, e = parseFileBody(*b.FileBody); e != nil {
			e.write(w)
			return
		}
	}
	opts := importOptions{listIDs: b.ListIDs, updateExisting: b.UpdateExistingContacts == nil || *b.UpdateExistingContacts,
		emailBlacklist: b.EmailBlacklist, smsBlacklist: b.SMSBlacklist}
	opts.emptyAttrs = b.EmptyContactsAttributes && opts.updateExisting

	s.mu.Lock()
	s.nextProcess++
	p := &Import{ProcessID: s.nextProcess, Status: "queued", Contacts: len(rows), ListIDs: slices.Clone(b.ListIDs),
		Bytes: len(data), CreatedAt: s.now(), rows: rows, opts: opts}
	if s.failImports > 0 {
		s.failImports--
		p.error = "Import failed: the file could not be processed"
	}
	s.imports = append(s.imports, p)
	delay := s.importDelay
	if delay <= 0 {
		s.finishImport(p)
	}
	s.mu.Unlock()
	if delay > 0 {
		time.AfterFunc(delay/2, func() {
			s.mu.Lock()
			if p.Status == "queued" {
				p.Status = "in_process"
			}
			s.mu.Unlock()
		})
		time.AfterFunc(delay, func() { s.mu.Lock(); s.finishImport(p); s.mu.Unlock() })
	}
	writeJSON(w, http.StatusAccepted, map[string]int64{"processId": p.ProcessID})
}

// parseFileBody reads a CSV fileBody: a header line of attribute names
// (EMAIL for the email), then one contact a line, fields separated by
// semicolons.
func parseFileBody(body string) ([]importRow, *apiError) {
	lines := strings.Split(strings.ReplaceAll(body, "\r\n", "\n"), "\n")
	header := strings.Split(strings.TrimSpace(lines[0]), ";")
	if len(header) == 0 || header[0] == "" {
		return nil, badRequest("invalid_parameter", "fileBody needs a header line of attribute names")
	}
	var rows []importRow
	for _, line := range lines[1:] {
		if strings.TrimSpace(line) == "" {
			continue
		}
		row := importRow{attrs: map[string]any{}}
		for i, v := range strings.Split(line, ";") {
			if i >= len(header) {
				break
			}
			name := strings.ToUpper(strings.TrimSpace(header[i]))
			if name == "EMAIL" {
				row.email = strings.TrimSpace(v)
				continue
			}
			row.attrs[name] = v
		}
		rows = append(rows, row)
	}
	return rows, nil
}

// finishImport applies a process's rows as Brevo documents an import; s.mu
// is held. An import updates attributes and adds list memberships, and
// can set a blocklist flag (emailBlacklist, or an EMAIL_BLACKLIST column),
// but it never clears one: a blocklisted contact stays blocklisted whatever
// the import says.
func (s *Server) finishImport(p *Import) {
	if p.Status == "completed" || p.Status == "failed" {
		return
	}
	if p.error != "" {
		p.Status, p.rows = "failed", nil
		return
	}
	for _, row := range p.rows {
		s.importRow(p, row)
	}
	p.Status, p.rows = "completed", nil
}

func (s *Server) importRow(p *Import, row importRow) {
	email := strings.ToLower(strings.TrimSpace(row.email))
	if email != "" && !validEmail(email) {
		p.InvalidEmails++
		return
	}
	b := &contactBody{email: email, attrs: map[string]any{}, ListIDs: p.opts.listIDs}
	blockEmail, blockSMS := p.opts.emailBlacklist, p.opts.smsBlacklist
	for k, v := range row.attrs {
		k = strings.ToUpper(k)
		if str, ok := v.(string); ok && str == "" && !p.opts.emptyAttrs {
			continue
		}
		switch k {
		case "EXT_ID":
			b.extID, _ = v.(string)
			continue
		case "EMAIL_BLACKLIST", "BLACKLIST", "EMAILBLACKLISTED":
			blockEmail = blockEmail || truthy(v)
			continue
		case "SMS_BLACKLIST", "SMSBLACKLISTED":
			blockSMS = blockSMS || truthy(v)
			continue
		case "SMS":
			if sms, ok := normalizeSMS(v); ok {
				b.sms, b.hasSMS = sms, true
			}
			continue
		}
		if typ, ok := s.attrType(k); ok && k != "EMAIL" && (validValue(typ, v) || v == "") {
			b.attrs[k] = v
		}
	}
	if b.email == "" && b.extID == "" && !b.hasSMS {
		p.InvalidEmails++
		return
	}
	target := firstOf(s.findBy(b.email, "email"), s.findBy(b.extID, "ext_id"), s.findBy(b.sms, "sms"))
	if target != nil && !p.opts.updateExisting {
		p.Duplicates++
		return
	}
	if blockEmail {
		b.EmailBlacklisted = ptrTo(true)
	}
	if blockSMS {
		b.SMSBlacklisted = ptrTo(true)
	}
	if target == nil {
		target = &Contact{ID: s.nextID, Attributes: map[string]any{}, CreatedAt: s.now()}
		if s.apply(target, b) != nil {
			p.Duplicates++
			return
		}
		s.nextID++
		s.contacts[target.ID] = target
		s.reindex(target)
		return
	}
	if s.apply(target, b) != nil {
		p.Duplicates++
	}
}

func truthy(v any) bool {
	switch v := v.(type) {
	case bool:
		return v
	case string:
		b, _ := strconv.ParseBool(strings.TrimSpace(v))
		return b || strings.EqualFold(strings.TrimSpace(v), "yes")
	case json.Number:
		return v.String() != "0"
	}
	return false
}

func ptrTo[T any](v T) *T { return &v }

func (p *Import) json() map[string]any {
	m := map[string]any{"id": p.ProcessID, "name": "IMPORTUSER", "status": p.Status,
		"created_at": p.CreatedAt.UTC().Format("2006-01-02T15:04:05.000Z")}
	switch p.Status {
	case "completed":
		m["info"] = map[string]any{"import": map[string]any{"invalid_emails": p.InvalidEmails, "duplicate_email_id": p.Duplicates}}
	case "failed":
		m["error"] = p.error
	}
	return m
}

func (s *Server) handleProcessGet(w http.ResponseWriter, r *http.Request) {
	id, err := strconv.ParseInt(r.PathValue("processId"), 10, 64)
	s.mu.Lock()
	var p *Import
	if err == nil {
		if i := slices.IndexFunc(s.imports, func(p *Import) bool { return p.ProcessID == id }); i >= 0 {
			p = s.imports[i]
		}
	}
	if p == nil {
		s.mu.Unlock()
		writeJSON(w, http.StatusNotFound, errorBody{Code: "invalid_parameter", Message: "processId is invalid"})
		return
	}
	body := p.json()
	s.mu.Unlock()
	writeJSON(w, http.StatusOK, body)
}

func (s *Server) handleProcessList(w http.ResponseWriter, r *http.Request) {
	limit, offset, e := page(r, 10, 50)
	if e != nil {
		e.write(w)
		return
	}
	s.mu.Lock()
	all := slices.Clone(s.imports)
	if r.URL.Query().Get("sort") != "asc" {
		slices.Reverse(all)
	}
	list := []map[string]any{}
	for _, p := range pageOf(all, limit, offset) {
		list = append(list, p.json())
	}
	n := len(all)
	s.mu.Unlock()
	writeJSON(w, http.StatusOK, map[string]any{"count": n, "processes": list})
}

// handleProductBatch creates or updates up to 100 products (201
// {createdCount, updatedCount}). A product that cannot be upserted refuses
// the whole batch, before anything is applied.
func (s *Server) handleProductBatch(w http.ResponseWriter, r *http.Request) {
	var b struct {
		Products      []productBody `json:"products"`
		UpdateEnabled bool          `json:"updateEnabled"`
	}
	if e := decodeJSON(r, &b); e != nil {
		e.write(w)
		return
	}
	if b.Products == nil {
		badRequest("missing_parameter", "products is mandatory").write(w)
		return
	}
	if len(b.Products) > 100 {
		badRequest("out_of_range", "a batch holds at most 100 products").write(w)
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, p := range b.Products {
		if p.ID == nil || *p.ID == "" {
			badRequest("missing_parameter", "id is mandatory").write(w)
			return
		}
		_, exists := s.commerce.products[*p.ID]
		if e := upsertRefusal("Product", exists, b.UpdateEnabled, p.Name); e != nil {
			e.write(w)
			return
		}
	}
	var created, updated int
	for i := range b.Products {
		p := &b.Products[i]
		p.UpdateEnabled = b.UpdateEnabled
		if _, exists, _ := s.upsertProduct(p); exists {
			updated++
		} else {
			created++
		}
	}
	writeJSON(w, http.StatusCreated, map[string]int{"createdCount": created, "updatedCount": updated})
}
