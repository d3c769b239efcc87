package mailchimp

import (
	"bytes"
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

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
// calls are a member PUT that cannot touch consent (no status, and
// status_if_new "transactional", so a new address is added for
// transactional mail and an existing member keeps the status it has),
// optionally followed by its tag changes. The row is that PUT's body
// (email_address, status_if_new, merge_fields) with the tag changes under
// "tags", and Next is Plan's. SendBatch sends the PUTs in one batch and,
// once it has finished, the tag changes of the members whose PUT
// succeeded in a second one, so no tag is applied to a member that does
// not exist yet. Everything else goes realtime with the reason: an
// opt-out, a status to send (an opt-in, a pending, a withdrawal), an
// opt-in's status_if_new "subscribed", a member whose status synclayer
// does not know, a delete, a merge field to clear, an email change, and
// tag changes with neither a member PUT nor a live member. A live member
// whose tags alone change is a tags-only row: no PUT, its tag POST in the
// tags batch. A plan with no call is Unchanged.
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
	var tags []Tag
	for _, k := range plan.Calls {
		switch {
		case k.Method == http.MethodPatch:
			return realtime("an email change")
		case k.Method == http.MethodPost && strings.HasSuffix(k.Path, "/tags") && tags == nil:
			var body tagsBody
			remarshal(k.Body, &body)
			if len(body.Tags) == 0 {
				return realtime("an empty tags call")
			}
			tags = body.Tags
		case k.Method == http.MethodPut && put == nil && tags == nil:
			put = &MemberRequest{}
			remarshal(k.Body, put)
		default:
			return realtime("a " + k.Method + " call")
		}
	}
	if put == nil && tags != nil && prev.live() && plan.Intent == nil {
		// A member Mailchimp holds, whose tags alone change: a tags-only
		// row, sent in the tags batch with no PUT before it.
		email, err := contactEmail(c)
		if err != nil {
			return synclayer.BatchRow{}, err
		}
		row := memberRow{MemberRequest: MemberRequest{EmailAddress: email, StatusIfNew: StatusTransactional}, Tags: tags, TagsOnly: true}
		return synclayer.BatchRow{Row: mustJSON(row), Next: plan.Next}, nil
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
	row := memberRow{MemberRequest: MemberRequest{EmailAddress: put.EmailAddress, StatusIfNew: StatusTransactional, MergeFields: put.MergeFields}, Tags: tags}
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

// memberRow is a batch row: the member PUT's body and, under "tags", the
// tag changes to send once the PUT has succeeded.
type memberRow struct {
	MemberRequest
	Tags []Tag `json:"tags,omitempty"`
	// TagsOnly: no PUT (a member Mailchimp holds, whose tags alone
	// change); status_if_new is kept only for the row's checks.
	TagsOnly bool `json:"tags_only,omitempty"`
}

// SendBatch sends rows, as PlanBatch made them, as Mailchimp batches.
// Phase 1: each row becomes PUT /lists/{list_id}/members/{subscriber_hash}
// with operation_id its index, in one batch. When no row carries tags,
// SendBatch returns that batch's ID at once and CheckBatch follows it.
// Otherwise SendBatch waits for the PUT batch to finish, reads its
// per-operation results and, phase 2, sends in a second batch POST
// …/members/{subscriber_hash}/tags (operation_id the row's index) for
// the rows whose PUT succeeded, and the tags-only rows (no PUT), only: a
// row whose PUT failed gets no tag operation, so no tag ever goes to a member that does not exist. It then
// returns a job ID naming the tags batch, the row count and the rows whose
// PUT failed, which CheckBatch reports refused (sent again realtime) with
// the tags batch's own refusals. Mailchimp does not document the order the
// operations of one batch run in; the second batch is submitted only once
// the first has finished, so order does not depend on it. Nothing is
// recorded done before CheckBatch says the tags batch finished: a stop in
// between leaves the jobs to be sent again, PUTs and tags alike, both
// idempotent.
//
// It checks every row again and refuses, permanently, a batch with a row
// that carries a status or another status_if_new than transactional, so
// nothing sent in a batch can subscribe a member or lift an opt-out. Group
// must be "".
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
	ops := make([]BatchOperation, 0, len(rows))
	reqs := make([]memberRow, len(rows))
	size, tagged := 0, false
	for i, raw := range rows {
		size += len(raw)
		req, err := batchRow(raw)
		if err != nil {
			return "", synclayer.Permanent(fmt.Errorf("mailchimp: batch row %d: %w", i, err))
		}
		reqs[i], tagged = req, tagged || len(req.Tags) > 0
		if !req.TagsOnly {
			ops = append(ops, BatchOperation{Method: http.MethodPut, Path: memberPath(s.audience, SubscriberHash(req.EmailAddress)),
				Body: string(mustJSON(req.MemberRequest)), OperationID: strconv.Itoa(i)})
		}
	}
	if size > BatchMaxBytes {
		return "", synclayer.Permanent(fmt.Errorf("mailchimp: %d bytes of rows in one batch; at most %d", size, BatchMaxBytes))
	}
	var putRefused map[int]string
	if len(ops) > 0 {
		b, err := s.client.StartBatch(ctx, ops)
		if err != nil {
			return "", err
		}
		if !tagged {
			return b.ID, nil // every row is a PUT, operation_id its index
		}
		// Phase 1 must finish before any tag is sent.
		b, err = s.waitBatch(ctx, b.ID)
		if err != nil {
			return "", fmt.Errorf("mailchimp: wait for the member batch %s before its tags: %w", b.ID, err)
		}
		putRefused, err = s.refusals(ctx, b, "PUT "+memberRoute, len(rows), func(i int) bool { return !reqs[i].TagsOnly })
		if err != nil {
			return "", fmt.Errorf("mailchimp: read the member batch %s before its tags: %w", b.ID, err)
		}
	}
	var tagOps []BatchOperation
	for i, req := range reqs {
		if _, bad := putRefused[i]; bad || len(req.Tags) == 0 {
			continue
		}
		tagOps = append(tagOps, BatchOperation{Method: http.MethodPost, Path: memberPath(s.audience, SubscriberHash(req.EmailAddress)) + "/tags",
			Body: string(mustJSON(tagsBody{Tags: req.Tags, IsSyncing: true})), OperationID: strconv.Itoa(i)})
	}
	tagsID := ""
	if len(tagOps) > 0 {
		tb, err := s.client.StartBatch(ctx, tagOps)
		if err != nil {
			return "", fmt.Errorf("mailchimp: the tags batch after the member batch: %w", err)
		}
		tagsID = tb.ID
	}
	id := tagsJobID{tags: tagsID, rows: len(rows), putFailed: slices.Sorted(maps.Keys(putRefused))}.String()
	s.keepReasons(id, putRefused)
	return id, nil
}

// tagsJobID is the job ID SendBatch returns for a batch with tags:
// "tags:<tags batch id>;rows=<n>;put-failed=<indexes>". It carries all
// CheckBatch needs, so that any instance, after any restart, can check it.
type tagsJobID struct {
	tags      string // "" when no row's PUT succeeded with tags to send
	rows      int
	putFailed []int
}

const tagsJobPrefix = "tags:"

func (t tagsJobID) String() string {
	failed := make([]string, len(t.putFailed))
	for i, n := range t.putFailed {
		failed[i] = strconv.Itoa(n)
	}
	return fmt.Sprintf("%s%s;rows=%d;put-failed=%s", tagsJobPrefix, t.tags, t.rows, strings.Join(failed, ","))
}

func parseTagsJobID(id string) (tagsJobID, error) {
	var t tagsJobID
	parts := strings.Split(strings.TrimPrefix(id, tagsJobPrefix), ";")
	bad := synclayer.Permanent(fmt.Errorf("mailchimp: job %q is not a tags job ID", id))
	if len(parts) != 3 || !strings.HasPrefix(parts[1], "rows=") || !strings.HasPrefix(parts[2], "put-failed=") {
		return t, bad
	}
	t.tags = parts[0]
	n, err := strconv.Atoi(strings.TrimPrefix(parts[1], "rows="))
	if err != nil || n < 0 || n > BatchMaxRows {
		return t, bad
	}
	t.rows = n
	if f := strings.TrimPrefix(parts[2], "put-failed="); f != "" {
		for _, x := range strings.Split(f, ",") {
			i, err := strconv.Atoi(x)
			if err != nil || i < 0 || i >= n {
				return t, bad
			}
			t.putFailed = append(t.putFailed, i)
		}
	}
	return t, nil
}

// maxKeptReasons bounds the phase-1 refusal reasons kept in memory for
// CheckBatch; past it (or after a restart) a generic reason stands in.
const maxKeptReasons = 1000

func (s *ContactSync) keepReasons(id string, refused map[int]string) {
	if len(refused) == 0 {
		return
	}
	s.reasonsMu.Lock()
	defer s.reasonsMu.Unlock()
	if s.reasons == nil {
		s.reasons = map[string]map[int]string{}
	}
	if len(s.reasons) < maxKeptReasons {
		s.reasons[id] = refused
	}
}

func (s *ContactSync) takeReasons(id string) map[int]string {
	s.reasonsMu.Lock()
	defer s.reasonsMu.Unlock()
	r := s.reasons[id]
	delete(s.reasons, id)
	return r
}

// Phase 1's wait: first poll after batchPollFirst, doubling up to
// batchPollMost, for at most batchWaitMost.
const (
	batchPollFirst = 250 * time.Millisecond
	batchPollMost  = 30 * time.Second
	batchWaitMost  = 30 * time.Minute
)

// SetBatchPoll changes how SendBatch polls a member batch before sending
// its tags (tests): first after first, doubling up to most.
func (s *ContactSync) SetBatchPoll(first, most time.Duration) { s.pollFirst, s.pollMost = first, most }

// waitBatch polls batch id until it is finished, the context ends or
// batchWaitMost passes; the batch's last status comes back in any case.
func (s *ContactSync) waitBatch(ctx context.Context, id string) (*Batch, error) {
	wait, most := batchPollFirst, batchPollMost
	if s.pollFirst > 0 {
		wait, most = s.pollFirst, max(s.pollMost, s.pollFirst)
	}
	ctx, cancel := context.WithTimeout(ctx, batchWaitMost)
	defer cancel()
	last := &Batch{ID: id}
	for {
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return last, ctx.Err()
		case <-t.C:
		}
		b, err := s.client.GetBatch(ctx, id)
		switch {
		case err != nil && IsNotFound(err):
			return last, synclayer.Permanent(fmt.Errorf("mailchimp: batch %s is gone", id))
		case err != nil && ctx.Err() != nil:
			return last, err
		case err == nil:
			last = b
			if b.Status == BatchFinished {
				return b, nil
			}
		}
		// A failed poll (the network, a 5xx) is tried again.
		wait = min(wait*2, most)
	}
}

// batchRow decodes a row and checks it is one PlanBatch makes.
func batchRow(raw json.RawMessage) (memberRow, error) {
	var req memberRow
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
	for _, t := range req.Tags {
		if strings.TrimSpace(t.Name) == "" || (t.Status != "active" && t.Status != "inactive") {
			return req, fmt.Errorf("a tag change must name a tag and be active or inactive")
		}
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
//
// A tags job ID (SendBatch) is checked on its tags batch: it refuses the
// rows whose PUT failed in phase 1 and the rows whose tag operation
// failed; an archive no longer served, or one missing results, refuses
// every row without a 2xx tag result, tagless rows included, since the
// job ID does not say which rows had tags (their PUTs and tags are
// idempotent, sent again realtime).
func (s *ContactSync) CheckBatch(ctx context.Context, id string) (bool, map[int]string, error) {
	if id == "" {
		return true, nil, nil
	}
	if strings.HasPrefix(id, tagsJobPrefix) {
		return s.checkTags(ctx, id)
	}
	b, err := s.client.GetBatch(ctx, id)
	if err != nil {
		return false, nil, fmt.Errorf("check batch %s: %w", id, err)
	}
	if b.Status != BatchFinished {
		return false, nil, nil
	}
	refused, err := s.refusals(ctx, b, "PUT "+memberRoute, b.TotalOperations, func(int) bool { return true })
	if err != nil {
		return false, nil, fmt.Errorf("check batch %s: %w", id, err)
	}
	return true, refused, nil
}

func (s *ContactSync) checkTags(ctx context.Context, id string) (bool, map[int]string, error) {
	t, err := parseTagsJobID(id)
	if err != nil {
		return false, nil, err
	}
	refused := map[int]string{}
	if t.tags != "" {
		b, err := s.client.GetBatch(ctx, t.tags)
		if err != nil {
			return false, nil, fmt.Errorf("check tags batch %s: %w", t.tags, err)
		}
		if b.Status != BatchFinished {
			return false, nil, nil
		}
		if b.ErroredOperations > 0 || b.FinishedOperations < b.TotalOperations {
			results, gone, err := s.results(ctx, b)
			if err != nil {
				return false, nil, fmt.Errorf("check tags batch %s: %w", t.tags, err)
			}
			ok := map[int]bool{}
			for _, r := range results {
				i, err := strconv.Atoi(r.OperationID)
				if err != nil || i < 0 || i >= t.rows || ok[i] {
					continue
				}
				if r.StatusCode/100 == 2 {
					ok[i] = true
					delete(refused, i)
					continue
				}
				refused[i] = "mailchimp: POST " + memberRoute + "/tags → " + r.Problem().Error()
			}
			if gone != "" || len(results) < b.TotalOperations {
				// Which rows had a tag operation is not known here: every
				// row without a good tag result is sent again on its own.
				why := cmp.Or(gone, "mailchimp: the tags batch's results archive misses results; the row is sent again on its own")
				for i := range t.rows {
					if _, bad := refused[i]; !ok[i] && !bad {
						refused[i] = why
					}
				}
			}
		}
	}
	reasons := s.takeReasons(id)
	for _, i := range t.putFailed {
		refused[i] = cmp.Or(reasons[i], "mailchimp: PUT "+memberRoute+" failed in the member batch, so its tags were not sent; the row is sent again on its own")
	}
	return true, refused, nil
}

// results reads a finished batch's results archive. gone is set, with no
// results, when Mailchimp serves no archive for it (any more).
func (s *ContactSync) results(ctx context.Context, b *Batch) (results []OperationResult, gone string, err error) {
	if b.ResponseBodyURL == "" {
		return nil, "mailchimp: the finished batch has no results archive; the row is sent again on its own", nil
	}
	results, err = s.client.BatchResults(ctx, b.ResponseBodyURL)
	switch {
	case archiveGone(err):
		return nil, "mailchimp: the batch's results archive is no longer served; the row is sent again on its own", nil
	case err != nil:
		return nil, "", err
	}
	return results, "", nil
}

// refusals returns the rows of finished batch b, by operation_id (a row
// index below n), whose operation did not succeed, each with its reason
// (what names the operation); sent says which rows had an operation in
// b. None without a download when no operation errored; every sent row
// when the archive is gone; and each sent row the archive has no result
// for.
func (s *ContactSync) refusals(ctx context.Context, b *Batch, what string, n int, sent func(int) bool) (map[int]string, error) {
	if b.ErroredOperations == 0 && b.FinishedOperations >= b.TotalOperations {
		return nil, nil
	}
	results, gone, err := s.results(ctx, b)
	if err != nil {
		return nil, err
	}
	refused := make(map[int]string, b.TotalOperations)
	if gone != "" {
		for i := range n {
			if sent(i) {
				refused[i] = gone
			}
		}
		return refused, nil
	}
	ok := make([]bool, n)
	for _, r := range results {
		i, err := strconv.Atoi(r.OperationID)
		if err != nil || i < 0 || i >= n || ok[i] || !sent(i) {
			continue
		}
		if r.StatusCode/100 == 2 {
			ok[i] = true
			delete(refused, i)
			continue
		}
		refused[i] = "mailchimp: " + what + " → " + r.Problem().Error()
	}
	for i := range ok {
		if _, bad := refused[i]; sent(i) && !ok[i] && !bad {
			refused[i] = "mailchimp: the batch's results archive has no result for this row; it is sent again on its own"
		}
	}
	return refused, nil
}
