package klaviyosim

import (
	"maps"
	"slices"
)

// These methods read and change the server's state directly, as a person
// or a Klaviyo user would inside Klaviyo, for tests and for the program's
// simulator pages.

// AddList creates list id (single opt-in) if it does not exist.
func (s *Server) AddList(id, name string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.lists[id] == nil {
		s.lists[id] = &list{id: id, name: name, created: s.now(), members: map[string]bool{}}
	}
}

// ListMembers returns the profile IDs in list id, sorted.
func (s *Server) ListMembers(id string) []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	if l := s.lists[id]; l != nil {
		return slices.Sorted(maps.Keys(l.members))
	}
	return nil
}

// Profile returns a copy of the profile whose ID, external_id or email is
// key.
func (s *Server) Profile(key string) (Profile, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	p := s.lookup(key)
	if p == nil {
		return Profile{}, false
	}
	return clone(p), true
}

// Profiles returns copies of every profile, by ID.
func (s *Server) Profiles() []Profile {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := []Profile{}
	for _, id := range s.sortedIDs() {
		out = append(out, clone(s.profiles[id]))
	}
	return out
}

// PutProfile stores p as a new profile, as if created inside Klaviyo (a
// signup form), and returns its ID. Empty maps and consent are filled in.
func (s *Server) PutProfile(p Profile) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := s.newProfile()
	id, created := n.ID, n.Created
	*n = clone(&p)
	n.ID, n.Created, n.Updated = id, created, created
	if n.EmailConsent == "" {
		n.EmailConsent = "NEVER_SUBSCRIBED"
	}
	return id
}

// UnsubscribeInKlaviyo unsubscribes the profile with key (ID, external_id
// or email) as its owner clicking an unsubscribe link would: consent
// UNSUBSCRIBED at the simulator's now, an UNSUBSCRIBE suppression, the
// Unsubscribed from Email Marketing event, updated moved. It reports
// whether the profile exists.
func (s *Server) UnsubscribeInKlaviyo(key string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	p := s.lookup(key)
	if p != nil {
		s.unsubscribe(p, "PREFERENCE_PAGE", s.now())
	}
	return p != nil
}

// MarkAsSpam is the profile with key marking an email as spam: Klaviyo
// records Marked Email as Spam and the profile can no longer be emailed,
// which Klaviyo's help shows as an unsubscribed consent rather than a
// suppression; updated moves. It reports whether the profile exists.
func (s *Server) MarkAsSpam(key string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	p := s.lookup(key)
	if p == nil {
		return false
	}
	now := s.now()
	p.EmailConsent, p.ConsentMethod, p.ConsentAt, p.Updated = "UNSUBSCRIBED", "SPAM_COMPLAINT", now, now
	s.record(p, IntegrationKlaviyo, Event{Metric: MetricMarkedSpam, Time: now, Properties: map[string]any{}})
	return true
}

// Suppress adds a global suppression (HARD_BOUNCE, SPAM_COMPLAINT,
// USER_SUPPRESSED, ...) at the simulator's now to the profile with key, as
// Klaviyo or a user would, without changing its consent; updated moves,
// and a HARD_BOUNCE records Klaviyo's Bounced Email event.
func (s *Server) Suppress(key, reason string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	p := s.lookup(key)
	if p == nil {
		return false
	}
	now := s.now()
	p.Suppressions = append(p.Suppressions, Suppression{Reason: reason, At: now})
	p.Updated = now
	if reason == "HARD_BOUNCE" {
		s.record(p, IntegrationKlaviyo, Event{Metric: MetricBouncedEmail, Time: now, Properties: map[string]any{"Bounce Type": "hard"}})
	}
	return true
}

// Jobs returns the subscribe and unsubscribe jobs received, oldest first.
func (s *Server) Jobs() []Job {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.jobs)
}

// DeletionJobs returns the data-privacy deletions received, oldest first.
func (s *Server) DeletionJobs() []DeletionJob {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.deletions)
}

func (s *Server) lookup(key string) *Profile {
	if p := s.profiles[key]; p != nil {
		return p
	}
	if p := s.findBy("external_id", key); p != nil {
		return p
	}
	return s.findBy("email", key)
}

func clone(p *Profile) Profile {
	c := *p
	c.Attributes = maps.Clone(p.Attributes)
	c.Location = maps.Clone(p.Location)
	c.Properties = maps.Clone(p.Properties)
	c.Suppressions = slices.Clone(p.Suppressions)
	c.ListSuppressions = slices.Clone(p.ListSuppressions)
	if c.Attributes == nil {
		c.Attributes = map[string]string{}
	}
	if c.Location == nil {
		c.Location = map[string]any{}
	}
	if c.Properties == nil {
		c.Properties = map[string]any{}
	}
	return c
}
