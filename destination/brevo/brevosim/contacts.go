package brevosim

import (
	"maps"
	"net/http"
	"slices"
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
	attrs := maps.Clone(c.Attributes)
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
		"statistics":       map[string]any{},
	}
	if c.Email != "" {
		body["email"] = c.Email
	}
	s.mu.Unlock()
	writeJSON(w, http.StatusOK, body)
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
