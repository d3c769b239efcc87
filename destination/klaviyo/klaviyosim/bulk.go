package klaviyosim

import (
	"bytes"
	"cmp"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"time"
)

// Limits of one bulk import job, as POST /api/profile-bulk-import-jobs
// documents them (5MB and 100KB read as decimal units).
const (
	maxBulkProfiles     = 10000
	maxBulkBytes        = 5_000_000
	maxBulkProfileBytes = 100_000
)

// BulkJob is one profile bulk import job received. Status is queued until
// a read of the job at or after its creation plus Options.BulkJobDelay,
// which runs it: complete, with Completed profiles applied and Failed
// refused, each refusal in Errors. CancelBulkJob makes it cancelled.
type BulkJob struct {
	ID                       string
	Status                   string
	Total, Completed, Failed int
	ListIDs                  []string
	Errors                   []BulkImportError
	Created                  time.Time
}

// BulkImportError is one profile a job refused: its index in the job, the
// error, and the identifiers it was sent with.
type BulkImportError struct {
	Index                 int
	Code, Detail, Pointer string
	Email, ExternalID     string
	id                    string
	payload               map[string]any // original_payload: the attributes sent
}

type bulkJob struct {
	BulkJob
	profiles         []json.RawMessage
	readyAt, started time.Time
	completedAt      time.Time
}

func (s *Server) handleBulkImportCreate(w http.ResponseWriter, r *http.Request) {
	var body bytes.Buffer
	if _, err := body.ReadFrom(r.Body); err != nil || body.Len() > maxBulkBytes {
		(&apiError{status: http.StatusRequestEntityTooLarge, code: "invalid", detail: "The maximum allowed payload size is 5MB.", pointer: "/data"}).write(w)
		return
	}
	var b struct {
		Data struct {
			Type       string `json:"type"`
			Attributes struct {
				Profiles struct {
					Data []json.RawMessage `json:"data"`
				} `json:"profiles"`
			} `json:"attributes"`
			Relationships struct {
				Lists struct {
					Data []struct {
						ID string `json:"id"`
					} `json:"data"`
				} `json:"lists"`
			} `json:"relationships"`
		} `json:"data"`
	}
	if err := json.Unmarshal(body.Bytes(), &b); err != nil || b.Data.Type != "profile-bulk-import-job" {
		invalid("The body must be a profile-bulk-import-job resource.", "/data").write(w)
		return
	}
	profiles := b.Data.Attributes.Profiles.Data
	if n := len(profiles); n == 0 || n > maxBulkProfiles {
		invalid(fmt.Sprintf("A job accepts 1 to 10,000 profiles, not %d.", n), "/data/attributes/profiles/data").write(w)
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	j := &bulkJob{profiles: profiles}
	for _, l := range b.Data.Relationships.Lists.Data {
		if s.lists[l.ID] == nil {
			notFound("A list with id " + l.ID + " does not exist.").write(w)
			return
		}
		j.ListIDs = append(j.ListIDs, l.ID)
	}
	s.nextID++
	now := s.now()
	j.ID, j.Status, j.Total, j.Created = fmt.Sprintf("01SIMJOB%018d", s.nextID), "queued", len(profiles), now
	j.readyAt = now.Add(s.bulkDelay)
	s.bulkJobs[j.ID] = j
	s.bulkOrder = append(s.bulkOrder, j.ID)
	writeJSON(w, http.StatusAccepted, map[string]any{"data": j.resource(), "links": map[string]any{"self": jobURL(j.ID)}})
}

func (s *Server) handleBulkImportGet(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	j := s.bulkJob(w, r.PathValue("id"))
	if j == nil {
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"data": j.resource(), "links": map[string]any{"self": jobURL(j.ID)}})
}

func (s *Server) handleBulkImportErrors(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	size, err := strconv.Atoi(cmp.Or(q.Get("page[size]"), "20"))
	if err != nil || size < 1 || size > 100 {
		(&apiError{status: http.StatusBadRequest, code: "invalid", detail: "page[size] must be 1 to 100.", parameter: "page[size]"}).write(w)
		return
	}
	from, err := strconv.Atoi(cmp.Or(q.Get("page[cursor]"), "0"))
	if err != nil || from < 0 {
		(&apiError{status: http.StatusBadRequest, code: "invalid", detail: "Invalid page cursor.", parameter: "page[cursor]"}).write(w)
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	j := s.bulkJob(w, r.PathValue("id"))
	if j == nil {
		return
	}
	self := jobURL(j.ID) + "/import-errors"
	data := []any{}
	for i := from; i < len(j.Errors) && i < from+size; i++ {
		e := j.Errors[i]
		data = append(data, map[string]any{"type": "import-error", "id": e.id, "attributes": map[string]any{
			"code": e.Code, "title": titles[http.StatusBadRequest], "detail": e.Detail,
			"source": map[string]any{"pointer": e.Pointer}, "original_payload": e.payload,
		}})
	}
	links := map[string]any{"self": self}
	if from+size < len(j.Errors) {
		links["next"] = self + "?page%5Bsize%5D=" + strconv.Itoa(size) + "&page%5Bcursor%5D=" + strconv.Itoa(from+size)
	}
	writeJSON(w, http.StatusOK, map[string]any{"data": data, "links": links})
}

// bulkJob finds job id and runs it when due, or answers 404; s.mu is held.
func (s *Server) bulkJob(w http.ResponseWriter, id string) *bulkJob {
	j := s.bulkJobs[id]
	if j == nil {
		notFound("A job with id " + id + " does not exist.").write(w)
		return nil
	}
	now := s.now()
	switch {
	case j.Status != "queued" && j.Status != "processing":
	case now.Before(j.readyAt):
		j.Status, j.started = "processing", now
	default:
		s.runBulkJob(j, now)
	}
	return j
}

// runBulkJob applies each profile as profile-import would, except that a
// null sets nothing (Klaviyo's bulk import does not clear fields), and
// never touches consent: a profile resource has no subscriptions. A
// profile Klaviyo would refuse becomes an import error; s.mu is held.
func (s *Server) runBulkJob(j *bulkJob, now time.Time) {
	if j.started.IsZero() {
		j.started = now
	}
	for i, raw := range j.profiles {
		ptr := fmt.Sprintf("/data/attributes/profiles/data/%d", i)
		if e := s.importOne(j, raw); e != nil {
			be := BulkImportError{Index: i, Code: e.code, Detail: e.detail, Pointer: ptr, id: newUUID()}
			if e.pointer != "" {
				be.Pointer = ptr + e.pointer[len("/data"):]
			}
			var o struct {
				Attributes map[string]any `json:"attributes"`
			}
			_ = json.Unmarshal(raw, &o)
			be.payload = o.Attributes
			be.Email, _ = o.Attributes["email"].(string)
			be.ExternalID, _ = o.Attributes["external_id"].(string)
			j.Errors = append(j.Errors, be)
			j.Failed++
			continue
		}
		j.Completed++
	}
	j.profiles, j.Status, j.completedAt = nil, "complete", now
}

func (s *Server) importOne(j *bulkJob, raw json.RawMessage) *apiError {
	if len(raw) > maxBulkProfileBytes {
		return invalid("The maximum allowed payload size per profile is 100KB.", "/data")
	}
	var b upsertBody
	if err := json.Unmarshal([]byte(`{"data":`+string(raw)+`}`), &b); err != nil || b.Data.Type != "profile" {
		return invalid("A profile must be a profile resource: {\"type\":\"profile\",\"attributes\":{...}}.", "/data")
	}
	dropNulls(b.Data.Attributes)
	up, e := parseUpsert(b)
	if e != nil {
		return e
	}
	p, e := s.identify(b.Data.ID, up.ids)
	if e != nil {
		return e
	}
	if p == nil {
		p = s.newProfile()
	}
	up.apply(p)
	p.Updated = s.now()
	for _, id := range j.ListIDs {
		if l := s.lists[id]; l != nil {
			l.members[p.ID] = true
		}
	}
	return nil
}

// dropNulls removes null attributes, location fields and properties.
func dropNulls(attrs map[string]json.RawMessage) {
	for k, v := range attrs {
		if string(bytes.TrimSpace(v)) == "null" {
			delete(attrs, k)
			continue
		}
		if k != "location" && k != "properties" {
			continue
		}
		var m map[string]json.RawMessage
		if json.Unmarshal(v, &m) == nil && m != nil {
			dropNulls(m)
			attrs[k], _ = json.Marshal(m)
		}
	}
}

// resource renders j as a profile-bulk-import-job resource object.
func (j *bulkJob) resource() map[string]any {
	done := any(nil)
	if !j.completedAt.IsZero() {
		done = timestamp(j.completedAt)
	}
	lists := []any{}
	for _, id := range j.ListIDs {
		lists = append(lists, map[string]any{"type": "list", "id": id})
	}
	return map[string]any{"type": "profile-bulk-import-job", "id": j.ID,
		"attributes": map[string]any{
			"status": j.Status, "created_at": timestamp(j.Created), "total_count": j.Total,
			"completed_count": j.Completed, "failed_count": j.Failed,
			"completed_at": done, "expires_at": timestamp(j.Created.Add(7 * 24 * time.Hour)), "started_at": timestamp(j.started),
		},
		"relationships": map[string]any{"lists": map[string]any{"data": lists,
			"links": map[string]any{"self": jobURL(j.ID) + "/relationships/lists", "related": jobURL(j.ID) + "/lists"}}},
		"links": map[string]any{"self": jobURL(j.ID)},
	}
}

func jobURL(id string) string { return "https://a.klaviyo.com/api/profile-bulk-import-jobs/" + id }

// BulkJobs returns the bulk import jobs received, oldest first.
func (s *Server) BulkJobs() []BulkJob {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]BulkJob, 0, len(s.bulkOrder))
	for _, id := range s.bulkOrder {
		j := s.bulkJobs[id].BulkJob
		j.ListIDs, j.Errors = slices.Clone(j.ListIDs), slices.Clone(j.Errors)
		out = append(out, j)
	}
	return out
}

// CancelBulkJob cancels job id before it runs, as Klaviyo may; none of
// its profiles is applied. It reports whether the job was still pending.
func (s *Server) CancelBulkJob(id string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	j := s.bulkJobs[id]
	if j == nil || (j.Status != "queued" && j.Status != "processing") {
		return false
	}
	j.Status, j.profiles = "cancelled", nil
	return true
}
