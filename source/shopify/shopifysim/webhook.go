package shopifysim

import (
	"encoding/json"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Webhook is one webhook subscription of the app.
type Webhook struct {
	ID          string // numeric, as in gid://shopify/WebhookSubscription/<ID>
	Topic       string // CUSTOMERS_UPDATE, ...
	CallbackURL string
	Format      string // JSON or XML
}

// AddWebhook adds a subscription as the app made it earlier; it returns
// its ID.
func (s *Server) AddWebhook(topic, callbackURL, format string) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.addHook(topic, callbackURL, format).ID
}

func (s *Server) addHook(topic, callbackURL, format string) *Webhook {
	s.hookSeq++
	h := &Webhook{ID: strconv.Itoa(s.hookSeq), Topic: topic, CallbackURL: callbackURL, Format: format}
	s.hooks = append(s.hooks, h)
	return h
}

// Webhooks returns the app's subscriptions, oldest first.
func (s *Server) Webhooks() []Webhook {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]Webhook, len(s.hooks))
	for i, h := range s.hooks {
		out[i] = *h
	}
	return out
}

// RemoveWebhook deletes a subscription, as Shopify does after its
// deliveries kept failing.
func (s *Server) RemoveWebhook(id string) {
	s.mu.Lock()
	s.hooks = slices.DeleteFunc(s.hooks, func(h *Webhook) bool { return h.ID == id })
	s.mu.Unlock()
}

func hookNode(h *Webhook) map[string]any {
	return map[string]any{"id": gid("WebhookSubscription", h.ID), "legacyResourceId": h.ID, "topic": h.Topic, "format": h.Format,
		"callbackUrl": h.CallbackURL, "endpoint": map[string]any{"__typename": "WebhookHttpEndpoint", "callbackUrl": h.CallbackURL}}
}

func (s *Server) webhookSubscriptions(f field, vars map[string]json.RawMessage, _ time.Time, _ string) (any, *gqlError) {
	var topics []string
	if list, ok := f.arg("topics", vars).([]any); ok {
		for _, t := range list {
			if t, ok := t.(string); ok {
				topics = append(topics, t)
			}
		}
	}
	rows := make([]row, 0, len(s.hooks))
	for _, h := range s.hooks {
		if topics != nil && !slices.Contains(topics, h.Topic) {
			continue
		}
		rows = append(rows, row{id: numericID(h.ID), node: func() map[string]any { return hookNode(h) }})
	}
	return s.connection(rows, f, vars)
}

var topicName = regexp.MustCompile(`^[A-Z][A-Z_]*[A-Z]$`)

// hookInput reads WebhookSubscriptionInput, and checks the address as
// Shopify does: https, not this machine.
func hookInput(raw json.RawMessage, typeName string) (callback, format string, ue map[string]any, gerr *gqlError) {
	var in struct {
		CallbackURL *string `json:"callbackUrl"`
		Format      *string `json:"format"`
	}
	if err := strictObject(raw, &in); err != nil {
		return "", "", nil, &gqlError{Message: "Variable $webhookSubscription of type " + typeName + " was provided invalid value: " + err.Error(),
			Extensions: map[string]any{"code": "INVALID_VARIABLE"}}
	}
	format = "JSON"
	if in.Format != nil {
		if *in.Format != "JSON" && *in.Format != "XML" {
			return "", "", nil, &gqlError{Message: "Variable $webhookSubscription of type " + typeName + " was provided invalid value for format",
				Extensions: map[string]any{"code": "INVALID_VARIABLE"}}
		}
		format = *in.Format
	}
	bad := func(msg string) map[string]any {
		return map[string]any{"field": []string{"webhookSubscription", "callbackUrl"}, "message": msg}
	}
	if in.CallbackURL == nil || *in.CallbackURL == "" {
		return "", "", bad("Address can't be blank"), nil
	}
	u, err := url.Parse(*in.CallbackURL)
	switch {
	case err != nil || u.Host == "":
		return "", "", bad("Address is invalid"), nil
	case u.Scheme != "https":
		return "", "", bad("Address protocol " + u.Scheme + ":// is not supported"), nil
	case u.Hostname() == "localhost" || strings.HasPrefix(u.Hostname(), "127."):
		return "", "", bad("Address cannot be a Shopify or an internal domain"), nil
	}
	return *in.CallbackURL, format, nil, nil
}

func hookAnswer(h *Webhook, ue map[string]any) (any, *gqlError) {
	if ue != nil {
		return map[string]any{"webhookSubscription": nil, "userErrors": []any{ue}}, nil
	}
	return map[string]any{"webhookSubscription": hookNode(h), "userErrors": []any{}}, nil
}

func (s *Server) taken(topic, callback, except string) map[string]any {
	for _, h := range s.hooks {
		if h.Topic == topic && h.CallbackURL == callback && h.ID != except {
			return map[string]any{"field": []string{"webhookSubscription", "callbackUrl"}, "message": "Address for this topic has already been taken"}
		}
	}
	return nil
}

func (s *Server) webhookSubscriptionCreate(f field, vars map[string]json.RawMessage, _ time.Time, _ string) (any, *gqlError) {
	topic := f.stringArg("topic", vars)
	if !topicName.MatchString(topic) {
		return nil, &gqlError{Message: "Variable $topic of type WebhookSubscriptionTopic! was provided invalid value", Extensions: map[string]any{"code": "INVALID_VARIABLE"}}
	}
	raw, _ := json.Marshal(f.arg("webhookSubscription", vars))
	callback, format, ue, gerr := hookInput(raw, "WebhookSubscriptionInput!")
	if gerr != nil {
		return nil, gerr
	}
	if ue != nil {
		return hookAnswer(nil, ue)
	}
	if ue := s.taken(topic, callback, ""); ue != nil {
		return hookAnswer(nil, ue)
	}
	return hookAnswer(s.addHook(topic, callback, format), nil)
}

func (s *Server) webhookSubscriptionUpdate(f field, vars map[string]json.RawMessage, _ time.Time, _ string) (any, *gqlError) {
	id := strings.TrimPrefix(f.stringArg("id", vars), "gid://shopify/WebhookSubscription/")
	var h *Webhook
	for _, x := range s.hooks {
		if x.ID == id {
			h = x
		}
	}
	if h == nil {
		return hookAnswer(nil, map[string]any{"field": []string{"id"}, "message": "Webhook subscription does not exist"})
	}
	raw, _ := json.Marshal(f.arg("webhookSubscription", vars))
	callback, format, ue, gerr := hookInput(raw, "WebhookSubscriptionInput!")
	if gerr != nil {
		return nil, gerr
	}
	if ue == nil {
		ue = s.taken(h.Topic, callback, h.ID)
	}
	if ue != nil {
		return hookAnswer(nil, ue)
	}
	h.CallbackURL, h.Format = callback, format
	return hookAnswer(h, nil)
}
