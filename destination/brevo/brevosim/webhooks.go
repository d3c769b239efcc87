package brevosim

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"time"
)

// Webhook is a webhook the simulator holds, as POST /webhooks created it.
type Webhook struct {
	ID          int64
	URL         string
	Description string
	Events      []string
	Type        string // transactional, marketing or inbound
	Batched     bool
	AuthType    string // "bearer", or "" for none
	AuthToken   string
	Headers     map[string]string
	CreatedAt   time.Time
	ModifiedAt  time.Time
}

// webhookEvents are the events each type of webhook takes at creation, as
// the spec's POST /webhooks describes them (contactUpdated and
// contactDeleted are in its enum and in Brevo's 2019 changelog).
var webhookEvents = map[string][]string{
	"transactional": {"sent", "request", "delivered", "hardBounce", "softBounce", "blocked", "spam", "invalid", "deferred", "click", "opened", "uniqueOpened", "unsubscribed"},
	"marketing":     {"spam", "opened", "click", "hardBounce", "softBounce", "unsubscribed", "listAddition", "delivered", "contactUpdated", "contactDeleted"},
	"inbound":       {"inboundEmailProcessed", "reply"},
}

// payloadNames maps creation names to the names marketing deliveries
// carry, where they differ (docs/brevo-webhooks.md).
var payloadNames = map[string]string{
	"hardBounce": "hard_bounced", "softBounce": "soft_bounced", "listAddition": "list_addition",
	"contactUpdated": "contact_updated", "contactDeleted": "contact_deleted",
}

func (s *Server) webhookRoutes() {
	s.mux.HandleFunc("GET /webhooks", s.handleWebhookList)
	s.mux.HandleFunc("POST /webhooks", s.handleWebhookCreate)
	s.mux.HandleFunc("GET /webhooks/{webhookId}", s.handleWebhookGet)
	s.mux.HandleFunc("PUT /webhooks/{webhookId}", s.handleWebhookUpdate)
	s.mux.HandleFunc("DELETE /webhooks/{webhookId}", s.handleWebhookDelete)
}

// webhookBody is the body of POST /webhooks and PUT /webhooks/{id}.
type webhookBody struct {
	URL         *string  `json:"url"`
	Description *string  `json:"description"`
	Events      []string `json:"events"`
	Type        *string  `json:"type"`
	Batched     *bool    `json:"batched"`
	Auth        *struct {
		Type  string `json:"type"`
		Token string `json:"token"`
	} `json:"auth"`
	Headers []struct {
		Key   string `json:"key"`
		Value string `json:"value"`
	} `json:"headers"`
}

func readWebhookBody(r *http.Request) (*webhookBody, *apiError) {
	data, _ := io.ReadAll(r.Body)
	var b webhookBody
	if err := json.Unmarshal(data, &b); err != nil {
		return nil, badRequest("invalid_parameter", "Input must be a valid JSON object")
	}
	return &b, nil
}

// check validates b for a webhook of type typ; create requires url and
// events.
func (b *webhookBody) check(typ string, create bool) *apiError {
	if create && (b.URL == nil || *b.URL == "") {
		return badRequest("missing_parameter", "url is missing")
	}
	if b.URL != nil {
		if u, err := url.Parse(*b.URL); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return badRequest("invalid_parameter", "url is not a valid URL")
		}
	}
	if create && len(b.Events) == 0 {
		return badRequest("missing_parameter", "events is missing")
	}
	for i, e := range b.Events {
		if !slices.Contains(webhookEvents[typ], e) {
			return badRequest("invalid_parameter", fmt.Sprintf("events[%d] %q is not a valid event for a %s webhook", i, e, typ))
		}
	}
	if b.Auth != nil && b.Auth.Type != "" && b.Auth.Type != "bearer" {
		return badRequest("invalid_parameter", "auth.type must be bearer")
	}
	return nil
}

func (b *webhookBody) applyTo(h *Webhook) {
	if b.URL != nil {
		h.URL = *b.URL
	}
	if b.Description != nil {
		h.Description = *b.Description
	}
	if len(b.Events) > 0 {
		h.Events = slices.Clone(b.Events)
	}
	if b.Batched != nil {
		h.Batched = *b.Batched
	}
	if b.Auth != nil {
		h.AuthType, h.AuthToken = b.Auth.Type, b.Auth.Token
		if h.AuthType == "" && h.AuthToken != "" {
			h.AuthType = "bearer"
		}
	}
	if b.Headers != nil {
		h.Headers = map[string]string{}
		for _, kv := range b.Headers {
			h.Headers[kv.Key] = kv.Value
		}
	}
}

func (s *Server) handleWebhookCreate(w http.ResponseWriter, r *http.Request) {
	b, e := readWebhookBody(r)
	if e != nil {
		e.write(w)
		return
	}
	typ := "transactional" // Brevo's default
	if b.Type != nil {
		typ = *b.Type
	}
	if _, ok := webhookEvents[typ]; !ok {
		badRequest("invalid_parameter", "type must be transactional, marketing or inbound").write(w)
		return
	}
	if e := b.check(typ, true); e != nil {
		e.write(w)
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.now()
	s.nextWebhook++
	h := &Webhook{ID: s.nextWebhook, Type: typ, CreatedAt: now, ModifiedAt: now}
	b.applyTo(h)
	s.webhooks = append(s.webhooks, h)
	writeJSON(w, http.StatusCreated, map[string]int64{"id": h.ID})
}

func (s *Server) handleWebhookList(w http.ResponseWriter, r *http.Request) {
	typ := r.URL.Query().Get("type")
	if typ == "" {
		typ = "transactional"
	}
	if _, ok := webhookEvents[typ]; !ok {
		badRequest("invalid_parameter", "type must be transactional, marketing or inbound").write(w)
		return
	}
	s.mu.Lock()
	list := []map[string]any{}
	for _, h := range s.webhooks {
		if h.Type == typ {
			list = append(list, webhookJSON(h))
		}
	}
	s.mu.Unlock()
	if r.URL.Query().Get("sort") != "asc" {
		slices.Reverse(list) // newest first, Brevo's default
	}
	writeJSON(w, http.StatusOK, map[string]any{"webhooks": list})
}

func (s *Server) handleWebhookGet(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	h, e := s.webhook(r)
	var body map[string]any
	if h != nil {
		body = webhookJSON(h)
	}
	s.mu.Unlock()
	if e != nil {
		e.write(w)
		return
	}
	writeJSON(w, http.StatusOK, body)
}

func (s *Server) handleWebhookUpdate(w http.ResponseWriter, r *http.Request) {
	b, e := readWebhookBody(r)
	if e != nil {
		e.write(w)
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	h, e := s.webhook(r)
	if e != nil {
		e.write(w)
		return
	}
	if e := b.check(h.Type, false); e != nil {
		e.write(w)
		return
	}
	b.applyTo(h)
	h.ModifiedAt = s.now()
	w.WriteHeader(http.StatusNoContent)
}

func (s *Server) handleWebhookDelete(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	h, e := s.webhook(r)
	if e != nil {
		e.write(w)
		return
	}
	s.webhooks = slices.DeleteFunc(s.webhooks, func(x *Webhook) bool { return x == h })
	w.WriteHeader(http.StatusNoContent)
}

// webhook finds the webhook the path names; s.mu must be held.
func (s *Server) webhook(r *http.Request) (*Webhook, *apiError) {
	id, err := strconv.ParseInt(r.PathValue("webhookId"), 10, 64)
	if err != nil {
		return nil, badRequest("invalid_parameter", "webhookId must be a number")
	}
	for _, h := range s.webhooks {
		if h.ID == id {
			return h, nil
		}
	}
	return nil, &apiError{status: http.StatusNotFound, body: errorBody{Code: "document_not_found", Message: "Webhook not found"}}
}

// webhookJSON is h as GET answers it (the spec's getWebhook), auth token
// included as Brevo's own example shows it.
func webhookJSON(h *Webhook) map[string]any {
	m := map[string]any{
		"id": h.ID, "url": h.URL, "description": h.Description, "events": slices.Clone(h.Events),
		"type": h.Type, "channel": "email", "batched": h.Batched,
		"createdAt": h.CreatedAt.UTC().Format(timeFormat), "modifiedAt": h.ModifiedAt.UTC().Format(timeFormat),
	}
	if h.AuthType != "" {
		m["auth"] = map[string]any{"type": h.AuthType, "token": h.AuthToken}
	}
	if len(h.Headers) > 0 {
		var hs []map[string]string
		for _, k := range slices.Sorted(maps.Keys(h.Headers)) {
			hs = append(hs, map[string]string{"key": k, "value": h.Headers[k]})
		}
		m["headers"] = hs
	}
	return m
}

// Webhooks returns a copy of every webhook, oldest first.
func (s *Server) Webhooks() []Webhook {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]Webhook, 0, len(s.webhooks))
	for _, h := range s.webhooks {
		c := *h
		c.Events, c.Headers = slices.Clone(h.Events), maps.Clone(h.Headers)
		out = append(out, c)
	}
	return out
}

// SendMarketing makes the simulator deliver a marketing event about email,
// as Brevo would, to every marketing webhook subscribed to it: POST to its
// URL with its bearer token and headers, the documented payload (ts_event
// and the rest filled from the clock), and in an array when the webhook is
// batched. event is the delivery's name or the creation name
// ("hard_bounced" or "hardBounce"). extra sets or replaces top-level keys
// of the payload; a nil value removes one. It returns an error when no
// webhook is subscribed or a delivery is not answered 2xx, so a test can
// say "Brevo reports an unsubscribe" and know it arrived.
func (s *Server) SendMarketing(event, email string, extra map[string]any) error {
	name, sub := event, event
	for create, payload := range payloadNames {
		if event == create || event == payload {
			name, sub = payload, create
		}
	}
	s.mu.Lock()
	var targets []Webhook
	for _, h := range s.webhooks {
		if h.Type == "marketing" && slices.Contains(h.Events, sub) {
			c := *h
			c.Headers = maps.Clone(h.Headers)
			targets = append(targets, c)
		}
	}
	var contact *Contact
	if c := s.findBy(normEmail(email), "email"); c != nil {
		cp := clone(c)
		contact = &cp
	}
	now := s.now()
	client := s.webhookClient
	s.mu.Unlock()
	if len(targets) == 0 {
		return fmt.Errorf("brevosim: no marketing webhook is subscribed to %s", sub)
	}
	for _, h := range targets {
		var body any = marketingPayload(name, email, h.ID, now, contact, extra)
		if h.Batched {
			body = []any{body}
		}
		data, _ := json.Marshal(body)
		req, err := http.NewRequest(http.MethodPost, h.URL, bytes.NewReader(data))
		if err != nil {
			return fmt.Errorf("brevosim: webhook %d: %w", h.ID, err)
		}
		req.Header.Set("content-type", "application/json")
		for k, v := range h.Headers {
			req.Header.Set(k, v)
		}
		if h.AuthType == "bearer" {
			req.Header.Set("Authorization", "Bearer "+h.AuthToken)
		}
		resp, err := client.Do(req)
		if err != nil {
			return fmt.Errorf("brevosim: deliver %s to webhook %d: %w", name, h.ID, err)
		}
		io.Copy(io.Discard, io.LimitReader(resp.Body, maxBody))
		resp.Body.Close()
		if resp.StatusCode/100 != 2 {
			return fmt.Errorf("brevosim: deliver %s to webhook %d: answered %d", name, h.ID, resp.StatusCode)
		}
	}
	return nil
}

// Unsubscribe is a person unsubscribing from a campaign: Brevo blocklists
// the contact and reports it to the marketing webhooks subscribed to
// unsubscribed. Blocklist does the first half alone, as when no webhook is
// registered, and UnsubscribeSilently models a lost delivery. It fails
// when no contact has email.
func (s *Server) Unsubscribe(email string) error {
	if err := s.UnsubscribeSilently(email); err != nil {
		return err
	}
	return s.SendMarketing("unsubscribed", normEmail(email), nil)
}

// marketingPayload is a marketing delivery as Brevo documents it for
// event (docs/brevo-webhooks.md lists the sources). contact, when known,
// fills list_id and contact_updated's attributes.
func marketingPayload(event, email string, hookID int64, now time.Time, contact *Contact, extra map[string]any) map[string]any {
	ts := now.Unix()
	date := now.UTC().Format("2006-01-02 15:04:05")
	lists := []int64{}
	if contact != nil {
		lists = append(lists, contact.ListIDs...)
	}
	var p map[string]any
	switch event {
	case "list_addition", "contact_deleted":
		p = map[string]any{"id": hookID, "email": email, "event": event, "key": "sim" + strconv.FormatInt(hookID, 10), "list_id": lists, "date": date, "ts": ts}
	case "contact_updated":
		attrs := map[string]any{}
		if contact != nil {
			attrs = maps.Clone(contact.Attributes)
		}
		// Real deliveries carry no top-level email (docs/brevo-webhooks.md).
		p = map[string]any{"id": hookID, "event": event, "date": now.UTC().Format("2006-01-02T15:04:05.000Z"), "ts": ts,
			"content": []any{map[string]any{"email": email, "list": map[string]any{}, "attributes": attrs}}}
	default: // the campaign events: spam, opened, click, hard_bounced, soft_bounced, delivered, unsubscribed
		p = map[string]any{"id": hookID, "camp_id": 1, "email": email, "campaign name": "Simulated campaign",
			"date_sent": now.Add(-time.Hour).UTC().Format("2006-01-02 15:04:05"), "date_event": date, "event": event, "tag": "",
			"ts_sent": ts - 3600, "ts_event": ts, "ts": ts}
		switch event {
		case "spam":
			p["reason"] = "undesired"
		case "hard_bounced", "soft_bounced":
			p["reason"], p["sending_ip"] = "mailbox does not exist", "192.0.2.1"
		case "unsubscribed":
			p["sending_ip"], p["list_id"] = "192.0.2.1", lists
		case "delivered":
			p["sending_ip"] = "192.0.2.1"
		}
	}
	for k, v := range extra {
		if v == nil {
			delete(p, k)
		} else {
			p[k] = v
		}
	}
	return p
}
