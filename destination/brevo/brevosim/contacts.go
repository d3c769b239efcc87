package brevosim

import (
	"cmp"
	"maps"
	"net/http"
	"slices"
	"time"
)

func (s *Server) handleContactCreate(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	b, e := s.parse(r, false)
	if e != nil {
		e.write(w)
		return
	}
	if b.email == "" && b.extID == "" && !b.hasSMS {
		badRequest("missing_parameter", msgMissingID).write(w)
		return
	}
	byEmail, byExtID, bySMS := s.findBy(b.email, "email"), s.findBy(b.extID, "ext_id"), s.findBy(b.sms, "sms")
	target := firstOf(byEmail, byExtID, bySMS)
	if target != nil && !b.UpdateEnabled {
		var dups []string
		for _, d := range []struct {
			c    *Contact
			name string
		}{{byEmail, "email"}, {byExtID, "ext_id"}, {bySMS, "sms"}} {
			if d.c != nil {
				dups = append(dups, d.name)
			}
		}
		msg := msgContactExists
		if byEmail == nil && bySMS != nil {
			msg = msgDupSMS
		} else if byEmail == nil {
			msg = msgDupExtID
		}
		badRequest("duplicate_parameter", msg, dups...).write(w)
		return
	}
	if target == nil {
		now := s.now()
		target = &Contact{ID: s.nextID, Attributes: map[string]any{}, CreatedAt: now}
		if e := s.apply(target, b); e != nil {
			e.write(w)
			return
		}
		s.nextID++
		s.contacts[target.ID] = target
		s.reindex(target)
		writeJSON(w, http.StatusCreated, map[string]int64{"id": target.ID})
		return
	}
	if e := s.apply(target, b); e != nil {
		e.write(w)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

func (s *Server) handleContactUpdate(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	c, e := s.resolve(r, false)
	if e != nil {
		e.write(w)
		return
	}
	b, e := s.parse(r, true)
	if e != nil {
		e.write(w)
		return
	}
	if e := s.apply(c, b); e != nil {
		e.write(w)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

func (s *Server) handleContactDelete(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	c, e := s.resolve(r, false)
	if e != nil {
		e.write(w)
		return
	}
	delete(s.contacts, c.ID)
	s.unindex(c)
	w.WriteHeader(http.StatusNoContent)
}

func (s *Server) handleContactGet(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	c, e := s.resolve(r, true)
	if e != nil {
		s.mu.Unlock()
		e.write(w)
		return
	}
	body := contactJSON(c)
	stats := map[string]any{}
	if !c.UserUnsubscribedAt.IsZero() {
		stats["unsubscriptions"] = map[string]any{"adminUnsubscription": []any{}, "userUnsubscription": []any{
			map[string]any{"campaignId": 1, "eventTime": c.UserUnsubscribedAt.UTC().Format(time.RFC3339)}}}
	}
	body["statistics"] = stats
	s.mu.Unlock()
	writeJSON(w, http.StatusOK, body)
}

// contactJSON is c as the spec's getContactDetails has it, without the
// statistics only GET /contacts/{identifier} adds; s.mu must be held.
func contactJSON(c *Contact) map[string]any {
	attrs := maps.Clone(c.Attributes)
	if attrs == nil {
		attrs = map[string]any{}
	}
	if c.ExtID != "" {
		attrs["EXT_ID"] = c.ExtID
	}
	body := map[string]any{
		"id":               c.ID,
		"attributes":       attrs,
		"emailBlacklisted": c.EmailBlacklisted,
		"smsBlacklisted":   c.SMSBlacklisted,
		"listIds":          append([]int64{}, c.ListIDs...),
		"createdAt":        c.CreatedAt.UTC().Format(timeFormat),
		"modifiedAt":       c.ModifiedAt.UTC().Format(timeFormat),
	}
	if c.Email != "" {
		body["email"] = c.Email
	}
	return body
}

// timeFormat is Brevo's YYYY-MM-DDTHH:mm:ss.SSSZ.
const timeFormat = "2006-01-02T15:04:05.000Z07:00"

// apply writes b into c, refusing identifiers another contact holds; s.mu
// must be held. Nothing is changed when it fails.
func (s *Server) apply(c *Contact, b *contactBody) *apiError {
	if o := s.findBy(b.email, "email"); o != nil && o != c {
		return badRequest("duplicate_parameter", msgDupEmail, "email")
	}
	if o := s.findBy(b.extID, "ext_id"); o != nil && o != c {
		return badRequest("duplicate_parameter", msgDupExtID, "ext_id")
	}
	if o := s.findBy(b.sms, "sms"); o != nil && o != c {
		return badRequest("duplicate_parameter", msgDupSMS, "sms")
	}
	if b.email != "" {
		c.Email = b.email
	}
	if b.extID != "" {
		c.ExtID = b.extID
	}
	if b.hasSMS {
		c.Attributes["SMS"] = b.sms
	}
	for k, v := range b.attrs {
		if v == "" { // an empty text clears the attribute
			delete(c.Attributes, k)
			continue
		}
		c.Attributes[k] = v
	}
	if b.EmailBlacklisted != nil {
		c.EmailBlacklisted = *b.EmailBlacklisted
	}
	if b.SMSBlacklisted != nil {
		c.SMSBlacklisted = *b.SMSBlacklisted
	}
	for _, id := range b.ListIDs {
		if !slices.Contains(c.ListIDs, id) {
			c.ListIDs = append(c.ListIDs, id)
		}
	}
	c.ListIDs = slices.DeleteFunc(c.ListIDs, func(id int64) bool { return slices.Contains(b.UnlinkListIDs, id) })
	slices.Sort(c.ListIDs)
	c.ModifiedAt = s.now()
	if _, stored := s.contacts[c.ID]; stored {
		s.reindex(c)
	}
	return nil
}

// handleContactList answers GET /contacts: the contacts modified and
// created after modifiedSince and createdSince (strictly after, the
// stricter reading of Brevo's "after"), in creation order with sort=asc
// or newest created first (desc, Brevo's default), paged by limit
// (default 50, at most 1000) and offset; count is how many match over all
// pages. The filters it does not implement (listIds, segmentId, ids,
// filter) are refused rather than ignored, so no test reads a wrong page.
func (s *Server) handleContactList(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	for _, k := range []string{"listIds", "segmentId", "ids", "filter"} {
		if q.Has(k) {
			badRequest("invalid_parameter", "the simulator does not implement the "+k+" filter of GET /contacts").write(w)
			return
		}
	}
	limit, offset, e := page(r, 50, 1000)
	if e != nil {
		e.write(w)
		return
	}
	modified, e := sinceParam(q.Get("modifiedSince"), "modifiedSince")
	if e != nil {
		e.write(w)
		return
	}
	created, e := sinceParam(q.Get("createdSince"), "createdSince")
	if e != nil {
		e.write(w)
		return
	}
	desc := true
	switch q.Get("sort") {
	case "", "desc":
	case "asc":
		desc = false
	default:
		badRequest("invalid_parameter", "sort must be asc or desc").write(w)
		return
	}
	s.mu.Lock()
	var match []*Contact
	for _, c := range s.contacts {
		if (modified.IsZero() || c.ModifiedAt.After(modified)) && (created.IsZero() || c.CreatedAt.After(created)) {
			match = append(match, c)
		}
	}
	slices.SortFunc(match, func(a, b *Contact) int {
		if n := a.CreatedAt.Compare(b.CreatedAt); n != 0 {
			return n
		}
		return cmp.Compare(a.ID, b.ID)
	})
	if desc {
		slices.Reverse(match)
	}
	out := []map[string]any{}
	for _, c := range pageOf(match, limit, offset) {
		out = append(out, contactJSON(c))
	}
	s.mu.Unlock()
	writeJSON(w, http.StatusOK, map[string]any{"contacts": out, "count": len(match)})
}

// sinceParam reads a modifiedSince or createdSince: an RFC 3339 time, or
// one without a zone, which Brevo reads as UTC; "" is no filter.
func sinceParam(v, name string) (time.Time, *apiError) {
	if v == "" {
		return time.Time{}, nil
	}
	if t, err := time.Parse(time.RFC3339Nano, v); err == nil {
		return t, nil
	}
	for _, layout := range []string{"2006-01-02T15:04:05.000", "2006-01-02T15:04:05"} {
		if t, err := time.ParseInLocation(layout, v, time.UTC); err == nil {
			return t, nil
		}
	}
	return time.Time{}, badRequest("invalid_parameter", name+" must be a date-time as YYYY-MM-DDTHH:mm:ss.SSSZ")
}
