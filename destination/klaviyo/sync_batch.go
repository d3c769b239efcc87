package klaviyo

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"strconv"
	"strings"

	"synclayer"
)

var _ synclayer.ContactBatcher = (*ContactSync)(nil)

// bulkEnvelope is what a job's body adds to its rows: the JSON:API
// envelope and a comma between each two of up to 10,000 rows.
const bulkEnvelope = 16 << 10

// BatchLimits are a bulk import job's: MaxBulkImportProfiles rows, and
// MaxBulkImportBytes less room for the envelope the rows travel in.
func (s *ContactSync) BatchLimits() (maxRows, maxBytes int) {
	return MaxBulkImportProfiles, MaxBulkImportBytes - bulkEnvelope
}

// PlanBatch plans c with Plan and sends it in a bulk import job only when
// the plan is a profile-import and nothing else. A bulk import carries no
// consent (its profiles have no subscriptions attribute) and synclayer
// sends it no list, so everything about consent or lists goes realtime: an
// opt-out, a subscribe, a list add or removal, a delete. So does what a
// bulk import cannot do or report: a field to clear (it ignores null), an
// email change, a profile over 100KB. The row is the plan's profile
// resource object, in group "", and Next is Plan's Next. A new profile's
// Klaviyo ID stays unknown in Next (a job does not say which row became
// which profile); the profile is found by its external_id and email, and
// the realtime path reads the ID when it needs one.
func (s *ContactSync) PlanBatch(c *synclayer.Contact, prevRaw json.RawMessage) (synclayer.BatchRow, error) {
	plan, err := s.Plan(c, prevRaw)
	if err != nil {
		return synclayer.BatchRow{}, err
	}
	if plan.Op == synclayer.PlanNone {
		return synclayer.BatchRow{Unchanged: true, Next: plan.Next}, nil
	}
	d, ok := plan.Detail.(*planDetail)
	if !ok {
		return synclayer.BatchRow{}, fmt.Errorf("klaviyo: the plan for contact %s has no detail", c.ID)
	}
	prev, err := decodeState(prevRaw)
	if err != nil {
		return synclayer.BatchRow{}, err
	}
	if why := realtimeReason(c, d, prev); why != "" {
		return synclayer.BatchRow{Realtime: why}, nil
	}
	row, err := json.Marshal(d.Upsert.object())
	if err != nil {
		return synclayer.BatchRow{}, fmt.Errorf("klaviyo: encode the profile of contact %s: %w", c.ID, err)
	}
	if len(row) > MaxBulkProfileBytes {
		return synclayer.BatchRow{Realtime: fmt.Sprintf("a profile of %d bytes, over a bulk import's %d per profile", len(row), MaxBulkProfileBytes)}, nil
	}
	return synclayer.BatchRow{Row: row, Next: plan.Next}, nil
}

// realtimeReason says why plan d cannot travel in a bulk import, or "".
func realtimeReason(c *synclayer.Contact, d *planDetail, prev *state) string {
	switch {
	case c.Deleted || d.Delete:
		return "a delete"
	case c.EmailConsent.State == synclayer.ConsentUnsubscribed || d.Unsubscribe:
		return "an opt-out"
	case d.Subscribe != nil:
		return "a subscribe, which only the subscription job may send"
	case d.AddToList || d.RemoveFromList:
		return "a list membership change, which synclayer never sends in a bulk import"
	case d.Upsert == nil:
		return "no profile to import"
	case prev != nil && !prev.Deleted && prev.Email != "" && prev.Email != d.Upsert.Attributes["email"]:
		return "an email change"
	case len(d.Upsert.Unset) > 0 || clears(d.Upsert.Attributes):
		return "a field to clear, which a bulk import cannot do (it ignores null)"
	}
	return ""
}

// clears reports whether attrs set any attribute, location field or
// property to null.
func clears(attrs map[string]any) bool {
	for _, v := range attrs {
		switch v := v.(type) {
		case json.RawMessage:
			if isNull(v) {
				return true
			}
		case map[string]any:
			if clears(v) {
				return true
			}
		case nil:
			return true
		}
	}
	return false
}

// SendBatch starts one bulk import job of rows, which PlanBatch made, and
// returns its ID. Group must be "", the only one PlanBatch gives.
func (s *ContactSync) SendBatch(ctx context.Context, group string, rows []json.RawMessage) (string, error) {
	if group != "" {
		return "", synclayer.Permanent(fmt.Errorf("klaviyo: batch group %q is not one PlanBatch gives", group))
	}
	job, err := s.client.CreateBulkImport(ctx, rows)
	if err != nil {
		return "", fmt.Errorf("start a Klaviyo bulk import of %d profiles: %w", len(rows), err)
	}
	return job.ID, nil
}

// BulkJobError is a bulk import job Klaviyo ended without completing it:
// cancelled, failed as a whole, or in a status synclayer does not know.
// Some of its profiles may be applied, none is known to be. CheckBatch
// returns it as synclayer.Permanent, which the flusher reads as "the job
// failed as a whole": checking again cannot help, and its contacts are
// queued to be sent again (an import is an upsert, so repeating the
// applied ones is harmless).
type BulkJobError struct {
	ID, Status               string
	Total, Completed, Failed int
}

func (e *BulkJobError) Error() string {
	verb := "was " + e.Status + " by Klaviyo"
	if e.Status != BulkCancelled && e.Status != BulkFailed {
		verb = fmt.Sprintf("has status %q, which synclayer does not know", e.Status)
	}
	return fmt.Sprintf("klaviyo: bulk import job %s %s (%d of %d profiles completed, %d failed): its contacts are sent again",
		e.ID, verb, e.Completed, e.Total, e.Failed)
}

// CheckBatch reads job jobID. Queued or processing is not done; complete
// is done, with the rows its import errors name, by external_id, then
// email, then the error's pointer. When a refusal matches no row (the
// job was sent before a restart, or Klaviyo's payload names neither), or
// fewer rows match than failed_count, every row is reported refused:
// sending a good row again one by one is harmless, recording a refused
// one as applied is not. Any other status (cancelled, failed, unknown) is
// a permanent *BulkJobError: send the contacts again. A transport error,
// 429 or 5xx is retryable: check again later.
func (s *ContactSync) CheckBatch(ctx context.Context, jobID string) (bool, map[int]string, error) {
	job, err := s.client.GetBulkImport(ctx, jobID)
	if err != nil {
		return false, nil, fmt.Errorf("check Klaviyo bulk import job %s: %w", jobID, err)
	}
	switch job.Status {
	case BulkQueued, BulkProcessing:
		return false, nil, nil
	case BulkComplete:
	default:
		s.client.jobs.forget(jobID)
		return false, nil, synclayer.Permanent(&BulkJobError{ID: jobID, Status: job.Status, Total: job.Total, Completed: job.Completed, Failed: job.Failed})
	}
	errs, err := s.client.BulkImportErrors(ctx, jobID)
	if err != nil {
		return false, nil, fmt.Errorf("read the import errors of Klaviyo bulk import job %s: %w", jobID, err)
	}
	keys, known := s.client.jobs.get(jobID)
	n := job.Total
	if known {
		n = len(keys)
	}
	refused, unmatched := matchErrors(errs, keys, n)
	if unmatched > 0 || len(refused) < job.Failed {
		why := fmt.Sprintf("Klaviyo refused %d profiles of bulk import job %s, and %d of its refusals match no row: every row is sent again", job.Failed, jobID, max(unmatched, job.Failed-len(refused)))
		for i := range n {
			if _, ok := refused[i]; !ok {
				refused[i] = why
			}
		}
	}
	s.client.jobs.forget(jobID)
	return true, refused, nil
}

var rowPointer = regexp.MustCompile(`^/data/attributes/profiles/data/(\d+)(/|$)`)

// matchErrors maps import errors to the indexes of the n rows whose keys
// are known (keys may be nil), and counts the errors it cannot place.
func matchErrors(errs []ImportError, keys []rowKey, n int) (map[int]string, int) {
	refused := map[int]string{}
	unmatched := 0
	for _, e := range errs {
		idx := rowsOf(e, keys, n)
		if len(idx) == 0 {
			unmatched++
			continue
		}
		for _, i := range idx {
			refused[i] = joinReason(refused[i], e.reason())
		}
	}
	return refused, unmatched
}

// rowsOf returns the rows e names: by external_id, else by email (any
// case), else by its pointer's index.
func rowsOf(e ImportError, keys []rowKey, n int) []int {
	var idx []int
	for i, k := range keys {
		if e.ExternalID != "" && k.externalID == e.ExternalID {
			idx = append(idx, i)
		}
	}
	if len(idx) > 0 {
		return idx
	}
	for i, k := range keys {
		if e.Email != "" && strings.EqualFold(k.email, e.Email) {
			idx = append(idx, i)
		}
	}
	if len(idx) > 0 {
		return idx
	}
	if m := rowPointer.FindStringSubmatch(e.Pointer); m != nil {
		if i, err := strconv.Atoi(m[1]); err == nil && i < n {
			return []int{i}
		}
	}
	return nil
}

func (e ImportError) reason() string {
	s := "Klaviyo refused the profile in a bulk import: " + firstNonEmpty(e.Code, "error")
	if e.Pointer != "" {
		s += " at " + e.Pointer
	}
	if d := firstNonEmpty(e.Detail, e.Title); d != "" {
		s += ": " + d
	}
	return s
}

func joinReason(a, b string) string {
	if a == "" {
		return b
	}
	return a + "; " + b
}

// IsBulkJobError reports whether err is a bulk import job Klaviyo ended
// without completing it.
func IsBulkJobError(err error) bool {
	var e *BulkJobError
	return errors.As(err, &e)
}
