package magento

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
	"time"

	"synclayer"
	"synclayer/normalize"
)

// APIError is a REST API answer other than 2xx. HTTPStatus lets the
// program read a 401 as a refused credential.
type APIError struct {
	Status int
	Msg    string
}

func (e *APIError) Error() string   { return e.Msg }
func (e *APIError) HTTPStatus() int { return e.Status }

// retries are the waits before asking again after a 5xx or no answer.
var retries = []time.Duration{250 * time.Millisecond, time.Second}

// get reads path (under /rest/<store>/V1, query included) into v,
// authorized as the settings say. A 429 is Throttled for Retry-After; a
// 401 is permanent and names the credential setting to fix; 5xx and no
// answer are asked again twice, then returned as a plain (retryable)
// error.
func (s *Source) get(ctx context.Context, what, path string, v any) error {
	return s.call(ctx, http.MethodGet, what, s.base+path, nil, v)
}

// call sends method to the full URL u with body (JSON, when not nil) and
// reads the answer into v, as get says. A POST is asked again after a
// 5xx too: the webhook subscriptions it makes are keyed by their names,
// so one made twice is one.
func (s *Source) call(ctx context.Context, method, what, u string, body, v any) error {
	var payload []byte
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return synclayer.Permanent(fmt.Errorf("magento: %s: %w", what, err))
		}
		payload = b
	}
	var err error
	for attempt := 0; ; attempt++ {
		var retry bool
		retry, err = s.callOnce(ctx, method, what, u, payload, v)
		if !retry || attempt >= len(retries) {
			return err
		}
		select {
		case <-ctx.Done():
			return err
		case <-time.After(retries[attempt]):
		}
	}
}

func (s *Source) callOnce(ctx context.Context, method, what, rawURL string, payload []byte, v any) (retry bool, err error) {
	verb := "reading"
	if method != http.MethodGet {
		verb = "writing"
	}
	u, err := url.Parse(rawURL)
	if err != nil {
		return false, synclayer.Permanent(fmt.Errorf("magento: %s %s: %w", verb, what, err))
	}
	var rd io.Reader
	if payload != nil {
		rd = bytes.NewReader(payload)
	}
	req, err := http.NewRequestWithContext(ctx, method, u.String(), rd)
	if err != nil {
		return false, synclayer.Permanent(fmt.Errorf("magento: %s %s: %w", verb, what, err))
	}
	req.Header.Set("Accept", "application/json")
	if payload != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if o := s.settings.OAuth; o != nil {
		// A JSON body is not part of an OAuth 1.0a signature (RFC 5849
		// §3.4.1.3 signs form bodies only).
		req.Header.Set("Authorization", Authorization(method, u, *o, OAuthParams{Nonce: s.nonce(), Timestamp: s.now()}))
	} else {
		req.Header.Set("Authorization", "Bearer "+s.settings.AccessToken)
	}
	resp, err := s.http.Do(req)
	if err != nil {
		if ctx.Err() != nil {
			return false, ctx.Err()
		}
		return true, fmt.Errorf("magento: %s %s: the store's API did not answer", verb, what)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 32<<20))
	if err != nil {
		return true, fmt.Errorf("magento: %s %s: %w", verb, what, err)
	}
	if resp.StatusCode/100 == 2 {
		if v == nil {
			return false, nil
		}
		if err := json.Unmarshal(body, v); err != nil {
			return false, synclayer.Permanent(fmt.Errorf("magento: %s %s: the answer is not the JSON the REST API sends; is api_url the store's base URL?", verb, what))
		}
		return false, nil
	}
	e := &APIError{Status: resp.StatusCode, Msg: fmt.Sprintf("magento: %s %s: %d %s", verb, what, resp.StatusCode, errorMessage(body))}
	switch {
	case resp.StatusCode == http.StatusTooManyRequests:
		wait := retryAfter(resp.Header.Get("Retry-After"), s.now())
		e.Msg += " (a rate limit; waiting what Retry-After asks)"
		return false, synclayer.Throttled(e, wait)
	case resp.StatusCode == http.StatusUnauthorized || resp.StatusCode == http.StatusForbidden:
		if s.settings.OAuth != nil {
			e.Msg += ": the integration's oauth credentials were refused or lack a resource; check oauth.consumer_key, consumer_secret, access_token and access_token_secret, and that the integration is active with Customers, Sales and Catalog resources (Carts too for cart-events, and Webhooks to register webhooks)"
		} else {
			e.Msg += ": access_token was refused; since Magento 2.4.4 an integration token works as a bearer token only with Stores > Configuration > Services > OAuth > Consumer Settings > \"Allow OAuth Access Tokens to be used as standalone Bearer tokens\" on; otherwise set oauth instead"
		}
		return false, synclayer.Permanent(e)
	case resp.StatusCode == http.StatusNotFound:
		e.Msg += ": no such endpoint or record; check api_url and store_code"
		return false, synclayer.Permanent(e)
	case resp.StatusCode >= 500:
		return true, e
	}
	return false, synclayer.Permanent(e)
}

// errorMessage reads Magento's error body, {"message": "... %1 ...",
// "parameters": [...] or {...}}, with its placeholders filled.
func errorMessage(body []byte) string {
	var eb struct {
		Message    string          `json:"message"`
		Parameters json.RawMessage `json:"parameters"`
	}
	if json.Unmarshal(body, &eb) != nil || eb.Message == "" {
		return ""
	}
	msg := eb.Message
	var list []any
	var named map[string]any
	if json.Unmarshal(eb.Parameters, &list) == nil {
		for i, p := range list {
			msg = strings.ReplaceAll(msg, "%"+strconv.Itoa(i+1), fmt.Sprint(p))
		}
	} else if json.Unmarshal(eb.Parameters, &named) == nil {
		for k, p := range named {
			msg = strings.ReplaceAll(msg, "%"+k, fmt.Sprint(p))
		}
	}
	return normalize.Clip(msg)
}

// retryAfter reads Retry-After, in seconds or as an HTTP date; 1s when
// absent or unreadable, an hour at most.
func retryAfter(v string, now time.Time) time.Duration {
	d := time.Second
	if n, err := strconv.Atoi(strings.TrimSpace(v)); err == nil && n >= 0 {
		d = time.Duration(n) * time.Second
	} else if t, err := http.ParseTime(v); err == nil {
		d = t.Sub(now)
	}
	return min(max(d, 0), time.Hour)
}
