package pipedrivesim

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
)

// Webhook is a simulated webhook (v1 /webhooks). The basic-auth password
// is kept but, as in Pipedrive's answers, never returned.
type Webhook struct {
	ID              int64  `json:"id"`
	Name            string `json:"name"`
	SubscriptionURL string `json:"subscription_url"`
	EventAction     string `json:"event_action"`
	EventObject     string `json:"event_object"`
	UserID          int64  `json:"user_id"`
	HTTPAuthUser    string `json:"http_auth_user,omitempty"`
	HTTPAuthPass    string `json:"-"`
	Version         string `json:"version"`
	IsActive        int    `json:"is_active"`
	AddTime         string `json:"add_time"`
}

// Webhooks returns copies of the webhooks, by ID.
func (s *Server) Webhooks() []Webhook {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []Webhook
	for _, id := range sortedKeys(s.webhooks) {
		out = append(out, *s.webhooks[id])
	}
	return out
}

func (s *Server) handleWebhookList(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := []Webhook{}
	for _, id := range sortedKeys(s.webhooks) {
		out = append(out, *s.webhooks[id])
	}
	writeJSON(w, http.StatusOK, map[string]any{"status": "ok", "success": true, "data": out})
}

func (s *Server) handleWebhookCreate(w http.ResponseWriter, r *http.Request) {
	var in struct {
		SubscriptionURL string  `json:"subscription_url"`
		EventAction     string  `json:"event_action"`
		EventObject     string  `json:"event_object"`
		Name            string  `json:"name"`
		UserID          *int64  `json:"user_id"`
		HTTPAuthUser    *string `json:"http_auth_user"`
		HTTPAuthPass    *string `json:"http_auth_password"`
		Version         string  `json:"version"`
	}
	if !decode(w, r, &in) {
		return
	}
	if !strings.HasPrefix(in.SubscriptionURL, "http://") && !strings.HasPrefix(in.SubscriptionURL, "https://") {
		writeError(w, http.StatusBadRequest, "subscription_url must be a valid URL")
		return
	}
	if in.EventAction == "" || in.EventObject == "" || in.Name == "" {
		writeError(w, http.StatusBadRequest, "event_action, event_object and name are required")
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.webhooks) >= 40 {
		writeError(w, http.StatusBadRequest, "The maximum limit of 40 webhooks per user is reached")
		return
	}
	h := &Webhook{Name: in.Name, SubscriptionURL: in.SubscriptionURL, EventAction: in.EventAction, EventObject: in.EventObject,
		UserID: DefaultOwner, Version: "2.0", IsActive: 1, AddTime: s.stamp()}
	if in.Version != "" {
		h.Version = in.Version
	}
	if in.UserID != nil {
		h.UserID = *in.UserID
	}
	if in.HTTPAuthUser != nil {
		h.HTTPAuthUser = *in.HTTPAuthUser
	}
	if in.HTTPAuthPass != nil {
		h.HTTPAuthPass = *in.HTTPAuthPass
	}
	s.seq++
	h.ID = s.seq
	s.webhooks[h.ID] = h
	writeJSON(w, http.StatusCreated, map[string]any{"status": "ok", "success": true, "data": h})
}

func (s *Server) handleWebhookDelete(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	id, _ := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if s.webhooks[id] == nil {
		writeError(w, http.StatusNotFound, "Webhook not found")
		return
	}
	delete(s.webhooks, id)
	writeJSON(w, http.StatusOK, map[string]any{"status": "ok", "success": true})
}

// ChangePersonInPipedrive changes the person holding email as a user
// would in Pipedrive's interface, then sends the change.person webhooks
// (Notify) and returns their errors.
func (s *Server) ChangePersonInPipedrive(ctx context.Context, email string, change func(p *Person)) error {
	s.mu.Lock()
	var p *Person
	for _, id := range s.sortedIDs() {
		if q := s.persons[id]; !q.IsDeleted && hasEmail(q, email) {
			p = q
			break
		}
	}
	if p == nil {
		s.mu.Unlock()
		return errors.New("pipedrivesim: no person with that address")
	}
	prev := clone(p)
	change(p)
	p.UpdateTime = s.stamp()
	now := clone(p)
	s.mu.Unlock()
	return s.Notify(ctx, "change", "person", now.ID, now, diff(prev, now))
}

// DeletePersonInPipedrive deletes the person holding email, as a user
// would, and sends the delete.person webhooks.
func (s *Server) DeletePersonInPipedrive(ctx context.Context, email string) error {
	s.mu.Lock()
	var p *Person
	for _, id := range s.sortedIDs() {
		if q := s.persons[id]; !q.IsDeleted && hasEmail(q, email) {
			p = q
			break
		}
	}
	if p == nil {
		s.mu.Unlock()
		return errors.New("pipedrivesim: no person with that address")
	}
	p.IsDeleted = true
	prev := clone(p)
	s.mu.Unlock()
	return s.Notify(ctx, "delete", "person", prev.ID, nil, prev)
}

// diff is a v2 webhook's previous: the top-level fields that changed,
// with their old values.
func diff(prev, now Person) map[string]any {
	var a, b map[string]any
	pa, _ := json.Marshal(prev)
	pb, _ := json.Marshal(now)
	_ = json.Unmarshal(pa, &a)
	_ = json.Unmarshal(pb, &b)
	out := map[string]any{}
	for k, v := range a {
		x, _ := json.Marshal(v)
		y, _ := json.Marshal(b[k])
		if !bytes.Equal(x, y) && k != "update_time" {
			out[k] = v
		}
	}
	return out
}

// Notify sends a webhooks v2 notification, {"meta": {...}, "data": ...,
// "previous": ...} as Pipedrive's guide for webhooks v2 shows it, to
// every webhook whose event_action and event_object match, with the
// HTTP basic auth set on the webhook. It returns the failures.
func (s *Server) Notify(ctx context.Context, action, entity string, id int64, data, previous any) error {
	s.mu.Lock()
	var hooks []Webhook
	for _, wid := range sortedKeys(s.webhooks) {
		h := s.webhooks[wid]
		if (h.EventAction == "*" || h.EventAction == action) && (h.EventObject == "*" || h.EventObject == entity) {
			hooks = append(hooks, *h)
		}
	}
	s.seq++
	eventID := s.seq
	ts := s.now().Unix()
	s.mu.Unlock()
	var errs []error
	for _, h := range hooks {
		body, _ := json.Marshal(map[string]any{
			"meta": map[string]any{"action": action, "entity": entity, "entity_id": strconv.FormatInt(id, 10), "id": fmt.Sprintf("sim-%d", eventID),
				"version": "2.0", "webhook_id": strconv.FormatInt(h.ID, 10), "webhook_owner_id": strconv.FormatInt(h.UserID, 10),
				"company_id": "1", "user_id": strconv.FormatInt(DefaultOwner, 10), "host": "sim.pipedrive.com", "timestamp": ts, "change_source": "app", "attempt": 1},
			"data": data, "previous": previous,
		})
		req, err := http.NewRequestWithContext(ctx, http.MethodPost, h.SubscriptionURL, bytes.NewReader(body))
		if err != nil {
			errs = append(errs, err)
			continue
		}
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("User-Agent", "Pipedrive-Webhook")
		if h.HTTPAuthUser != "" || h.HTTPAuthPass != "" {
			req.SetBasicAuth(h.HTTPAuthUser, h.HTTPAuthPass)
		}
		resp, err := s.client.Do(req)
		if err != nil {
			errs = append(errs, fmt.Errorf("webhook %d: %w", h.ID, err))
			continue
		}
		resp.Body.Close()
		if resp.StatusCode/100 != 2 {
			errs = append(errs, fmt.Errorf("webhook %d: status %d", h.ID, resp.StatusCode))
		}
	}
	return errors.Join(errs...)
}
