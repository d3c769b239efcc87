package klaviyosim

import (
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"time"
)

// Job is one subscribe or unsubscribe job received: Kind "subscribe" or
// "unsubscribe", the list it named ("" for none) and the profile emails.
type Job struct {
	Kind   string
	ListID string
	Emails []string
	At     time.Time
}

type jobProfile struct {
	ID         *string `json:"id"`
	Attributes struct {
		Email         *string `json:"email"`
		PhoneNumber   *string `json:"phone_number"`
		Subscriptions struct {
			Email *struct {
				Marketing *struct {
					Consent     string     `json:"consent"`
					ConsentedAt *time.Time `json:"consented_at"`
				} `json:"marketing"`
			} `json:"email"`
		} `json:"subscriptions"`
	} `json:"attributes"`
}

type jobBody struct {
	Data struct {
		Type       string `json:"type"`
		Attributes struct {
			Profiles struct {
				Data []jobProfile `json:"data"`
			} `json:"profiles"`
			HistoricalImport *bool   `json:"historical_import"`
			CustomSource     *string `json:"custom_source"`
		} `json:"attributes"`
		Relationships struct {
			List struct {
				Data *struct {
					ID string `json:"id"`
				} `json:"data"`
			} `json:"list"`
		} `json:"relationships"`
	} `json:"data"`
}

// parseJob reads a subscription job of type typ with at most max profiles
// and returns it with the list it names (nil for none); s.mu is held.
func (s *Server) parseJob(r *http.Request, typ string, limit int) (*jobBody, *list, *apiError) {
	var b jobBody
	if err := json.NewDecoder(r.Body).Decode(&b); err != nil || b.Data.Type != typ {
		return nil, nil, invalid("The body must be a "+typ+" resource.", "/data")
	}
	n := len(b.Data.Attributes.Profiles.Data)
	if n == 0 || n > limit {
		return nil, nil, invalid(fmt.Sprintf("A job takes 1 to %d profiles.", limit), "/data/attributes/profiles/data")
	}
	var l *list
	if d := b.Data.Relationships.List.Data; d != nil {
		if l = s.lists[d.ID]; l == nil {
			return nil, nil, notFound("A list with id " + d.ID + " does not exist.")
		}
	}
	return &b, l, nil
}

// handleSubscribe grants email marketing consent: it lifts UNSUBSCRIBE,
// SPAM_COMPLAINT and USER_SUPPRESSED suppressions (not HARD_BOUNCE or
// INVALID_EMAIL) and adds the profiles to the list. Lists are single
// opt-in here, so consent is immediate.
func (s *Server) handleSubscribe(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	b, l, e := s.parseJob(r, "profile-subscription-bulk-create-job", 1000)
	if e != nil {
		e.write(w)
		return
	}
	historical := b.Data.Attributes.HistoricalImport != nil && *b.Data.Attributes.HistoricalImport
	now := s.now()
	var targets []*Profile
	for i, jp := range b.Data.Attributes.Profiles.Data {
		ptr := fmt.Sprintf("/data/attributes/profiles/data/%d/attributes", i)
		m := jp.Attributes.Subscriptions.Email
		if m != nil && m.Marketing != nil {
			if m.Marketing.Consent != "SUBSCRIBED" {
				invalid("consent must be SUBSCRIBED.", ptr+"/subscriptions/email/marketing/consent").write(w)
				return
			}
			switch at := m.Marketing.ConsentedAt; {
			case at != nil && !historical:
				invalid("consented_at may be set only with historical_import.", ptr+"/subscriptions/email/marketing/consented_at").write(w)
				return
			case historical && (at == nil || !at.Before(now)):
				invalid("Historical email subscription does not have a valid consented_at timestamp.", ptr+"/subscriptions/email/marketing/consented_at").write(w)
				return
			}
		}
		p, e := s.jobTarget(jp, ptr)
		if e != nil {
			e.write(w)
			return
		}
		if m != nil && m.Marketing != nil {
			targets = append(targets, p)
		}
	}
	job := Job{Kind: "subscribe", At: now}
	for _, p := range targets {
		p.EmailConsent, p.ConsentMethod, p.ConsentAt = "SUBSCRIBED", "API", now
		p.Suppressions = slices.DeleteFunc(p.Suppressions, func(x Suppression) bool {
			return x.Reason == "UNSUBSCRIBE" || x.Reason == "SPAM_COMPLAINT" || x.Reason == "USER_SUPPRESSED"
		})
		if l != nil {
			p.ListSuppressions = slices.DeleteFunc(p.ListSuppressions, func(x ListSuppression) bool { return x.ListID == l.id })
			l.members[p.ID] = true
		}
		job.Emails = append(job.Emails, p.Email)
	}
	if l != nil {
		job.ListID = l.id
	}
	s.jobs = append(s.jobs, job)
	w.WriteHeader(http.StatusAccepted)
}

// handleUnsubscribe revokes email marketing consent. A profile in the
// given list is removed from it and suppressed from that list only; any
// other profile, and every profile when no list is given, is unsubscribed
// globally, as the spec warns.
func (s *Server) handleUnsubscribe(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	b, l, e := s.parseJob(r, "profile-subscription-bulk-delete-job", 100)
	if e != nil {
		e.write(w)
		return
	}
	now := s.now()
	job := Job{Kind: "unsubscribe", At: now}
	if l != nil {
		job.ListID = l.id
	}
	for i, jp := range b.Data.Attributes.Profiles.Data {
		ptr := fmt.Sprintf("/data/attributes/profiles/data/%d/attributes", i)
		m := jp.Attributes.Subscriptions.Email
		if m == nil || m.Marketing == nil {
			continue
		}
		if m.Marketing.Consent != "UNSUBSCRIBED" {
			invalid("consent must be UNSUBSCRIBED.", ptr+"/subscriptions/email/marketing/consent").write(w)
			return
		}
		p, e := s.jobTarget(jp, ptr)
		if e != nil {
			e.write(w)
			return
		}
		job.Emails = append(job.Emails, p.Email)
		if l != nil && l.members[p.ID] {
			delete(l.members, p.ID)
			p.ListSuppressions = append(p.ListSuppressions, ListSuppression{ListID: l.id, Reason: "USER_SUPPRESSED", At: now})
			continue
		}
		s.unsubscribe(p, "API", now)
	}
	s.jobs = append(s.jobs, job)
	w.WriteHeader(http.StatusAccepted)
}

// jobTarget finds a job's profile by id, else by email, and creates it
// when none matches, as Klaviyo does; s.mu is held.
func (s *Server) jobTarget(jp jobProfile, ptr string) (*Profile, *apiError) {
	if jp.ID != nil && *jp.ID != "" {
		if p := s.profiles[*jp.ID]; p != nil {
			return p, nil
		}
		return nil, notFound("A profile with id " + *jp.ID + " does not exist.")
	}
	email := jp.Attributes.Email
	if email == nil || *email == "" {
		return nil, invalid("An email is required for the email channel.", ptr+"/email")
	}
	if !validEmail(*email) {
		return nil, invalid("Invalid email address.", ptr+"/email")
	}
	if p := s.findBy("email", *email); p != nil {
		return p, nil
	}
	p := s.newProfile()
	p.Email = *email
	return p, nil
}

// Metrics Klaviyo records itself when a profile opts out of email
// marketing (webhook topics event:klaviyo.unsubscribed_from_email_marketing,
// …marked_email_as_spam, …bounced_email).
const (
	MetricUnsubscribedEmail = "Unsubscribed from Email Marketing"
	MetricMarkedSpam        = "Marked Email as Spam"
	MetricBouncedEmail      = "Bounced Email"
)

// unsubscribe revokes p's email marketing consent at at, by method, with
// an UNSUBSCRIBE suppression (the spec's suppression reasons include it),
// and records Klaviyo's Unsubscribed from Email Marketing event when the
// consent changes; s.mu is held.
func (s *Server) unsubscribe(p *Profile, method string, at time.Time) {
	changed := p.EmailConsent != "UNSUBSCRIBED"
	p.EmailConsent, p.ConsentMethod, p.ConsentAt = "UNSUBSCRIBED", method, at
	if !slices.ContainsFunc(p.Suppressions, func(x Suppression) bool { return x.Reason == "UNSUBSCRIBE" }) {
		p.Suppressions = append(p.Suppressions, Suppression{Reason: "UNSUBSCRIBE", At: at})
	}
	p.Updated = at
	if changed {
		s.record(p, IntegrationKlaviyo, Event{Metric: MetricUnsubscribedEmail, Time: at, Properties: map[string]any{"Method": method}})
	}
}
