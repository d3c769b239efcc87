// Package adminclient is a Go client for synclayer's admin API, the routes under
// /api/v1 described by api/openapi.yaml. It returns the domain types of
// package synclayer, and every error the server answers as an *Error
// carrying its status, code and the field at fault.
//
//	c := adminclient.New("http://127.0.0.1:8080", os.Getenv("SYNCLAYER_API_KEY"))
//	res, err := c.Skills().Trigger(ctx, "customer-sync", "customer_created", map[string]any{"id": "c1", "email": "bob@example.com"})
package adminclient

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// Client calls one synclayer server with one API key. It is safe for
// concurrent use.
type Client struct {
	base string
	key  string
	http *http.Client
}

// Option configures a Client.
type Option func(*Client)

// WithHTTPClient sends requests through h, for its timeout or transport.
// The default client times out after 30 seconds.
func WithHTTPClient(h *http.Client) Option { return func(c *Client) { c.http = h } }

// New returns a client for the server at baseURL ("http://127.0.0.1:8080")
// that authenticates with key, as created by synclayer keys create.
func New(baseURL, key string, opts ...Option) *Client {
	c := &Client{base: strings.TrimRight(baseURL, "/"), key: key, http: &http.Client{Timeout: 30 * time.Second}}
	for _, o := range opts {
		o(c)
	}
	return c
}

// do sends in as JSON (when not nil) and decodes a 2xx answer into out
// (when not nil). Any other answer is an *Error.
func (c *Client) do(ctx context.Context, method, path string, query url.Values, in, out any) error {
	var body io.Reader
	if in != nil {
		b, err := json.Marshal(in)
		if err != nil {
			return fmt.Errorf("synclayer: encode request: %w", err)
		}
		body = bytes.NewReader(b)
	}
	u := c.base + path
	if len(query) > 0 {
		u += "?" + query.Encode()
	}
	req, err := http.NewRequestWithContext(ctx, method, u, body)
	if err != nil {
		return fmt.Errorf("synclayer: %w", err)
	}
	req.Header.Set("Authorization", "Bearer "+c.key)
	req.Header.Set("Accept", "application/json")
	if in != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return fmt.Errorf("synclayer: %s %s: %w", method, path, err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(resp.Body, 32<<20))
	if err != nil {
		return fmt.Errorf("synclayer: %s %s: read answer: %w", method, path, err)
	}
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return newError(resp.StatusCode, raw)
	}
	if out == nil || len(bytes.TrimSpace(raw)) == 0 {
		return nil
	}
	if err := json.Unmarshal(raw, out); err != nil {
		return fmt.Errorf("synclayer: %s %s: decode answer: %w", method, path, err)
	}
	return nil
}

func escape(s string) string { return url.PathEscape(s) }
