package mailchimp

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"

	"synclayer"
)

// BatchMaxRows and BatchMaxBytes bound one SendBatch: one batch of at
// most 500 operations, whose rows total at most 2 MiB. Mailchimp
// documents no per-batch limit (docs/platforms/mailchimp.md); these are
// synclayer's, sized like the 500 members of Mailchimp's synchronous
// batch-subscribe call.
const (
	BatchMaxRows  = 500
	BatchMaxBytes = 2 << 20
)

var _ synclayer.ContactBatcher = (*ContactSync)(nil)

// BatchLimits returns BatchMaxRows and BatchMaxBytes.
func (s *ContactSync) BatchLimits() (maxRows, maxBytes int) { return BatchMaxRows, BatchMaxBytes }

// PlanBatch plans c with Plan and keeps for the batch only a plan whose
// one call is a member PUT that cannot touch consent: no status, and
// status_if_new "transactional", so a new address is added for
// transactional mail and an existing member keeps the status it has. The
// row is that PUT's body (email_address, status_if_new, merge_fields)
// and Next is Plan's. Everything else goes realtime with the reason: an
// opt-out, a status to send (an opt-in, a pending, a withdrawal), an
// opt-in's status_if_new "subscribed", a member whose status synclayer
// does not know, a delete, a merge field to clear, an email change, and
// tag changes (a second operation, and Mailchimp does not document the
// order operations of one batch run in). A plan with no call is
// Unchanged.
func (s *ContactSync) PlanBatch(c *synclayer.Contact, prevRaw json.RawMessage) (synclayer.BatchRow, error) {
	plan, err := s.Plan(c, prevRaw)
	if err != nil {
		return synclayer.BatchRow{}, err
	}
	realtime := func(why string) (synclayer.BatchRow, error) { return synclayer.BatchRow{Realtime: why}, nil }
	switch {
	case plan.Op == synclayer.PlanNone:
		return synclayer.BatchRow{Unchanged: true, Next: plan.Next}, nil
	case plan.Op == synclayer.PlanDelete:
		return realtime("a delete")
	case c.EmailConsent.State == synclayer.ConsentUnsubscribed:
		return realtime("an opt-out")
	}
	prev, _ := decodeState(prevRaw) // Plan decoded it already
	if prev.live() && !knownStatus(prev.Status) {
		return realtime("a member whose Mailchimp status synclayer does not know")
	}
	var put *MemberRequest
	for _, k := range plan.Calls {
		switch {
		case k.Method == http.MethodPatch:
			return realtime("an email change")
		case k.Method == http.MethodPost && strings.HasSuffix(k.Path, "/tags"):
			return realtime("tag changes, which a batch row does not carry")
		case k.Method == http.MethodPut && put == nil:
			put = &MemberRequest{}
			remarshal(k.Body, put)
		default:
			return realtime("a " + k.Method + " call")
		}
	}
	switch {
	case put == nil:
		return realtime("no member PUT to batch")
	case put.Status == StatusPending:
		return realtime("a pending: Mailchimp asks the person to confirm")
	case put.Status != "":
		return realtime("status " + put.Status + " to send")
	case put.StatusIfNew != StatusTransactional:
		return realtime("status_if_new " + put.StatusIfNew + ": a batch row only adds transactional members")
	case plan.Intent != nil:
		return realtime("a mark recorded before the call")
	}
	for _, v := range put.MergeFields {
		if isEmpty(v) {
			return realtime("a merge field to clear")
		}
	}
	row := MemberRequest{EmailAddress: put.EmailAddress, StatusIfNew: StatusTransactional, MergeFields: put.MergeFields}
	return synclayer.BatchRow{Row: mustJSON(row), Next: plan.Next}, nil
}

func knownStatus(s string) bool {
	switch s {
	case StatusSubscribed, StatusUnsubscribed, StatusCleaned, StatusPending, StatusTransactional:
		return true
	}
	return false
}

// isEmpty reports whether a merge value empties the field.
func isEmpty(v any) bool {
	switch x := v.(type) {
	case string:
		return strings.TrimSpace(x) == ""
	case json.RawMessage:
		var s string
		return json.Unmarshal(x, &s) == nil && strings.TrimSpace(s) == ""
	}
	return false
}

// SendBatch sends rows, as PlanBatch made them, as one Mailchimp batch:
// each row becomes PUT /lists/{list_id}/members/{subscriber_hash} with
// operation_id its index. It returns the batch ID. It checks every row
// again and refuses, permanently, a batch with a row that carries a
// status or another status_if_new than transactional, so nothing sent in
// a batch can subscribe a member or lift an opt-out. Group must be "".
func (s *ContactSync) SendBatch(ctx context.Context, group string, rows []json.RawMessage) (string, error) {
	if group != "" {
		return "", synclayer.Permanent(fmt.Errorf("mailchimp: batch group %q: Mailchimp batches have one group, \"\"", group))
	}
	if len(rows) == 0 {
		return "", nil
	}
	if len(rows) > BatchMaxRows {
		return "", synclayer.Permanent(fmt.Errorf("mailchimp: %d rows in one batch; at most %d", len(rows), BatchMaxRows))
	}
	ops := make([]BatchOperation, len(rows))
	size := 0
	for i, raw := range rows {
		size += len(raw)
		req, err := batchRow(raw)
		if err != nil {
			return "", synclayer.Permanent(fmt.Errorf("mailchimp: batch row %d: %w", i, err))
		}
		ops[i] = BatchOperation{Method: http.MethodPut, Path: memberPath(s.audience, SubscriberHash(req.EmailAddress)),
			Body: string(mustJSON(req)), OperationID: strconv.Itoa(i)}
	}
	if size > BatchMaxBytes {
		return "", synclayer.Permanent(fmt.Errorf("mailchimp: %d bytes of rows in one batch; at most %d", size, BatchMaxBytes))
	}
	b, err := s.client.StartBatch(ctx, ops)
	if err != nil {
		return "", err
	}
	return b.ID, nil
}

// batchRow decodes a row and checks it is one PlanBatch makes.
func batchRow(raw json.RawMessage) (MemberRequest, error) {
	var req MemberRequest
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	dec.UseNumber() // merge values are sent digit for digit
	if err := dec.Decode(&req); err != nil {
		return req, fmt.Errorf("not a member row: %w", err)
	}
	switch {
	case req.EmailAddress == "":
		return req, errors.New("no email_address")
	case req.Status != "":
		return req, errors.New("a row may not carry a status: it could change the member's consent")
	case req.StatusIfNew != StatusTransactional:
		return req, fmt.Errorf("status_if_new %q: a row only adds transactional members", req.StatusIfNew)
	}
	return req, nil
}

// CheckBatch reads batch id. Until Mailchimp reports it finished it
// returns done false. Once finished, a batch without errored operations
// refuses nothing; otherwise it reads the results archive and refuses
// each row (by operation_id) whose result is not 2xx, with Mailchimp's
// error (addresses redacted), and each row the archive has no result
// for. An archive Mailchimp no longer serves refuses every row, to be
// sent again one by one. id "" is done.
func (s *ContactSync) CheckBatch(ctx context.Context, id string) (bool, map[int]string, error) {
	if id == "" {
		return true, nil, nil
	}
	b, err := s.client.GetBatch(ctx, id)
	if err != nil {
		return false, nil, fmt.Errorf("check batch %s: %w", id, err)
	}
	if b.Status != BatchFinished {
		return false, nil, nil
	}
	if b.ErroredOperations == 0 && b.FinishedOperations >= b.TotalOperations {
		return true, nil, nil
	}
	refuseAll := func(why string) (bool, map[int]string, error) {
		refused := make(map[int]string, b.TotalOperations)
		for i := range b.TotalOperations {
			refused[i] = why
		}
		return true, refused, nil
	}
	if b.ResponseBodyURL == "" {
		return refuseAll("mailchimp: the finished batch has no results archive; the row is sent again on its own")
	}
	results, err := s.client.BatchResults(ctx, b.ResponseBodyURL)
	switch {
	case archiveGone(err):
		return refuseAll("mailchimp: the batch's results archive is no longer served; the row is sent again on its own")
	case err != nil:
		return false, nil, fmt.Errorf("check batch %s: %w", id, err)
	}
	ok := make([]bool, b.TotalOperations)
	refused := map[int]string{}
	for _, r := range results {
		i, err := strconv.Atoi(r.OperationID)
		if err != nil || i < 0 || i >= b.TotalOperations || ok[i] {
			continue
		}
		if r.StatusCode/100 == 2 {
			ok[i] = true
			delete(refused, i)
			continue
		}
		refused[i] = "mailchimp: PUT " + memberRoute + " → " + r.Problem().Error()
	}
	for i := range ok {
		if _, bad := refused[i]; !ok[i] && !bad {
			refused[i] = "mailchimp: the batch's results archive has no result for this row; it is sent again on its own"
		}
	}
	return true, refused, nil
}
