package mailchimpsim

import (
	"encoding/json"
	"net/http"
	"net/url"
	"strconv"
	"time"
)

// Webhook is a webhook of an audience, as POST /lists/{list_id}/webhooks
// created it.
type Webhook struct {
	ID      string
	ListID  string
	URL     string          // with its query: synclayer's holds the secret
	Events  map[string]bool // subscribe, unsubscribe, profile, cleaned, upemail, campaign
	Sources map[string]bool // user, admin, api
}

// webhookEvents and webhookSources are the flags of the spec's Events_2
// and Sources_1.
var (
	webhookEvents  = []string{"subscribe", "unsubscribe", "profile", "cleaned", "upemail", "campaign"}
	webhookSources = []string{"user", "admin", "api"}
)

// ValidatorAgent is the User-Agent of the GET with which the simulator,
// like Mailchimp, checks a webhook URL before it keeps it (as observed in
// https://gist.github.com/strangeways/96b26ee7e61b9800e264b16688cce038).
const ValidatorAgent = "MailChimp.com WebHook Validator"

// DeliveryAgent is the User-Agent of a delivery (same source).
const DeliveryAgent = "MailChimp.com"

func (s *Server) routeWebhooks() {
	s.mux.HandleFunc("GET /lists/{list_id}/webhooks", s.handleWebhookList)
	s.mux.HandleFunc("POST /lists/{list_id}/webhooks", s.handleWebhookCreate)
	s.mux.HandleFunc("GET /lists/{list_id}/webhooks/{webhook_id}", s.handleWebhookGet)
	s.mux.HandleFunc("PATCH /lists/{list_id}/webhooks/{webhook_id}", s.handleWebhookUpdate)
}

// webhookBody is the body of POST and PATCH (the spec's Add_Webhook).
type webhookBody struct {
	URL     *string         `json:"url"`
	Events  map[string]bool `json:"events"`
	Sources map[string]bool `json:"sources"`
}

func webhookJSON(h *Webhook) map[string]any {
	return map[string]any{"id": h.ID, "url": h.URL, "events": h.Events, "sources": h.Sources, "list_id": h.ListID}
}

func (s *Server) handleWebhookList(w http.ResponseWriter, r *http.Request) {
	a, ok := s.lookup(w, r)
	if !ok {
		return
	}
	defer s.mu.Unlock()
	hooks := []map[string]any{}
	for _, h := range a.webhooks {
		hooks = append(hooks, webhookJSON(h))
	}
	writeJSON(w, http.StatusOK, map[string]any{"webhooks": hooks, "list_id": a.id, "total_items": len(hooks)})
}

func (s *Server) handleWebhookGet(w http.ResponseWriter, r *http.Request) {
	a, ok := s.lookup(w, r)
	if !ok {
		return
	}
	defer s.mu.Unlock()
	h := a.webhook(r.PathValue("webhook_id"))
	if h == nil {
		notFound(w)
		return
	}
	writeJSON(w, http.StatusOK, webhookJSON(h))
}

// handleWebhookCreate checks the URL with a GET, as Mailchimp does, and
// keeps the webhook only when that is answered 200. An events or sources
// object left out enables every flag of it (a third party's description,
// unverified); a flag left out of a sent object is off.
func (s *Server) handleWebhookCreate(w http.ResponseWriter, r *http.Request) {
	b, ok := readWebhook(w, r)
	if !ok {
		return
	}
	if b.URL == nil || *b.URL == "" {
		invalid(w, validationDetail, FieldError{Field: "url", Message: "This value should not be blank."})
		return
	}
	if !s.hasAudience(w, r) || !s.checkWebhookURL(w, *b.URL) {
		return
	}
	a, ok := s.lookup(w, r)
	if !ok {
		return
	}
	defer s.mu.Unlock()
	a.nextHook++
	h := &Webhook{ID: "sim" + strconv.Itoa(a.nextHook), ListID: a.id, URL: *b.URL,
		Events: flags(webhookEvents, b.Events, true), Sources: flags(webhookSources, b.Sources, true)}
	a.webhooks = append(a.webhooks, h)
	writeJSON(w, http.StatusOK, webhookJSON(h))
}

// handleWebhookUpdate changes what the body sends; a new URL is checked
// with a GET first.
func (s *Server) handleWebhookUpdate(w http.ResponseWriter, r *http.Request) {
	b, ok := readWebhook(w, r)
	if !ok {
		return
	}
	if !s.hasAudience(w, r) || b.URL != nil && *b.URL != "" && !s.checkWebhookURL(w, *b.URL) {
		return
	}
	a, ok := s.lookup(w, r)
	if !ok {
		return
	}
	defer s.mu.Unlock()
	h := a.webhook(r.PathValue("webhook_id"))
	if h == nil {
		notFound(w)
		return
	}
	if b.URL != nil && *b.URL != "" {
		h.URL = *b.URL
	}
	if b.Events != nil {
		h.Events = merge(h.Events, b.Events, webhookEvents)
	}
	if b.Sources != nil {
		h.Sources = merge(h.Sources, b.Sources, webhookSources)
	}
	writeJSON(w, http.StatusOK, webhookJSON(h))
}

// hasAudience answers 404 itself, and reports false, when there is no
// audience {list_id}, so a URL is not checked for nothing.
func (s *Server) hasAudience(w http.ResponseWriter, r *http.Request) bool {
	if _, ok := s.lookup(w, r); !ok {
		return false
	}
	s.mu.Unlock()
	return true
}

func readWebhook(w http.ResponseWriter, r *http.Request) (*webhookBody, bool) {
	var b webhookBody
	if err := json.NewDecoder(r.Body).Decode(&b); err != nil {
		invalid(w, "The resource submitted could not be validated: the body is not JSON.")
		return nil, false
	}
	return &b, true
}

// checkWebhookURL answers 400 itself, and reports false, when url is not
// an http(s) URL that answers a GET with 200 within Mailchimp's 10 s.
// The problem's wording is the simulator's own.
func (s *Server) checkWebhookURL(w http.ResponseWriter, raw string) bool {
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		invalid(w, validationDetail, FieldError{Field: "url", Message: "This value should be a valid URL."})
		return false
	}
	req, err := http.NewRequest(http.MethodGet, raw, nil)
	if err == nil {
		req.Header.Set("User-Agent", ValidatorAgent)
		var resp *http.Response
		if resp, err = s.webhookHTTP().Do(req); err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return true
			}
		}
	}
	invalid(w, validationDetail, FieldError{Field: "url", Message: "We couldn't verify the URL is working: it must answer a GET with 200."})
	return false
}

// webhookHTTP is the client that checks URLs and delivers; it follows no
// redirect and gives up after 10 s, as Mailchimp does
// (docs/platforms/mailchimp.md).
func (s *Server) webhookHTTP() *http.Client {
	return &http.Client{Timeout: 10 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
}

func (a *audience) webhook(id string) *Webhook {
	for _, h := range a.webhooks {
		if h.ID == id {
			return h
		}
	}
	return nil
}

// flags are the named flags as sent, the others off, or every one set to
// whenAbsent when nothing was sent.
func flags(names []string, sent map[string]bool, whenAbsent bool) map[string]bool {
	out := map[string]bool{}
	for _, n := range names {
		out[n] = whenAbsent
		if sent != nil {
			out[n] = sent[n]
		}
	}
	return out
}

// merge changes the flags of cur that sent names.
func merge(cur, sent map[string]bool, names []string) map[string]bool {
	out := map[string]bool{}
	for _, n := range names {
		out[n] = cur[n]
		if v, ok := sent[n]; ok {
			out[n] = v
		}
	}
	return out
}
