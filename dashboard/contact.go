package dashboard

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"

	"synclayer"
)

// contactRef is a link to a contact, shown by its email when it has one.
type contactRef struct{ ID, Email string }

// emails looks up the email of each contact in ids, for tables that list
// record keys; a contact that is gone or has no email is left out.
func (s *Server) emails(ctx context.Context, ids []string) map[string]string {
	out := map[string]string{}
	for _, id := range ids {
		if _, done := out[id]; done || len(out) >= 200 {
			continue
		}
		out[id] = ""
		if c, err := s.cfg.Store.FindContactByID(ctx, id); err == nil {
			out[id] = c.Email
		}
	}
	return out
}

func recordKeys[T any](list []T, key func(T) string) []string {
	out := make([]string, len(list))
	for i, v := range list {
		out[i] = key(v)
	}
	return out
}

type searchData struct {
	Query    string
	Searched bool
	Contacts []*synclayer.Contact
	Page     int
	Prev     string // the previous page's URL; "" on the first
	Next     string // the next page's URL; "" on the last
}

// contactsPerPage is how many contacts a page of search results lists.
const contactsPerPage = 25

// handleContactSearch finds contacts by part of an email or name (?q=,
// or ?email= as before), contactsPerPage at a time (?page=). A query
// that is one contact's whole email, or that matches one contact only,
// opens its trace; with no query it lists the most recently changed
// contacts.
func (s *Server) handleContactSearch(w http.ResponseWriter, r *http.Request, req *request) {
	q := strings.TrimSpace(r.URL.Query().Get("q"))
	if q == "" {
		q = strings.TrimSpace(r.URL.Query().Get("email"))
	}
	page := 1
	if p := r.URL.Query().Get("page"); p != "" {
		n, err := strconv.Atoi(p)
		if err != nil || n < 1 || n > 1000 {
			s.fail(w, r, req, synclayer.FieldErrorf("page", "must be a page number from 1 to 1000, not %q", p))
			return
		}
		page = n
	}
	if q == "" {
		contacts, err := s.cfg.Store.FindContacts(r.Context(), synclayer.ContactFilter{Limit: 50})
		if err != nil {
			s.fail(w, r, req, err)
			return
		}
		s.render(w, r, http.StatusOK, "contacts.html", contactsPage(req, searchData{Contacts: contacts, Page: 1}))
		return
	}
	if page == 1 && strings.Contains(q, "@") {
		exact, err := s.cfg.Store.FindContacts(r.Context(), synclayer.ContactFilter{Email: strings.ToLower(q), Limit: 2})
		if err != nil {
			s.fail(w, r, req, err)
			return
		}
		if len(exact) == 1 {
			http.Redirect(w, r, "/ui/contacts/"+url.PathEscape(exact[0].ID), http.StatusSeeOther)
			return
		}
	}
	contacts, err := s.cfg.Store.SearchContacts(r.Context(), q, contactsPerPage+1, (page-1)*contactsPerPage)
	if err != nil {
		s.fail(w, r, req, err)
		return
	}
	if page == 1 && len(contacts) == 1 {
		http.Redirect(w, r, "/ui/contacts/"+url.PathEscape(contacts[0].ID), http.StatusSeeOther)
		return
	}
	d := searchData{Query: q, Searched: true, Contacts: contacts, Page: page}
	link := func(p int) string { return "/ui/contacts?" + url.Values{"q": {q}, "page": {strconv.Itoa(p)}}.Encode() }
	if len(contacts) > contactsPerPage {
		d.Contacts, d.Next = contacts[:contactsPerPage], link(page+1)
	}
	if page > 1 {
		d.Prev = link(page - 1)
	}
	s.render(w, r, http.StatusOK, "contacts.html", contactsPage(req, d))
}

func contactsPage(req *request, d searchData) page {
	return page{Title: "Contacts", Active: "contacts", Key: req.key, CSRF: req.csrf, Data: d}
}

// fieldRow is one canonical field with where its value came from.
type fieldRow struct {
	Name  string
	Value string
	synclayer.Field
}

// traceRow is one trace entry, with an event's decisions or a delivery's
// plan unpacked for display.
type traceRow struct {
	*synclayer.TraceEntry
	Source, Topic string
	Decisions     []synclayer.Decision
	Plan          string // the delivery plan, indented JSON
	Failed        bool
}

type contactData struct {
	Contact *synclayer.Contact
	Fields  []fieldRow
	Trace   []traceRow
}

// handleContact shows one contact and its trace, oldest first: each event
// with the rule that decided each field, and each delivery with what the
// destination answered.
func (s *Server) handleContact(w http.ResponseWriter, r *http.Request, req *request) {
	c, err := s.cfg.Store.FindContactByID(r.Context(), r.PathValue("id"))
	if err != nil {
		s.fail(w, r, req, err)
		return
	}
	trace, err := s.cfg.Store.Trace(r.Context(), c.ID)
	if err != nil {
		s.fail(w, r, req, err)
		return
	}
	d := contactData{Contact: c}
	for name, f := range c.Fields {
		d.Fields = append(d.Fields, fieldRow{Name: name, Value: jsonText(f.Value), Field: f})
	}
	slices.SortFunc(d.Fields, func(a, b fieldRow) int { return strings.Compare(a.Name, b.Name) })
	for _, t := range trace {
		row := traceRow{TraceEntry: t}
		switch t.Kind {
		case synclayer.TraceEvent:
			var det struct {
				Source    string               `json:"source"`
				Topic     string               `json:"topic"`
				Decisions []synclayer.Decision `json:"decisions"`
			}
			_ = json.Unmarshal(t.Detail, &det)
			row.Source, row.Topic, row.Decisions = det.Source, det.Topic, det.Decisions
		case synclayer.TraceDelivery:
			row.Failed = strings.Contains(t.Summary, "failed")
			var det struct {
				Plan json.RawMessage `json:"plan"`
			}
			if json.Unmarshal(t.Detail, &det) == nil && len(det.Plan) > 0 {
				var buf bytes.Buffer
				if json.Indent(&buf, det.Plan, "", "  ") == nil {
					row.Plan = buf.String()
				}
			}
		}
		d.Trace = append(d.Trace, row)
	}
	title := c.Email
	if title == "" {
		title = c.ID
	}
	s.render(w, r, http.StatusOK, "contact.html", page{Title: title, Active: "contacts", Key: req.key, CSRF: req.csrf, Data: d})
}

// jsonText shows a JSON value as text: a string without quotes, a list
// joined with commas, anything else as JSON.
func jsonText(raw json.RawMessage) string {
	var s string
	if json.Unmarshal(raw, &s) == nil {
		return s
	}
	var list []string
	if json.Unmarshal(raw, &list) == nil {
		return strings.Join(list, ", ")
	}
	return string(raw)
}
