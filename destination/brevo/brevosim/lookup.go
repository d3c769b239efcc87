package brevosim

import (
	"cmp"
	"fmt"
	"maps"
	"net/http"
	"slices"
	"strconv"
	"strings"
)

// resolve finds the contact a request's path names; s.mu must be held.
// Without identifierType, the identifier is an email or a numeric ID, or for
// GET also an SMS number.
func (s *Server) resolve(r *http.Request, phoneDefault bool) (*Contact, *apiError) {
	id := r.PathValue("identifier")
	var c *Contact
	switch typ := r.URL.Query().Get("identifierType"); typ {
	case "":
		switch n, err := strconv.ParseInt(id, 10, 64); {
		case strings.Contains(id, "@"):
			c = s.findBy(strings.ToLower(id), "email")
		case err == nil:
			c = s.contacts[n]
		}
		if c == nil && phoneDefault {
			c = s.findPhone("SMS", id)
		}
	case "email_id":
		c = s.findBy(strings.ToLower(id), "email")
	case "contact_id":
		if n, err := strconv.ParseInt(id, 10, 64); err == nil {
			c = s.contacts[n]
		}
	case "ext_id":
		c = s.findBy(id, "ext_id")
	case "phone_id":
		c = s.findPhone("SMS", id)
	case "whatsapp_id":
		c = s.findPhone("WHATSAPP", id)
	case "landline_number_id":
		c = s.findPhone("LANDLINE_NUMBER", id)
	default:
		return nil, badRequest("invalid_parameter", "identifierType is not valid")
	}
	if c == nil {
		return nil, errNotFound
	}
	return c, nil
}

// findBy returns the contact whose email, ext_id or sms is v, or nil; s.mu
// must be held. It reads the index, so lookups stay cheap however many
// contacts the simulator holds.
func (s *Server) findBy(v, field string) *Contact {
	if v == "" {
		return nil
	}
	return s.byKey[field+":"+v]
}

// reindex records c's current identifiers in the index; s.mu must be held.
func (s *Server) reindex(c *Contact) {
	s.unindex(c)
	var keys []string
	add := func(field, v string) {
		if v != "" {
			keys = append(keys, field+":"+v)
		}
	}
	add("email", c.Email)
	add("ext_id", c.ExtID)
	if sms, _ := c.Attributes["SMS"].(string); sms != "" {
		add("sms", sms)
	}
	for _, k := range keys {
		s.byKey[k] = c
	}
	s.keysOf[c.ID] = keys
}

func (s *Server) unindex(c *Contact) {
	for _, k := range s.keysOf[c.ID] {
		if s.byKey[k] == c {
			delete(s.byKey, k)
		}
	}
	delete(s.keysOf, c.ID)
}

func (s *Server) findPhone(attr, number string) *Contact {
	digits, ok := normalizeSMS(number)
	if !ok {
		return nil
	}
	if attr == "SMS" {
		if c := s.findBy(digits, "sms"); c != nil {
			return c
		}
	}
	for _, c := range s.contacts {
		if v, _ := c.Attributes[attr].(string); v != "" {
			if d, _ := normalizeSMS(v); d == digits {
				return c
			}
		}
	}
	return nil
}

func firstOf(cs ...*Contact) *Contact {
	for _, c := range cs {
		if c != nil {
			return c
		}
	}
	return nil
}

// Contacts returns a copy of every contact, sorted by ID.
func (s *Server) Contacts() []Contact {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]Contact, 0, len(s.contacts))
	for _, c := range s.contacts {
		out = append(out, clone(c))
	}
	slices.SortFunc(out, func(a, b Contact) int { return cmp.Compare(a.ID, b.ID) })
	return out
}

// ContactByEmail returns a copy of the contact with email, matched without
// regard to case.
func (s *Server) ContactByEmail(email string) (Contact, bool) {
	return s.lookup(strings.ToLower(strings.TrimSpace(email)), "email")
}

// ContactByExtID returns a copy of the contact with ext_id id.
func (s *Server) ContactByExtID(id string) (Contact, bool) { return s.lookup(id, "ext_id") }

func (s *Server) lookup(v, field string) (Contact, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if c := s.findBy(v, field); c != nil {
		return clone(c), true
	}
	return Contact{}, false
}

func clone(c *Contact) Contact {
	out := *c
	out.Attributes = maps.Clone(c.Attributes)
	out.ListIDs = slices.Clone(c.ListIDs)
	return out
}

// Blocklist blocklists the contact with email as Brevo does when the
// person unsubscribes from a campaign, without telling any webhook (as
// when none is registered, or its delivery is lost): synclayer only finds
// out by reading the contact, whose modifiedAt it sets to the clock's now.
// Unsubscribe also delivers the webhook. It reports whether such a
// contact exists.
func (s *Server) Blocklist(email string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	c := s.findBy(normEmail(email), "email")
	if c == nil {
		return false
	}
	c.EmailBlacklisted = true
	c.ModifiedAt = s.now()
	return true
}

// UnsubscribeSilently is Unsubscribe whose webhook is lost: the contact is
// blocklisted and its modifiedAt set, and no webhook hears of it. It fails
// when no contact has email.
func (s *Server) UnsubscribeSilently(email string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	c := s.findBy(normEmail(email), "email")
	if c == nil {
		return fmt.Errorf("brevosim: no contact has email %s", email)
	}
	c.EmailBlacklisted = true
	c.ModifiedAt = s.now()
	c.UserUnsubscribedAt = c.ModifiedAt
	return nil
}

func normEmail(s string) string { return strings.ToLower(strings.TrimSpace(s)) }
