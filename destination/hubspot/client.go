package hubspot

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"time"

	"synclayer"
)

// DefaultBaseURL is HubSpot's API root.
const DefaultBaseURL = "https://api.hubapi.com"

const maxResponse = 10 << 20

// Config configures a Client.
type Config struct {
	// AccessToken is a private app's access token (pat-…), sent as
	// Authorization: Bearer.
	AccessToken string
	// OAuth, instead of AccessToken, authenticates as an OAuth app whose
	// access tokens are refreshed before they expire.
	OAuth      *OAuth
	BaseURL    string            // default DefaultBaseURL
	HTTPClient *http.Client      // default: 30 s timeout, no redirects
	Transport  http.RoundTripper // the default client's transport
	// Retries429 is how many times a 429 is waited out and retried before
	// it is returned as synclayer.RetryAfter; default 2.
	Retries429 int
	// Logger receives one debug line per request: method, path template,
	// status, duration and HubSpot's error category. Never the token,
	// emails or property values.
	Logger          *slog.Logger
	OnRateLimitWait func(bucket string, d time.Duration)
	Now             func() time.Time
}

// Client calls HubSpot's CRM and communication preferences APIs. It is
// safe for concurrent use.
type Client struct {
	token   string
	oauth   *tokenSource // nil: token
	baseURL string
	http    *http.Client
	log     *slog.Logger
	onWait  func(string, time.Duration)
	retries int
	limit   *limiter
}

var _ synclayer.RateBudgeter = (*Client)(nil)

// New returns a Client for cfg.
func New(cfg Config) *Client {
	c := &Client{token: cfg.AccessToken, baseURL: strings.TrimRight(cfg.BaseURL, "/"), http: cfg.HTTPClient,
		log: cfg.Logger, onWait: cfg.OnRateLimitWait, retries: cfg.Retries429}
	if c.baseURL == "" {
		c.baseURL = DefaultBaseURL
	}
	if c.http == nil {
		// A redirect would carry the Bearer token elsewhere.
		c.http = &http.Client{Transport: cfg.Transport, Timeout: 30 * time.Second,
			CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	}
	if c.log == nil {
		c.log = slog.New(slog.DiscardHandler)
	}
	if c.retries == 0 {
		c.retries = 2
	}
	now := cfg.Now
	if now == nil {
		now = time.Now
	}
	c.limit = newLimiter(now)
	if cfg.OAuth != nil {
		c.oauth = newTokenSource(*cfg.OAuth, c.baseURL, c.http, now, c.log)
	}
	return c
}

// RateBudgets returns the rolling and daily budgets the headers last
// reported.
func (c *Client) RateBudgets() []synclayer.RateBudget { return c.limit.budgets() }

// call is one request; route is the path template, for logs and errors,
// so no address leaks there.
type call struct {
	method, route, path string
	query               url.Values
	body, out           any
}

// do sends k, waiting out a 429 for the interval HubSpot's headers give,
// and returns the status of a 2xx answer.
func (c *Client) do(ctx context.Context, k call) (int, error) {
	var payload []byte
	if k.body != nil {
		var err error
		if payload, err = json.Marshal(k.body); err != nil {
			return 0, synclayer.Permanent(c.wrap(k, fmt.Errorf("encode body: %w", err)))
		}
	}
	var stale string // an OAuth access token HubSpot answered 401
	reauthed := false
	for attempt := 0; ; attempt++ {
		token, err := c.bearer(ctx, stale)
		if err != nil {
			return 0, err
		}
		if d, err := c.limit.wait(ctx); err != nil {
			return 0, c.wrap(k, err)
		} else if d > 0 && c.onWait != nil {
			c.onWait(BucketRolling, d)
		}
		status, header, data, err := c.send(ctx, k, payload, token)
		if err != nil {
			return 0, c.wrap(k, err)
		}
		if status == http.StatusUnauthorized && c.oauth != nil && !reauthed {
			// Expired early, or revoked: one refresh and one retry.
			reauthed, stale = true, token
			attempt--
			continue
		}
		if status/100 == 2 {
			if k.out != nil && len(bytes.TrimSpace(data)) > 0 {
				if err := json.Unmarshal(data, k.out); err != nil {
					return 0, c.wrap(k, fmt.Errorf("decode %d response: %w", status, err))
				}
			}
			return status, nil
		}
		apiErr := parseAPIError(status, data)
		var wait time.Duration
		if status == http.StatusTooManyRequests {
			wait = c.limit.throttled(header, apiErr.PolicyName)
		}
		if status != http.StatusTooManyRequests || apiErr.PolicyName == "DAILY" || attempt >= c.retries {
			return 0, classify(c.wrap(k, apiErr), apiErr, wait, c.oauth != nil)
		}
	}
}

// bearer is the token to send: the private app's, or a live OAuth access
// token (a fresh one when stale was just refused).
func (c *Client) bearer(ctx context.Context, stale string) (string, error) {
	if c.oauth == nil {
		return c.token, nil
	}
	return c.oauth.token(ctx, stale)
}

// LoadToken reads an OAuth client's stored token now, so a key that
// cannot open it fails at start; nil for a private app's token.
func (c *Client) LoadToken(ctx context.Context) error {
	if c.oauth == nil {
		return nil
	}
	return c.oauth.Load(ctx)
}

func (c *Client) send(ctx context.Context, k call, payload []byte, token string) (int, http.Header, []byte, error) {
	u := c.baseURL + k.path
	if len(k.query) > 0 {
		u += "?" + k.query.Encode()
	}
	var body io.Reader
	if payload != nil {
		body = bytes.NewReader(payload)
	}
	req, err := http.NewRequestWithContext(synclayer.WithHTTPRoute(ctx, k.route), k.method, u, body)
	if err != nil {
		return 0, nil, nil, synclayer.Permanent(errors.New("build request: invalid base URL"))
	}
	req.Header.Set("Authorization", "Bearer "+token)
	req.Header.Set("Accept", "application/json")
	if payload != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	start := time.Now()
	resp, err := c.http.Do(req)
	if err != nil {
		err = transportError(err)
		c.logRequest(ctx, k, 0, time.Since(start), "", err)
		return 0, nil, nil, err
	}
	data, err := io.ReadAll(io.LimitReader(resp.Body, maxResponse))
	resp.Body.Close()
	c.limit.observe(resp.Header)
	if err != nil {
		err = fmt.Errorf("read response: %w", transportError(err))
		c.logRequest(ctx, k, resp.StatusCode, time.Since(start), "", err)
		return 0, nil, nil, err
	}
	category := ""
	if resp.StatusCode/100 != 2 {
		category = parseAPIError(resp.StatusCode, data).Category
	}
	c.logRequest(ctx, k, resp.StatusCode, time.Since(start), category, nil)
	return resp.StatusCode, resp.Header, data, nil
}

func (c *Client) wrap(k call, err error) error {
	return fmt.Errorf("hubspot: %s %s: %w", k.method, k.route, err)
}

func (c *Client) logRequest(ctx context.Context, k call, status int, d time.Duration, category string, err error) {
	if !c.log.Enabled(ctx, slog.LevelDebug) {
		return
	}
	attrs := []slog.Attr{slog.String("method", k.method), slog.String("path", k.route), slog.Int("status", status), slog.Duration("duration", d)}
	if category != "" {
		attrs = append(attrs, slog.String("category", category))
	}
	if err != nil {
		attrs = append(attrs, slog.String("error", err.Error()))
	}
	c.log.LogAttrs(ctx, slog.LevelDebug, "hubspot request", attrs...)
}

// transportError drops the *url.Error wrapper, whose text holds the URL
// and so, for reads by email, the address.
func transportError(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		return ue.Err
	}
	return err
}
