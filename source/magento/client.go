package magento

import (
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
	var err error
	for attempt := 0; ; attempt++ {
		var retry bool
		retry, err = s.getOnce(ctx, what, path, v)
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

func (s *Source) getOnce(ctx context.Context, what, path string, v any) (retry bool, err error) {
	u, err := url.Parse(s.base + path)
	if err != nil {
		return false, synclayer.Permanent(fmt.Errorf("magento: reading %s: %w", what, err))
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u.String(), nil)
	if err != nil {
		return false, synclayer.Permanent(fmt.Errorf("magento: reading %s: %w", what, err))
	}
	req.Header.Set("Accept", "application/json")
	if o := s.settings.OAuth; o != nil {
		req.Header.Set("Authorization", Authorization(http.MethodGet, u, *o, OAuthParams{Nonce: s.nonce(), Timestamp: s.now()}))
	} else {
		req.Header.Set("Authorization", "Bearer "+s.settings.AccessToken)
	}
	resp, err := s.http.Do(req)
	if err != nil {
		if ctx.Err() != nil {
			return false, ctx.Err()
		}
		return true, fmt.Errorf("magento: reading %s: the store's API did not answer", what)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 32<<20))
	if err != nil {
		return true, fmt.Errorf("magento: reading %s: %w", what, err)
	}
	if resp.StatusCode/100 == 2 {
		if err := json.Unmarshal(body, v); err != nil {
			return false, synclayer.Permanent(fmt.Errorf("magento: reading %s: the answer is not the JSON the REST API sends; is api_url the store's base URL?", what))
		}
		return false, nil
	}
	e := &APIError{Status: resp.StatusCode, Msg: fmt.Sprintf("magento: reading %s: %d %s", what, resp.StatusCode, errorMessage(body))}
	switch {
	case resp.StatusCode == http.StatusTooManyRequests:
		wait := retryAfter(resp.Header.Get("Retry-After"), s.now())
		e.Msg += " (a rate limit; waiting what Retry-After asks)"
		return false, synclayer.Throttled(e, wait)
	case resp.StatusCode == http.StatusUnauthorized || resp.StatusCode == http.StatusForbidden:
		if s.settings.OAuth != nil {
			e.Msg += ": the integration's oauth credentials were refused or lack a resource; check oauth.consumer_key, consumer_secret, access_token and access_token_secret, and that the integration is active with Customers, Sales and Catalog resources"
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
