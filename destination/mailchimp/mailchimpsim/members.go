package mailchimpsim

import (
	"cmp"
	"encoding/json"
	"fmt"
	"net/http"
	"net/mail"
	"slices"
	"time"
)

// memberBody is the part of a PUT or PATCH body the simulator reads.
type memberBody struct {
	EmailAddress string         `json:"email_address"`
	StatusIfNew  string         `json:"status_if_new"`
	Status       string         `json:"status"`
	MergeFields  map[string]any `json:"merge_fields"`
}

const validationDetail = "The resource submitted could not be validated. For field-specific details, see the 'errors' array."

func (s *Server) handleMemberGet(w http.ResponseWriter, r *http.Request) {
	a, ok := s.lookup(w, r)
	if !ok {
		return
	}
	defer s.mu.Unlock()
	m := a.members[r.PathValue("hash")]
	if m == nil {
		notFound(w)
		return
	}
	writeJSON(w, http.StatusOK, memberJSON(a, m))
}

// handleMemberPut adds or updates a member. For an address not in the
// audience (or archived) the status is status, else status_if_new; for a
// member, status_if_new is ignored and status, when sent, changes it.
func (s *Server) handleMemberPut(w http.ResponseWriter, r *http.Request) { s.upsert(w, r, true) }

// handleMemberPatch updates an existing member only.
func (s *Server) handleMemberPatch(w http.ResponseWriter, r *http.Request) { s.upsert(w, r, false) }

func (s *Server) upsert(w http.ResponseWriter, r *http.Request, put bool) {
	var req memberBody
	if err := json.NewDecoder(r.Body).Decode(&req); err != nil {
		invalid(w, "The resource submitted could not be validated: the body is not JSON.")
		return
	}
	if req.EmailAddress != "" {
		if a, err := mail.ParseAddress(req.EmailAddress); err != nil || a.Address != req.EmailAddress {
			invalid(w, "Please provide a valid email address.", FieldError{Field: "email_address", Message: "This value should be a valid email."})
			return
		}
	}
	a, ok := s.lookup(w, r)
	if !ok {
		return
	}
	defer s.mu.Unlock()
	h := r.PathValue("hash")
	if errs := a.checkMergeFields(req.MergeFields); len(errs) > 0 {
		invalid(w, "Your merge fields were invalid.", errs...)
		return
	}
	m := a.members[h]
	isNew := m == nil || m.Status == "archived"
	if m == nil && !put {
		notFound(w)
		return
	}
	if isNew {
		email := req.EmailAddress
		if m != nil && email == "" {
			email = m.Email
		}
		status := req.Status
		if status == "" {
			status = req.StatusIfNew
		}
		switch {
		case a.forgotten[h]:
			writeProblem(w, http.StatusBadRequest, "Forgotten Email Not Subscribed",
				email+" was permanently deleted and cannot be re-imported. The contact must re-subscribe to get back on the list.")
			return
		case email == "":
			invalid(w, validationDetail, FieldError{Field: "email_address", Message: "This value is required for a new member."})
			return
		case hash(email) != h:
			invalid(w, "The subscriber hash in the URL does not match the email address in the body.")
			return
		case status == "":
			invalid(w, validationDetail, FieldError{Field: "status_if_new", Message: "A status or status_if_new is required for a new member."})
			return
		}
		if m == nil {
			m = &Member{Email: email, MergeFields: map[string]any{}}
			a.members[h] = m
		}
		m.setStatus(status, s.now())
	} else {
		if req.EmailAddress != "" && hash(req.EmailAddress) != h {
			nh := hash(req.EmailAddress)
			if other := a.members[nh]; other != nil || a.forgotten[nh] {
				writeProblem(w, http.StatusBadRequest, "Member Exists",
					req.EmailAddress+" is already a list member. Use PUT to insert or update list members.")
				return
			}
			delete(a.members, h)
			a.members[nh] = m
			m.Email = req.EmailAddress
		}
		if req.Status != "" && req.Status != m.Status {
			if title, detail := m.refuse(req.Status); title != "" {
				writeProblem(w, http.StatusBadRequest, title, detail)
				return
			}
			m.setStatus(req.Status, s.now())
		}
	}
	for k, v := range req.MergeFields {
		m.MergeFields[k] = v
	}
	m.LastChanged = s.now()
	writeJSON(w, http.StatusOK, memberJSON(a, m))
}

// refuse returns the problem Mailchimp answers when the member may not be
// moved to status by the API, or "" when it may.
func (m *Member) refuse(status string) (title, detail string) {
	blocked := m.Status == "cleaned" || m.Status == "unsubscribed" && m.UnsubscribedBy == "member"
	wantsList := status == "subscribed" || (status == "pending" && m.Status == "cleaned")
	if blocked && wantsList {
		return "Member In Compliance State",
			m.Email + " is in a compliance state due to unsubscribe, bounce, or compliance review and cannot be subscribed."
	}
	return "", ""
}

func (m *Member) setStatus(status string, now time.Time) {
	if status == m.Status {
		return
	}
	m.Status = status
	switch status {
	case "unsubscribed":
		m.UnsubscribedBy = "api"
	case "pending":
		m.Confirmations++
		m.UnsubscribedBy = ""
	default:
		m.UnsubscribedBy = ""
	}
	m.LastChanged = now
}

// checkMergeFields refuses tags the audience does not have.
func (a *audience) checkMergeFields(fields map[string]any) []FieldError {
	var errs []FieldError
	for tag := range fields {
		if _, ok := a.field(tag); !ok {
			errs = append(errs, FieldError{Field: tag, Message: fmt.Sprintf("Merge field %q does not exist in this audience.", tag)})
		}
	}
	slices.SortFunc(errs, func(x, y FieldError) int { return cmp.Compare(x.Field, y.Field) })
	return errs
}

// handleMemberArchive archives a member (DELETE); 404 when none or
// already archived.
func (s *Server) handleMemberArchive(w http.ResponseWriter, r *http.Request) {
	a, ok := s.lookup(w, r)
	if !ok {
		return
	}
	defer s.mu.Unlock()
	m := a.members[r.PathValue("hash")]
	if m == nil || m.Status == "archived" {
		notFound(w)
		return
	}
	m.Status, m.LastChanged = "archived", s.now()
	w.WriteHeader(http.StatusNoContent)
}

// handleMemberDeletePermanent erases a member and remembers the address,
// which can then never be re-added by the API.
func (s *Server) handleMemberDeletePermanent(w http.ResponseWriter, r *http.Request) {
	a, ok := s.lookup(w, r)
	if !ok {
		return
	}
	defer s.mu.Unlock()
	h := r.PathValue("hash")
	if a.members[h] == nil {
		notFound(w)
		return
	}
	delete(a.members, h)
	a.forgotten[h] = true
	w.WriteHeader(http.StatusNoContent)
}

func memberJSON(a *audience, m *Member) map[string]any {
	tags := []map[string]any{}
	for i, t := range m.Tags {
		tags = append(tags, map[string]any{"id": i + 1, "name": t})
	}
	mf := map[string]any{}
	for _, f := range a.fields {
		if v, ok := m.MergeFields[f.Tag]; ok {
			mf[f.Tag] = v
		} else {
			mf[f.Tag] = ""
		}
	}
	return map[string]any{"id": hash(m.Email), "email_address": m.Email, "status": m.Status, "list_id": a.id,
		"merge_fields": mf, "tags": tags, "tags_count": len(tags), "last_changed": m.LastChanged.UTC().Format(time.RFC3339)}
}
