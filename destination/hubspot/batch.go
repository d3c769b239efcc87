package hubspot

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync"

	"synclayer"
)

// BatchLimits: HubSpot's batch upsert takes at most 100 inputs; the
// byte bound keeps a call well inside its request size.
func (s *ContactSync) BatchLimits() (maxRows, maxBytes int) { return MaxBatch, 2 << 20 }

// PlanBatch sends a contact in a batch upsert only when the upsert is all
// its plan does: a consent call, an email change, a delete or a property
// to clear goes realtime.
func (s *ContactSync) PlanBatch(c *synclayer.Contact, prev json.RawMessage) (synclayer.BatchRow, error) {
	plan, err := s.Plan(c, prev)
	if err != nil {
		return synclayer.BatchRow{}, err
	}
	if plan.Op == synclayer.PlanNone {
		return synclayer.BatchRow{Unchanged: true}, nil
	}
	row, ok := batchable(plan.Calls)
	if !ok {
		return synclayer.BatchRow{Realtime: "consent, an email change or a delete goes one by one"}, nil
	}
	for _, v := range row.Properties {
		if v == "" {
			return synclayer.BatchRow{Realtime: "a property to clear"}, nil
		}
	}
	return synclayer.BatchRow{Group: "contacts", Row: mustJSON(row), Next: plan.Next}, nil
}

// batchRow is one contact of a batch: its upsert input and, when the
// plan links it to its company, the company's name. Rows queued before
// companies were batched decode with no company.
type batchRow struct {
	UpsertInput
	Company string `json:"synclayerCompany,omitempty"`
}

// batchable reads a plan that a batch can carry: the contact's upsert,
// alone or followed by its company's upsert and the link to it (which
// SendBatch makes for the whole batch in two more calls).
func batchable(calls []synclayer.PlannedCall) (batchRow, bool) {
	var row batchRow
	if len(calls) == 0 || calls[0].Method != "POST" || calls[0].Path != pathUpsert {
		return row, false
	}
	var b upsertBody
	remarshal(calls[0].Body, &b)
	if len(b.Inputs) != 1 {
		return row, false
	}
	row.UpsertInput = b.Inputs[0]
	switch {
	case len(calls) == 1:
		return row, true
	case len(calls) == 3 && calls[1].Path == pathCompanies && calls[2].Path == pathAssociate:
		var cb upsertBody
		remarshal(calls[1].Body, &cb)
		if len(cb.Inputs) != 1 || cb.Inputs[0].Properties["name"] == "" {
			return row, false
		}
		row.Company = cb.Inputs[0].Properties["name"]
		return row, true
	}
	return row, false
}

// batchResults keeps the inputs each batch call refused until CheckBatch
// asks: HubSpot answers a batch upsert at once, so there is no job to
// poll.
var batchResults = struct {
	sync.Mutex
	seq     int
	refused map[string]map[int]string
}{refused: map[string]map[int]string{}}

// SendBatch upserts rows in one call. The job ID it returns only names
// the answer kept in memory; after a restart CheckBatch does not know it
// and the rows are sent again (an upsert is idempotent).
func (s *ContactSync) SendBatch(ctx context.Context, group string, rows []json.RawMessage) (string, error) {
	inputs := make([]UpsertInput, len(rows))
	companies := make([]string, len(rows))
	index := map[string]int{}
	for i, r := range rows {
		var row batchRow
		if err := json.Unmarshal(r, &row); err != nil {
			return "", synclayer.Permanent(fmt.Errorf("hubspot: decode batch row %d: %w", i, err))
		}
		inputs[i], companies[i] = row.UpsertInput, row.Company
		index[strings.ToLower(inputs[i].ID)] = i
	}
	res, err := s.client.UpsertContacts(ctx, inputs)
	if err != nil {
		return "", err
	}
	refused := map[int]string{}
	for _, e := range res.Errors {
		for _, id := range e.Context["ids"] {
			if i, ok := index[strings.ToLower(id)]; ok {
				refused[i] = e.Category + ": " + redact(e.Message)
			}
		}
	}
	if err := s.linkCompanies(ctx, res.Results, companies, index, refused); err != nil {
		return "", err
	}
	batchResults.Lock()
	defer batchResults.Unlock()
	batchResults.seq++
	id := "upsert-" + strconv.Itoa(batchResults.seq)
	batchResults.refused[id] = refused
	return id, nil
}

// CheckBatch reports the inputs the call refused.
func (s *ContactSync) CheckBatch(ctx context.Context, jobID string) (bool, map[int]string, error) {
	batchResults.Lock()
	defer batchResults.Unlock()
	refused, ok := batchResults.refused[jobID]
	if !ok {
		return false, nil, synclayer.Permanent(errors.New("hubspot: the batch's answer is no longer known (a restart): its contacts are sent again"))
	}
	delete(batchResults.refused, jobID)
	return true, refused, nil
}

// linkCompanies upserts the companies of a batch's contacts in one call
// and links each contact to its company in another, so a batch of B2B
// contacts costs three calls, not three per contact. A contact whose
// company HubSpot refused is refused with it (its sync state would
// otherwise say it is linked); an error of either call fails the whole
// batch, which is sent again: every step is an upsert or a link, so a
// repeat changes nothing twice.
func (s *ContactSync) linkCompanies(ctx context.Context, results []Object, companies []string, index map[string]int, refused map[int]string) error {
	var names []string
	seen := map[string]bool{}
	for i, name := range companies {
		if name == "" || refused[i] != "" {
			continue
		}
		if k := synclayer.CompanyKey(name); !seen[k] {
			seen[k] = true
			names = append(names, name)
		}
	}
	if len(names) == 0 {
		return nil
	}
	inputs := make([]UpsertInput, len(names))
	for i, name := range names {
		inputs[i] = UpsertInput{ID: synclayer.CompanyKey(name), IDProperty: CompanyKeyProperty, Properties: map[string]string{"name": name}}
	}
	res, err := s.client.UpsertCompanies(ctx, inputs)
	if err != nil {
		return err
	}
	companyIDs := map[string]string{}
	for _, o := range res.Results {
		// HubSpot answers with the properties written, the key among
		// them; the name is the fallback, folded the same way.
		k := o.Properties[CompanyKeyProperty]
		if k == "" {
			k = synclayer.CompanyKey(o.Properties["name"])
		}
		companyIDs[k] = o.ID
	}
	contactIDs := map[int]string{}
	for _, o := range results {
		if i, ok := index[strings.ToLower(o.Properties["email"])]; ok {
			contactIDs[i] = o.ID
		}
	}
	var links []Link
	var linked []int
	for i, name := range companies {
		if name == "" || refused[i] != "" {
			continue
		}
		co, contact := companyIDs[synclayer.CompanyKey(name)], contactIDs[i]
		if co == "" || contact == "" {
			refused[i] = "hubspot refused the company " + strconv.Quote(name) + ": " + batchReason(res.Errors)
			continue
		}
		links, linked = append(links, Link{FromID: contact, ToID: co}), append(linked, i)
	}
	if len(links) == 0 {
		return nil
	}
	errs, err := s.client.AssociateDefaultBatch(ctx, "contacts", objectCompanies, links)
	if err != nil {
		return err
	}
	for _, e := range errs {
		for _, id := range e.Context["ids"] {
			for j, l := range links {
				if l.FromID == id {
					refused[linked[j]] = "hubspot did not link the contact to its company: " + e.Category + ": " + redact(e.Message)
				}
			}
		}
	}
	return nil
}
