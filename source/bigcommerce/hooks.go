package bigcommerce

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"synclayer"
	"synclayer/normalize"
)

var _ synclayer.HookRegistrar = (*Source)(nil)

// skillScopes are the webhook scopes each skill needs: the scopes Parse
// reads for the skill's records. store/order/statusUpdated and
// store/order/refund/created are read when they come but not subscribed:
// each also fires store/order/updated, which names the same order, read
// back whole. customer-sync also takes the newsletter subscribers
// (store/subscriber/*: email consent), cart-events the carts
// (store/cart/*; store/cart/lineItem/* and couponApplied are not read).
var skillScopes = map[string][]string{
	"customer-sync": {"store/customer/created", "store/customer/updated", "store/customer/deleted",
		"store/subscriber/created", "store/subscriber/updated", "store/subscriber/deleted"},
	"cart-events":     {"store/cart/created", "store/cart/updated", "store/cart/deleted", "store/cart/abandoned", "store/cart/converted"},
	"order-events":    {"store/order/created", "store/order/updated", "store/order/archived"},
	"product-catalog": {"store/product/created", "store/product/updated", "store/product/deleted"},
}

// Scopes are every scope HookTopics can return, sorted.
var Scopes = (&Source{}).HookTopics([]string{"customer-sync", "order-events", "product-catalog", "cart-events"})

// HookTopics returns the scopes the skills need, sorted; a skill this
// source sends nothing for adds none.
func (s *Source) HookTopics(skills []string) []string {
	var out []string
	for _, sk := range skills {
		for _, t := range skillScopes[sk] {
			if !slices.Contains(out, t) {
				out = append(out, t)
			}
		}
	}
	slices.Sort(out)
	return out
}

// Hook is a webhook as /v3/hooks returns it.
type Hook struct {
	ID          int64             `json:"id,omitempty"`
	Scope       string            `json:"scope"`
	Destination string            `json:"destination"`
	IsActive    bool              `json:"is_active"`
	Headers     map[string]string `json:"headers"`
}

// CheckDestination refuses a destination BigCommerce does not deliver to:
// it must be https on port 443.
func CheckDestination(dest string) error {
	u, err := url.Parse(dest)
	if err != nil || u.Host == "" {
		return fmt.Errorf("%q is not a URL; set server.public_url to the https address BigCommerce reaches synclayer at", normalize.Clip(dest))
	}
	if u.Scheme != "https" {
		return fmt.Errorf("%s is not https: BigCommerce delivers webhooks only over https; set server.public_url to an https address", dest)
	}
	if p := u.Port(); p != "" && p != "443" {
		return fmt.Errorf("%s is on port %s: BigCommerce delivers webhooks only to port 443 (custom ports are not supported); put synclayer behind a proxy on 443", dest, p)
	}
	return nil
}

// hooksPage is the page size the hooks are listed with.
const hooksPage = 250

// listHooks reads every hook the store holds for this app's client id
// (BigCommerce lists a client's own hooks: one made with another API
// account is not seen), every page.
func (s *Source) listHooks(ctx context.Context) ([]Hook, error) {
	var all []Hook
	for page := 1; ; page++ {
		var res struct {
			Data []Hook `json:"data"`
			Meta struct {
				Pagination pagination `json:"pagination"`
			} `json:"meta"`
		}
		path := fmt.Sprintf("/v3/hooks?page=%d&limit=%d", page, hooksPage)
		if err := s.call(ctx, http.MethodGet, path, nil, &res); err != nil {
			return nil, err
		}
		all = append(all, res.Data...)
		if pg := res.Meta.Pagination; pg.CurrentPage >= pg.TotalPages || len(res.Data) == 0 || page >= 100 {
			return all, nil
		}
	}
}

// covers tells whether a hook of scope delivers topic: the scope itself,
// or a wildcard over it (store/customer/* covers store/customer/created).
func covers(scope, topic string) bool {
	if scope == topic {
		return true
	}
	prefix, ok := strings.CutSuffix(scope, "*")
	return ok && strings.HasSuffix(prefix, "/") && strings.HasPrefix(topic, prefix)
}

// headers are the custom headers each hook is registered with: the
// header_name setting's, or none.
func (s *Source) headers() map[string]string {
	if s.settings.HeaderName == "" {
		return nil
	}
	return map[string]string{s.settings.HeaderName: s.settings.HeaderValue}
}

// Hooks returns, for each scope, the hooks that deliver to target (ok;
// inactive when BigCommerce deactivated it, is_active false; elsewhere
// when it lacks the custom header header_name sets) or to its path on
// another host (elsewhere), or a missing row. Hooks at other paths
// (another source of the same store) are not this source's and are left
// out.
func (s *Source) Hooks(ctx context.Context, target string, topics []string) ([]synclayer.HookState, error) {
	hooks, err := s.listHooks(ctx)
	if err != nil {
		return nil, err
	}
	want := s.headers()
	var out []synclayer.HookState
	for _, t := range topics {
		n := len(out)
		for _, h := range hooks {
			if !covers(h.Scope, t) {
				continue
			}
			st := synclayer.HookState{Topic: t, ID: strconv.FormatInt(h.ID, 10), URL: h.Destination}
			switch synclayer.WhereHookDelivers(h.Destination, target) {
			case synclayer.HookPlaceOther:
				continue
			case synclayer.HookPlaceSamePath:
				st.Status, st.Detail = synclayer.HookElsewhere, "delivers to another host; sources register moves it to "+target
			case synclayer.HookPlaceTarget:
				switch {
				case !h.IsActive:
					st.Status, st.Detail = synclayer.HookInactive,
						"is_active is false: BigCommerce deactivates a hook after 90 days of inactivity (or failed deliveries); sources register reactivates it"
				case !sameHeaders(h.Headers, want):
					st.Status, st.Detail = synclayer.HookElsewhere,
						"carries other custom headers than header_name and header_value, so its callbacks are refused; sources register updates it"
				default:
					st.Status = synclayer.HookOK
				}
			}
			if h.Scope != t {
				st.Detail = strings.TrimSpace("through " + h.Scope + "; " + st.Detail)
				st.Detail = strings.TrimSuffix(st.Detail, ";")
			}
			out = append(out, st)
		}
		if len(out) == n {
			out = append(out, synclayer.HookState{Topic: t, Status: synclayer.HookMissing,
				Detail: "the store has no hook of the scope for this API account; sources register creates it"})
		}
	}
	return out, nil
}

// RegisterHooks makes each scope deliver to target (with the custom
// header when header_name is set), active: a hook of the scope at target
// that is active and carries the header is unchanged; one at target that
// is inactive or lacks the header, or one at the same path on another
// host, is updated (PUT, is_active true); otherwise one is created. A
// target BigCommerce does not deliver to (not https, not port 443) is
// refused before any call.
func (s *Source) RegisterHooks(ctx context.Context, target string, topics []string) ([]synclayer.HookState, error) {
	if err := CheckDestination(target); err != nil {
		return nil, synclayer.Permanent(err)
	}
	hooks, err := s.listHooks(ctx)
	if err != nil {
		return nil, err
	}
	headers := s.headers()
	var out []synclayer.HookState
	for _, t := range topics {
		var found, move *Hook
		for i, h := range hooks {
			if !covers(h.Scope, t) {
				continue
			}
			switch synclayer.WhereHookDelivers(h.Destination, target) {
			case synclayer.HookPlaceTarget:
				if found == nil {
					found = &hooks[i]
				}
			case synclayer.HookPlaceSamePath:
				if move == nil {
					move = &hooks[i]
				}
			}
		}
		want := Hook{Scope: t, Destination: target, IsActive: true, Headers: headers}
		var res struct {
			Data Hook `json:"data"`
		}
		switch {
		case found != nil && found.IsActive && sameHeaders(found.Headers, headers):
			out = append(out, synclayer.HookState{Topic: t, ID: strconv.FormatInt(found.ID, 10), URL: found.Destination, Status: synclayer.HookUnchanged})
		case found != nil || move != nil:
			old, detail := found, ""
			switch {
			case found == nil:
				old, detail = move, "was "+move.Destination
			case !found.IsActive:
				detail = "was inactive"
			default:
				detail = "its custom headers differed"
			}
			want.Scope = old.Scope // a wildcard hook stays one
			if err := s.call(ctx, http.MethodPut, "/v3/hooks/"+strconv.FormatInt(old.ID, 10), want, &res); err != nil {
				return out, err
			}
			*old = res.Data // the next topics a wildcard hook covers see it moved
			out = append(out, synclayer.HookState{Topic: t, ID: strconv.FormatInt(res.Data.ID, 10), URL: res.Data.Destination, Status: synclayer.HookUpdated, Detail: detail})
		default:
			if err := s.call(ctx, http.MethodPost, "/v3/hooks", want, &res); err != nil {
				return out, err
			}
			out = append(out, synclayer.HookState{Topic: t, ID: strconv.FormatInt(res.Data.ID, 10), URL: res.Data.Destination, Status: synclayer.HookCreated})
		}
	}
	return out, nil
}

func sameHeaders(a, b map[string]string) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range b {
		if a[k] != v {
			return false
		}
	}
	return true
}

// call sends a hooks API request; its errors carry the API's title and
// never the token: a 429 is Throttled for X-Rate-Limit-Time-Reset-Ms,
// another 4xx Permanent (a 401 or 403 names access_token and the scope).
func (s *Source) call(ctx context.Context, method, path string, in, out any) error {
	var body io.Reader
	if in != nil {
		b, _ := json.Marshal(in)
		body = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, s.base+path, body)
	if err != nil {
		return err
	}
	req.Header.Set("X-Auth-Token", s.settings.AccessToken)
	req.Header.Set("Accept", "application/json")
	req.Header.Set("Content-Type", "application/json")
	resp, err := s.http.Do(req)
	if err != nil {
		return fmt.Errorf("bigcommerce: %s %s: the API did not answer", method, path)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(io.LimitReader(resp.Body, 4<<20))
	if resp.StatusCode/100 != 2 {
		var eb struct {
			Title string `json:"title"`
		}
		_ = json.Unmarshal(b, &eb)
		msg := fmt.Sprintf("bigcommerce: %s %s: %d %s", method, path, resp.StatusCode, normalize.Clip(eb.Title))
		if resp.StatusCode == 401 || resp.StatusCode == 403 {
			msg += ": the access_token was refused; give the API account the Information & Settings modify scope to manage webhooks"
		}
		e := &APIError{Status: resp.StatusCode, Msg: strings.TrimSpace(msg)}
		switch {
		case resp.StatusCode == http.StatusTooManyRequests:
			reset := time.Second
			if ms, err := strconv.ParseInt(resp.Header.Get("X-Rate-Limit-Time-Reset-Ms"), 10, 64); err == nil && ms > 0 && ms < 3600_000 {
				reset = time.Duration(ms) * time.Millisecond
			}
			return synclayer.Throttled(e, reset)
		case resp.StatusCode >= 400 && resp.StatusCode < 500:
			return synclayer.Permanent(e)
		}
		return e
	}
	if err := json.Unmarshal(b, out); err != nil {
		return fmt.Errorf("bigcommerce: %s %s: the answer is not JSON", method, path)
	}
	return nil
}
