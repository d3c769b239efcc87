package magentosim

import (
	"encoding/json"
	"fmt"
	"net/http"
	"regexp"
	"sort"
)

// The Adobe Commerce Webhooks module's REST endpoints, as
// https://developer.adobe.com/commerce/extensibility/webhooks/api/
// documents them: GET /rest/<store>/V1/webhooks/list answers every hook
// (of webhooks.xml files and of the API alike), POST
// /rest/<store>/V1/webhooks/subscribe takes {"webhook": {...}} and POST
// /rest/<store>/V1/webhooks/unsubscribe {"webhook": {webhook_method,
// webhook_type, batch_name, hook_name}}. A hook is keyed by those four:
// subscribing one again replaces it, as the module's HookRepository::save
// writes it to app/etc/env.php under webhooks[<method>:<type>][<batch>][<hook>].
// The bodies of subscribe's and unsubscribe's answers are not documented;
// the simulator answers true.

var (
	hookRoute = regexp.MustCompile(`^/rest/([A-Za-z0-9_]+)/V1/webhooks/(list|subscribe|unsubscribe)$`)
	hookNames = regexp.MustCompile(`^[A-Za-z0-9_]+$`)
	hookMeth  = regexp.MustCompile(`^(observer|plugin)\.[A-Za-z0-9_.]+$`)
)

// NoWebhooksModule makes the webhooks routes 404s, as on Magento Open
// Source or a store without the Adobe Commerce Webhooks module.
func (s *Server) NoWebhooksModule() { s.mu.Lock(); s.noWebhooks = true; s.mu.Unlock() }

// NoSubscriber makes subscribe and unsubscribe 404s, as on a PaaS store
// whose webhooks module is older than 1.13.0 or runs without
// Magento_AdobeCommerceWebhooksSubscriber; list still answers.
func (s *Server) NoSubscriber() { s.mu.Lock(); s.noSubscriber = true; s.mu.Unlock() }

func hookID(method, typ, batch, name any) string {
	return fmt.Sprintf("%v:%v/%v/%v", method, typ, batch, name)
}

// AddWebhook adds a hook as a webhooks.xml file or the Admin would:
// webhook_method, webhook_type, batch_name, hook_name and url, and what
// else it sets; the rest take the module's defaults.
func (s *Server) AddWebhook(h map[string]any) {
	rec := hookDefaults()
	for k, v := range h {
		rec[k] = v
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.hooks[hookID(rec["webhook_method"], rec["webhook_type"], rec["batch_name"], rec["hook_name"])] = rec
}

// RemoveWebhook removes a hook, as unsubscribe or an edited webhooks.xml does.
func (s *Server) RemoveWebhook(method, typ, batch, name string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.hooks, hookID(method, typ, batch, name))
}

// Webhooks returns the hooks, as the list endpoint answers them.
func (s *Server) Webhooks() []map[string]any {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.hookList()
}

func (s *Server) hookList() []map[string]any {
	ids := make([]string, 0, len(s.hooks))
	for id := range s.hooks {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	out := make([]map[string]any, 0, len(ids))
	for _, id := range ids {
		cp := map[string]any{}
		for k, v := range s.hooks[id] {
			cp[k] = v
		}
		out = append(out, cp)
	}
	return out
}

// hookDefaults are a hook's values the request leaves out: required is
// true and timeout 0 (no limit) by default (webhooks/xml-schema).
func hookDefaults() map[string]any {
	return map[string]any{"batch_order": 0, "priority": 0, "required": true, "soft_timeout": 0, "timeout": 0, "method": "",
		"fallback_error_message": "", "ttl": 0, "fields": []any{}, "rules": []any{}, "headers": []any{}}
}

func (s *Server) serveWebhooks(w http.ResponseWriter, r *http.Request, endpoint string) {
	s.mu.Lock()
	absent := s.noWebhooks || s.noSubscriber && endpoint != "list"
	s.mu.Unlock()
	want := http.MethodPost
	if endpoint == "list" {
		want = http.MethodGet
	}
	if absent || r.Method != want {
		magentoError(w, http.StatusNotFound, "Request does not match any route.", []any{})
		return
	}
	if !s.admit(w, r) {
		return
	}
	if !s.authorized(r) {
		// The subscribe endpoints' resource is not named in Adobe's
		// documentation; list's is.
		magentoError(w, http.StatusUnauthorized, "The consumer isn't authorized to access %resources.", map[string]string{"resources": "Magento_AdobeCommerceWebhooks::webhooks_list"})
		return
	}
	if endpoint == "list" {
		s.mu.Lock()
		list := s.hookList()
		s.mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(list)
		return
	}
	var req struct {
		Webhook map[string]any `json:"webhook"`
	}
	if err := json.NewDecoder(r.Body).Decode(&req); err != nil || req.Webhook == nil {
		magentoError(w, http.StatusBadRequest, "%fieldName is a required field.", map[string]string{"fieldName": "webhook"})
		return
	}
	h := req.Webhook
	required := []string{"webhook_method", "webhook_type", "batch_name", "hook_name"}
	if endpoint == "subscribe" {
		required = append(required, "url")
	}
	for _, f := range required {
		if v, ok := h[f].(string); !ok || v == "" {
			magentoError(w, http.StatusBadRequest, "%fieldName is a required field.", map[string]string{"fieldName": f})
			return
		}
	}
	invalid := func(field string) {
		magentoError(w, http.StatusBadRequest, `Invalid value of "%value" provided for the %fieldName field.`, map[string]any{"value": h[field], "fieldName": field})
	}
	switch {
	case !hookMeth.MatchString(h["webhook_method"].(string)):
		invalid("webhook_method")
		return
	case h["webhook_type"] != "before" && h["webhook_type"] != "after":
		invalid("webhook_type")
		return
	case !hookNames.MatchString(h["batch_name"].(string)):
		invalid("batch_name")
		return
	case !hookNames.MatchString(h["hook_name"].(string)):
		invalid("hook_name")
		return
	}
	for _, f := range []string{"timeout", "soft_timeout", "ttl"} {
		if v, ok := h[f]; ok {
			if n, isNum := v.(float64); !isNum || n < 0 || n != float64(int64(n)) {
				invalid(f)
				return
			}
		}
	}
	id := hookID(h["webhook_method"], h["webhook_type"], h["batch_name"], h["hook_name"])
	s.mu.Lock()
	if endpoint == "subscribe" {
		rec := hookDefaults()
		for k, v := range h {
			rec[k] = v
		}
		s.hooks[id] = rec
	} else {
		delete(s.hooks, id)
	}
	s.mu.Unlock()
	w.Header().Set("Content-Type", "application/json")
	_, _ = w.Write([]byte("true\n"))
}
