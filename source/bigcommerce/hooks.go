package bigcommerce

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"synclayer/normalize"
)

// Scopes are the webhook scopes synclayer reads, as register subscribes
// them.
var Scopes = []string{
	"store/customer/created", "store/customer/updated", "store/customer/deleted",
	"store/order/created", "store/order/updated", "store/order/archived",
	"store/product/created", "store/product/updated", "store/product/deleted",
}

// Hook is a webhook as /v3/hooks returns it.
type Hook struct {
	ID          int64             `json:"id,omitempty"`
	Scope       string            `json:"scope"`
	Destination string            `json:"destination"`
	IsActive    bool              `json:"is_active"`
	Headers     map[string]string `json:"headers"`
}

// HookChange is what RegisterHooks did to one scope: "created",
// "updated" or "unchanged".
type HookChange struct {
	Hook   Hook
	Action string
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

// RegisterHooks makes the store's hooks for Scopes deliver to dest (with
// the custom header when header_name is set): a hook of the scope already
// at dest, or at another address ending in the same /webhooks/<name>
// path, is updated when it differs; otherwise one is created.
func (s *Source) RegisterHooks(ctx context.Context, dest string) ([]HookChange, error) {
	if err := CheckDestination(dest); err != nil {
		return nil, err
	}
	var list struct {
		Data []Hook `json:"data"`
	}
	if err := s.call(ctx, http.MethodGet, "/v3/hooks", nil, &list); err != nil {
		return nil, err
	}
	u, _ := url.Parse(dest)
	var headers map[string]string
	if s.settings.HeaderName != "" {
		headers = map[string]string{s.settings.HeaderName: s.settings.HeaderValue}
	}
	var out []HookChange
	for _, scope := range Scopes {
		want := Hook{Scope: scope, Destination: dest, IsActive: true, Headers: headers}
		var have *Hook
		for i, h := range list.Data {
			if h.Scope != scope {
				continue
			}
			if hu, err := url.Parse(h.Destination); h.Destination == dest || err == nil && hu.Path == u.Path {
				have = &list.Data[i]
				if h.Destination == dest {
					break
				}
			}
		}
		var res struct {
			Data Hook `json:"data"`
		}
		switch {
		case have == nil:
			if err := s.call(ctx, http.MethodPost, "/v3/hooks", want, &res); err != nil {
				return out, err
			}
			out = append(out, HookChange{res.Data, "created"})
		case have.Destination == dest && have.IsActive && sameHeaders(have.Headers, headers):
			out = append(out, HookChange{*have, "unchanged"})
		default:
			if err := s.call(ctx, http.MethodPut, "/v3/hooks/"+strconv.FormatInt(have.ID, 10), want, &res); err != nil {
				return out, err
			}
			out = append(out, HookChange{res.Data, "updated"})
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

// call sends a hooks API request; its errors are plain (a command prints
// them), with the API's title and never the token.
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
		return &APIError{Status: resp.StatusCode, Msg: strings.TrimSpace(msg)}
	}
	if err := json.Unmarshal(b, out); err != nil {
		return fmt.Errorf("bigcommerce: %s %s: the answer is not JSON", method, path)
	}
	return nil
}
