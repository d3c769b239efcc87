package woosim

import (
	"crypto/subtle"
	"encoding/json"
	"net/http"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"
)

const prefix = "/wp-json/wc/v3/"

// topics are the core topics a webhook may have (besides action.*).
var topics = []string{
	"coupon.created", "coupon.updated", "coupon.deleted", "coupon.restored",
	"customer.created", "customer.updated", "customer.deleted",
	"order.created", "order.updated", "order.deleted", "order.restored",
	"product.created", "product.updated", "product.deleted", "product.restored",
}

// ServeHTTP answers the REST API.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	path, ok := strings.CutPrefix(r.URL.Path, prefix)
	if !ok {
		writeError(w, http.StatusNotFound, "rest_no_route", "No route was found matching the URL and request method.")
		return
	}
	s.mu.Lock()
	s.requests[r.Method+" "+path]++
	throttled := s.throttle > 0
	if throttled {
		s.throttle--
	}
	retry, refuse := s.retry, s.refuse
	s.mu.Unlock()
	if throttled {
		if retry != "" {
			w.Header().Set("Retry-After", retry)
		}
		if refuse == http.StatusTooManyRequests {
			writeError(w, refuse, "too_many_requests", "Too many requests. Please wait and try again.")
		} else {
			writeError(w, refuse, "service_unavailable", "The site is busy. Please try again later.")
		}
		return
	}
	if !s.authorized(w, r) {
		return
	}
	switch kind, id, _ := strings.Cut(path, "/"); {
	case (kind == Customers || kind == Orders || kind == Products) && id == "" && r.Method == http.MethodGet:
		s.list(w, r, kind)
	case kind == "webhooks" && id == "":
		switch r.Method {
		case http.MethodGet:
			s.listWebhooks(w, r)
		case http.MethodPost:
			s.writeWebhook(w, r, nil)
		default:
			writeError(w, http.StatusNotFound, "rest_no_route", "No route was found matching the URL and request method.")
		}
	case kind == "webhooks":
		n, err := strconv.ParseInt(id, 10, 64)
		s.mu.Lock()
		hook := s.hooks[n]
		s.mu.Unlock()
		if err != nil || hook == nil {
			writeError(w, http.StatusNotFound, "woocommerce_rest_webhook_invalid_id", "Invalid webhook ID.")
			return
		}
		switch r.Method {
		case http.MethodGet:
			writeJSON(w, http.StatusOK, s.view(hook))
		case http.MethodPut, http.MethodPost, http.MethodPatch:
			s.writeWebhook(w, r, hook)
		case http.MethodDelete:
			s.mu.Lock()
			delete(s.hooks, n)
			s.mu.Unlock()
			writeJSON(w, http.StatusOK, s.view(hook))
		}
	default:
		writeError(w, http.StatusNotFound, "rest_no_route", "No route was found matching the URL and request method.")
	}
}

// authorized checks HTTP Basic as WC_REST_Authentication does over
// HTTPS: an unknown key authenticates no one (the request then fails
// the permission check), a known key with the wrong secret is refused.
func (s *Server) authorized(w http.ResponseWriter, r *http.Request) bool {
	key, secret, ok := r.BasicAuth()
	if ok && key == s.key {
		if subtle.ConstantTimeCompare([]byte(secret), []byte(s.secret)) == 1 {
			return true
		}
		writeError(w, http.StatusUnauthorized, "woocommerce_rest_authentication_error", "Consumer secret is invalid.")
		return false
	}
	code, msg := "woocommerce_rest_cannot_view", "Sorry, you cannot list resources."
	if r.Method != http.MethodGet {
		code, msg = "woocommerce_rest_cannot_create", "Sorry, you are not allowed to create resources."
	}
	writeError(w, http.StatusUnauthorized, code, msg)
	return false
}

// pageParams reads page and per_page as WordPress validates them.
func pageParams(w http.ResponseWriter, r *http.Request) (page, perPage int, ok bool) {
	page, perPage = 1, 10
	q := r.URL.Query()
	if v := q.Get("page"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 {
			writeError(w, http.StatusBadRequest, "rest_invalid_param", "Invalid parameter(s): page")
			return 0, 0, false
		}
		page = n
	}
	if v := q.Get("per_page"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 100 {
			writeError(w, http.StatusBadRequest, "rest_invalid_param", "Invalid parameter(s): per_page (per_page must be between 1 (inclusive) and 100 (inclusive))")
			return 0, 0, false
		}
		perPage = n
	}
	return page, perPage, true
}

// list serves a collection sorted by id (orderby=id) or else by date
// modified (WooCommerce's default is date, and name for customers),
// descending but for customers. Customers take no modified filter;
// WordPress ignores a parameter an endpoint does not have.
func (s *Server) list(w http.ResponseWriter, r *http.Request, kind string) {
	page, perPage, ok := pageParams(w, r)
	if !ok {
		return
	}
	q := r.URL.Query()
	var after time.Time
	if v := q.Get("modified_after"); v != "" && kind != Customers {
		t, err := parseISO(v)
		if err != nil {
			writeError(w, http.StatusBadRequest, "rest_invalid_param", "Invalid parameter(s): modified_after")
			return
		}
		if q.Get("dates_are_gmt") != "true" && q.Get("dates_are_gmt") != "1" {
			// The simulated site's time zone is UTC, so local and GMT
			// dates agree; a real site's do not.
			t = t.UTC()
		}
		after = t
	}
	s.mu.Lock()
	type row struct {
		id  int64
		mod time.Time
		rec json.RawMessage
	}
	var rows []row
	for id, rec := range s.records[kind] {
		mod := s.modified[kind][id]
		if !after.IsZero() && !mod.After(after) {
			continue
		}
		rows = append(rows, row{id, mod, rec})
	}
	s.mu.Unlock()
	byID := q.Get("orderby") == "id"
	desc := q.Get("order") != "asc"
	if kind == Customers && q.Get("order") == "" {
		desc = false // customers default to asc
	}
	sort.Slice(rows, func(i, j int) bool {
		a, b := rows[i], rows[j]
		less := a.id < b.id
		if !byID && !a.mod.Equal(b.mod) {
			less = a.mod.Before(b.mod)
		}
		if desc {
			return !less
		}
		return less
	})
	total := len(rows)
	pages := (total + perPage - 1) / perPage
	w.Header().Set("X-WP-Total", strconv.Itoa(total))
	w.Header().Set("X-WP-TotalPages", strconv.Itoa(pages))
	// The records as stored, byte for byte, as a webhook delivers them.
	var out []byte
	for i := (page - 1) * perPage; i < total && i < page*perPage; i++ {
		if len(out) > 0 {
			out = append(out, ',')
		}
		out = append(out, rows[i].rec...)
	}
	w.Header().Set("Content-Type", "application/json; charset=UTF-8")
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(append(append([]byte{'['}, out...), ']'))
}

func parseISO(v string) (time.Time, error) {
	if t, err := time.Parse(time.RFC3339, v); err == nil {
		return t, nil
	}
	return time.Parse(gmt, v)
}

func (s *Server) listWebhooks(w http.ResponseWriter, r *http.Request) {
	page, perPage, ok := pageParams(w, r)
	if !ok {
		return
	}
	status := r.URL.Query().Get("status")
	var hooks []any
	for _, h := range s.Webhooks() {
		if status == "" || status == "all" || h.Status == status {
			hooks = append(hooks, s.view(&h))
		}
	}
	total := len(hooks)
	w.Header().Set("X-WP-Total", strconv.Itoa(total))
	w.Header().Set("X-WP-TotalPages", strconv.Itoa((total+perPage-1)/perPage))
	out := []any{}
	for i := (page - 1) * perPage; i < total && i < page*perPage; i++ {
		out = append(out, hooks[i])
	}
	writeJSON(w, http.StatusOK, out)
}

// writeWebhook creates (hook nil) or updates a webhook from the body.
func (s *Server) writeWebhook(w http.ResponseWriter, r *http.Request, hook *Webhook) {
	var in struct {
		Name        *string `json:"name"`
		Status      *string `json:"status"`
		Topic       *string `json:"topic"`
		DeliveryURL *string `json:"delivery_url"`
		Secret      *string `json:"secret"`
	}
	if err := json.NewDecoder(r.Body).Decode(&in); err != nil {
		writeError(w, http.StatusBadRequest, "rest_invalid_json", "Invalid JSON body passed.")
		return
	}
	if in.Status != nil && !slices.Contains([]string{"active", "paused", "disabled"}, *in.Status) {
		writeError(w, http.StatusBadRequest, "rest_invalid_param", "Invalid parameter(s): status (status is not one of active, paused, and disabled.)")
		return
	}
	if in.Topic != nil && !slices.Contains(topics, *in.Topic) && !strings.HasPrefix(*in.Topic, "action.") {
		writeError(w, http.StatusBadRequest, "woocommerce_rest_webhook_invalid_topic", "Webhook topic is required and must be valid.")
		return
	}
	if in.DeliveryURL != nil && !strings.HasPrefix(*in.DeliveryURL, "http://") && !strings.HasPrefix(*in.DeliveryURL, "https://") {
		writeError(w, http.StatusBadRequest, "woocommerce_rest_webhook_invalid_delivery_url", "Webhook delivery URL must be a valid URL starting with http:// or https://.")
		return
	}
	s.mu.Lock()
	status := http.StatusOK
	oldURL := ""
	if hook != nil {
		oldURL = hook.DeliveryURL
	}
	if hook == nil {
		if in.Topic == nil {
			s.mu.Unlock()
			writeError(w, http.StatusBadRequest, "woocommerce_rest_webhook_invalid_topic", "Webhook topic is required and must be valid.")
			return
		}
		if in.DeliveryURL == nil {
			s.mu.Unlock()
			writeError(w, http.StatusBadRequest, "woocommerce_rest_webhook_invalid_delivery_url", "Webhook delivery URL must be a valid URL starting with http:// or https://.")
			return
		}
		hook = &Webhook{ID: s.nextHook, Status: "active", Created: s.now(),
			// Without a secret WooCommerce makes one from the user.
			Secret: "generated-secret"}
		s.nextHook++
		s.hooks[hook.ID] = hook
		status = http.StatusCreated
	} else {
		hook = s.hooks[hook.ID]
	}
	if in.Name != nil {
		hook.Name = *in.Name
	}
	if in.Status != nil {
		hook.Status = *in.Status
	}
	if in.Topic != nil {
		hook.Topic = *in.Topic
	}
	if in.DeliveryURL != nil {
		hook.DeliveryURL = *in.DeliveryURL
	}
	if in.Secret != nil {
		hook.Secret = *in.Secret
	}
	hook.Modified = s.now()
	cp := *hook
	s.mu.Unlock()
	// The data store pings an active webhook that is new (pending
	// delivery) or whose delivery_url changed; the REST controller
	// ignores the answer.
	if cp.Status == "active" && (status == http.StatusCreated || cp.DeliveryURL != oldURL) {
		s.ping(cp)
	}
	writeJSON(w, status, s.view(&cp))
}

// view is a webhook as the API answers it: no secret.
func (s *Server) view(h *Webhook) map[string]any {
	resource, event, _ := strings.Cut(h.Topic, ".")
	return map[string]any{
		"id": h.ID, "name": h.Name, "status": h.Status, "topic": h.Topic, "resource": resource, "event": event,
		"hooks": []string{}, "delivery_url": h.DeliveryURL,
		"date_created": h.Created.UTC().Format(gmt), "date_created_gmt": h.Created.UTC().Format(gmt),
		"date_modified": h.Modified.UTC().Format(gmt), "date_modified_gmt": h.Modified.UTC().Format(gmt),
	}
}

func writeError(w http.ResponseWriter, status int, code, message string) {
	writeJSON(w, status, map[string]any{"code": code, "message": message, "data": map[string]any{"status": status}})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=UTF-8")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}
