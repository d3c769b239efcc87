package mailchimpsim

import (
	"cmp"
	"maps"
	"slices"
)

// Test hooks: what happens inside Mailchimp, outside the API.

// MemberOf returns a copy of the member with email in audience list.
func (s *Server) MemberOf(list, email string) (Member, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	a := s.audiences[list]
	if a == nil || a.members[hash(email)] == nil {
		return Member{}, false
	}
	return copyMember(a.members[hash(email)]), true
}

// Members returns copies of every member of list, by email.
func (s *Server) Members(list string) []Member {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []Member
	if a := s.audiences[list]; a != nil {
		for _, m := range a.members {
			out = append(out, copyMember(m))
		}
	}
	slices.SortFunc(out, func(x, y Member) int { return cmp.Compare(x.Email, y.Email) })
	return out
}

// MergeFields returns the merge fields of list.
func (s *Server) MergeFields(list string) []MergeField {
	s.mu.Lock()
	defer s.mu.Unlock()
	if a := s.audiences[list]; a != nil {
		return slices.Clone(a.fields)
	}
	return nil
}

// SignUp adds email to list with status as a Mailchimp signup form would.
func (s *Server) SignUp(list, email, status string) { s.inside(list, email, status, true) }

// UnsubscribeInMailchimp has the person unsubscribe (an unsubscribe link):
// the API may then not resubscribe them.
func (s *Server) UnsubscribeInMailchimp(list, email string) {
	s.inside(list, email, "unsubscribed", false)
}

// CleanInMailchimp marks the address cleaned, as after a hard bounce.
func (s *Server) CleanInMailchimp(list, email string) { s.inside(list, email, "cleaned", false) }

// Forgotten reports whether email was permanently deleted from list.
func (s *Server) Forgotten(list, email string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	a := s.audiences[list]
	return a != nil && a.forgotten[hash(email)]
}

func (s *Server) inside(list, email, status string, create bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	a := s.audiences[list]
	if a == nil {
		return
	}
	m := a.members[hash(email)]
	if m == nil {
		if !create {
			return
		}
		m = &Member{Email: email, MergeFields: map[string]any{}}
		a.members[hash(email)] = m
	}
	m.Status, m.LastChanged = status, s.now()
	m.UnsubscribedBy = ""
	if status == "unsubscribed" {
		m.UnsubscribedBy = "member"
	}
}

func copyMember(m *Member) Member {
	c := *m
	c.MergeFields = maps.Clone(m.MergeFields)
	c.Tags = slices.Clone(m.Tags)
	c.Events = slices.Clone(m.Events)
	for i := range c.Events {
		c.Events[i].Properties = maps.Clone(m.Events[i].Properties)
	}
	return c
}
