package pipedrive

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"hash/fnv"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"synclayer"
)

const maxResponse = 10 << 20

// Config configures a Client.
type Config struct {
	// APIToken is a user's personal API token, sent in the x-api-token
	// header as Pipedrive documents
	// (pipedrive.readme.io/docs/core-api-concepts-authentication), never
	// in the URL, so no log of a URL holds it.
	APIToken string
	// BaseURL is the company's API root, https://<company_domain>.pipedrive.com.
	BaseURL    string
	HTTPClient *http.Client      // default: 30 s timeout, no redirects
	Transport  http.RoundTripper // the default client's transport
	// Retries429 is how many times a 429 of the 2-second window is waited
	// out and retried before it is returned as synclayer.Throttled;
	// default 2.
	Retries429 int
	// Logger receives one debug line per request: method, path template,
	// status and duration. Never the token, emails or field values.
	Logger          *slog.Logger
	OnRateLimitWait func(bucket string, d time.Duration)
	Now             func() time.Time
	// Shared, when set, makes the creation of an organization or person
	// once across the instances sharing the store (shared.go); Name is
	// the destination's name, in its keys. Nil: find then create, safe
	// only within this process.
	Shared synclayer.SharedKeys
	Name   string
}

// Client calls Pipedrive's persons and person fields APIs. It is safe
// for concurrent use.
type Client struct {
	token   string
	baseURL string
	http    *http.Client
	log     *slog.Logger
	onWait  func(string, time.Duration)
	retries int
	limit   *limiter
	orgs    orgCache
	// personLocks and orgLocks serialize, per email and per company key,
	// the find-then-create that Pipedrive's API has no atomic upsert for,
	// so customer-sync and order-events of one contact in this process
	// make one person and one organization.
	personLocks, orgLocks stripes
	shared                synclayer.SharedKeys
	sharedPrefix          string // "pipedrive:<destination name>:"
	// claimTTL, claimWait and claimPoll shape the wait for another
	// instance's create (shared.go); tests shorten them.
	claimTTL, claimWait, claimPoll time.Duration
}

type stripes [64]sync.Mutex

// lock locks key's stripe and returns its unlock.
func (s *stripes) lock(key string) func() {
	h := fnv.New32a()
	h.Write([]byte(key))
	m := &s[h.Sum32()%uint32(len(s))]
	m.Lock()
	return m.Unlock
}

var _ synclayer.RateBudgeter = (*Client)(nil)

// New returns a Client for cfg.
func New(cfg Config) *Client {
	c := &Client{token: cfg.APIToken, baseURL: strings.TrimRight(cfg.BaseURL, "/"), http: cfg.HTTPClient,
		log: cfg.Logger, onWait: cfg.OnRateLimitWait, retries: cfg.Retries429,
		shared: cfg.Shared, sharedPrefix: "pipedrive:" + cfg.Name + ":",
		claimTTL: defaultClaimTTL, claimWait: defaultClaimWait, claimPoll: defaultClaimPoll}
	if c.http == nil {
		// A redirect would carry the token's header elsewhere.
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
	return c
}

// RateBudgets returns the 2-second window and the daily POST/PUT budget
// as the headers last reported them.
func (c *Client) RateBudgets() []synclayer.RateBudget { return c.limit.budgets() }

// call is one request; route is the path template, for logs and errors,
// so no address or ID leaks there.
type call struct {
	method, route, path string
	query               url.Values
	body, out           any
}

// do sends k, waiting out a 429 of the 2-second window, and returns the
// status of a 2xx answer. Pipedrive wraps every answer in
// {"success": ..., "data": ...}; out receives the whole envelope.
func (c *Client) do(ctx context.Context, k call) (int, error) {
	var payload []byte
	if k.body != nil {
		var err error
		if payload, err = json.Marshal(k.body); err != nil {
			return 0, synclayer.Permanent(c.wrap(k, fmt.Errorf("encode body: %w", err)))
		}
	}
	for attempt := 0; ; attempt++ {
		d, err := c.limit.wait(ctx)
		if err != nil {
			return 0, c.wrap(k, err)
		}
		if d > 0 && c.onWait != nil {
			c.onWait(BucketWindow, d)
		}
		status, header, data, err := c.send(ctx, k, payload)
		if err != nil {
			return 0, c.wrap(k, err)
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
		daily := false
		if status == http.StatusTooManyRequests {
			wait, daily = c.limit.throttled(header)
		}
		if status != http.StatusTooManyRequests || daily || attempt >= c.retries {
			return 0, classify(c.wrap(k, apiErr), apiErr, wait)
		}
	}
}

func (c *Client) send(ctx context.Context, k call, payload []byte) (int, http.Header, []byte, error) {
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
	req.Header.Set("x-api-token", c.token)
	req.Header.Set("Accept", "application/json")
	if payload != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	start := time.Now()
	resp, err := c.http.Do(req)
	if err != nil {
		err = transportError(err)
		c.logRequest(ctx, k, 0, time.Since(start), err)
		c.limit.done()
		return 0, nil, nil, err
	}
	data, err := io.ReadAll(io.LimitReader(resp.Body, maxResponse))
	resp.Body.Close()
	c.limit.observe(resp.Header)
	if err != nil {
		err = fmt.Errorf("read response: %w", transportError(err))
		c.logRequest(ctx, k, resp.StatusCode, time.Since(start), err)
		return 0, nil, nil, err
	}
	c.logRequest(ctx, k, resp.StatusCode, time.Since(start), nil)
	return resp.StatusCode, resp.Header, data, nil
}

func (c *Client) wrap(k call, err error) error {
	return fmt.Errorf("pipedrive: %s %s: %w", k.method, k.route, err)
}

func (c *Client) logRequest(ctx context.Context, k call, status int, d time.Duration, err error) {
	if !c.log.Enabled(ctx, slog.LevelDebug) {
		return
	}
	attrs := []slog.Attr{slog.String("method", k.method), slog.String("path", k.route), slog.Int("status", status), slog.Duration("duration", d)}
	if err != nil {
		attrs = append(attrs, slog.String("error", err.Error()))
	}
	c.log.LogAttrs(ctx, slog.LevelDebug, "pipedrive request", attrs...)
}

// transportError drops the *url.Error wrapper, whose text holds the URL
// and so, for a search, the address searched for.
func transportError(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		return ue.Err
	}
	return err
}
