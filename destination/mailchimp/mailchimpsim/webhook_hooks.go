package mailchimpsim

import (
	"errors"
	"fmt"
	"maps"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Test hooks: changes made inside Mailchimp that its audience webhooks
// report. Each changes the member, then POSTs the delivery, form-encoded
// as Mailchimp sends it (docs/platforms/mailchimp.md lists the fields and
// their sources), to every webhook of the audience triggered by that
// event and source, at its URL with its query. Each returns an error when
// no webhook took the delivery or one was not answered 2xx, so a test can
// say "Mailchimp reports an unsubscribe" and know it arrived.

// Delivery is one webhook delivery the simulator made.
type Delivery struct {
	WebhookID string
	URL       string
	Form      url.Values
	Status    int // 0 when the request failed
	At        time.Time
}

// Deliveries returns the webhook deliveries made, oldest first.
func (s *Server) Deliveries() []Delivery {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := slices.Clone(s.deliveries)
	for i := range out {
		out[i].Form = maps.Clone(out[i].Form)
	}
	return out
}

// Webhooks returns copies of the webhooks of list.
func (s *Server) Webhooks(list string) []Webhook {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []Webhook
	if a := s.audiences[list]; a != nil {
		for _, h := range a.webhooks {
			c := *h
			c.Events, c.Sources = maps.Clone(h.Events), maps.Clone(h.Sources)
			out = append(out, c)
		}
	}
	return out
}

// Unsubscribe has the person unsubscribe from list through an unsubscribe
// link (of campaign campaignID, or of none when it is ""): the member
// becomes unsubscribed, and the API may not resubscribe them. Source user,
// action unsub, reason manual.
func (s *Server) Unsubscribe(list, email, campaignID string) error {
	return s.change(list, email, "unsubscribe", "user", func(a *audience, m *Member, f url.Values) {
		m.Status, m.UnsubscribedBy = "unsubscribed", "member"
		memberForm(f, a, m)
		f.Set("data[action]", "unsub")
		f.Set("data[reason]", "manual")
		if campaignID != "" {
			f.Set("data[campaign_id]", campaignID)
		}
	})
}

// Clean marks the address cleaned, after a hard bounce (reason "hard") or
// an abuse complaint ("abuse"), in campaign "sim-campaign". The
// simulator delivers cleaned whatever the webhook's sources, since
// Mailchimp does not say which source a clean is (its guess).
func (s *Server) Clean(list, email, reason string) error {
	return s.change(list, email, "cleaned", "", func(a *audience, m *Member, f url.Values) {
		m.Status, m.UnsubscribedBy = "cleaned", ""
		f.Set("data[list_id]", a.id)
		f.Set("data[campaign_id]", "sim-campaign")
		f.Set("data[reason]", reason)
		f.Set("data[email]", m.Email)
	})
}

// SignUpForm has the person subscribe to list through a Mailchimp signup
// form, with merges as merge field values (by tag): a new member, or a
// former one, becomes subscribed. Source user.
func (s *Server) SignUpForm(list, email string, merges map[string]string) error {
	return s.change(list, email, "subscribe", "user", func(a *audience, m *Member, f url.Values) {
		m.Status, m.UnsubscribedBy = "subscribed", ""
		for k, v := range merges {
			m.MergeFields[strings.ToUpper(k)] = v
		}
		memberForm(f, a, m)
		f.Set("data[ip_signup]", "10.20.10.30")
	})
}

// EditProfile has an admin change the member's merge fields (by tag) in
// Mailchimp's interface. Source admin.
func (s *Server) EditProfile(list, email string, merges map[string]string) error {
	return s.change(list, email, "profile", "admin", func(a *audience, m *Member, f url.Values) {
		for k, v := range merges {
			m.MergeFields[strings.ToUpper(k)] = v
		}
		memberForm(f, a, m)
	})
}

// ChangeEmail has an admin change the member's address; the member moves
// to the new address's hash. Source admin.
func (s *Server) ChangeEmail(list, oldEmail, newEmail string) error {
	return s.change(list, oldEmail, "upemail", "admin", func(a *audience, m *Member, f url.Values) {
		delete(a.members, hash(m.Email))
		m.Email = newEmail
		a.members[hash(newEmail)] = m
		f.Set("data[list_id]", a.id)
		f.Set("data[new_id]", memberID(newEmail))
		f.Set("data[new_email]", newEmail)
		f.Set("data[old_email]", oldEmail)
	})
}

// change applies edit to the member with email in list (created for a
// subscribe), under the lock, then delivers the form it filled.
func (s *Server) change(list, email, typ, source string, edit func(*audience, *Member, url.Values)) error {
	s.mu.Lock()
	a := s.audiences[list]
	if a == nil {
		s.mu.Unlock()
		return fmt.Errorf("mailchimpsim: no audience %s", list)
	}
	m := a.members[hash(email)]
	if m == nil {
		if typ != "subscribe" {
			s.mu.Unlock()
			return fmt.Errorf("mailchimpsim: audience %s has no member %s", list, email)
		}
		m = &Member{Email: email, MergeFields: map[string]any{}}
		a.members[hash(email)] = m
	}
	now := s.now()
	f := url.Values{"type": {typ}, "fired_at": {now.UTC().Format("2006-01-02 15:04:05")}}
	edit(a, m, f)
	m.LastChanged = now
	var targets []Webhook
	for _, h := range a.webhooks {
		if h.Events[typ] && (source == "" || h.Sources[source]) {
			targets = append(targets, *h)
		}
	}
	s.mu.Unlock()
	if len(targets) == 0 {
		return fmt.Errorf("mailchimpsim: no webhook of audience %s is triggered by %s from source %q", list, typ, source)
	}
	var errs []error
	for _, h := range targets {
		errs = append(errs, s.deliver(h, f, now))
	}
	return errors.Join(errs...)
}

// deliver POSTs form to h, as Mailchimp does, and records it.
func (s *Server) deliver(h Webhook, form url.Values, at time.Time) error {
	d := Delivery{WebhookID: h.ID, URL: h.URL, Form: maps.Clone(form), At: at}
	req, err := http.NewRequest(http.MethodPost, h.URL, strings.NewReader(form.Encode()))
	if err == nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.Header.Set("User-Agent", DeliveryAgent)
		var resp *http.Response
		if resp, err = s.webhookHTTP().Do(req); err == nil {
			resp.Body.Close()
			d.Status = resp.StatusCode
			if resp.StatusCode/100 != 2 {
				err = fmt.Errorf("answered %d", resp.StatusCode)
			}
		}
	}
	s.mu.Lock()
	s.deliveries = append(s.deliveries, d)
	s.mu.Unlock()
	if err != nil {
		return fmt.Errorf("mailchimpsim: webhook %s: %w", h.ID, err)
	}
	return nil
}

// memberForm fills the member fields subscribe, unsubscribe and profile
// share: data[id], data[list_id], data[email], data[email_type], every
// merge field of the audience as data[merges][TAG] (with EMAIL), and
// data[ip_opt].
func memberForm(f url.Values, a *audience, m *Member) {
	f.Set("data[id]", memberID(m.Email))
	f.Set("data[list_id]", a.id)
	f.Set("data[email]", m.Email)
	f.Set("data[email_type]", "html")
	f.Set("data[merges][EMAIL]", m.Email)
	for _, mf := range a.fields {
		if v, ok := m.MergeFields[mf.Tag]; ok && mf.Type != "address" {
			f.Set("data[merges]["+mf.Tag+"]", mergeText(v))
		} else if !ok {
			f.Set("data[merges]["+mf.Tag+"]", "")
		}
	}
	f.Set("data[ip_opt]", "10.20.10.30")
}

// memberID is the simulator's data[id]: ten hex digits, like the samples'
// "8a25ff1d98".
func memberID(email string) string { return hash(email)[:10] }

// mergeText is a merge value as a delivery carries it: text.
func mergeText(v any) string {
	switch x := v.(type) {
	case string:
		return x
	case float64:
		return strconv.FormatFloat(x, 'f', -1, 64)
	case nil:
		return ""
	}
	return fmt.Sprint(v)
}
