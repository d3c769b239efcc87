package klaviyo

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"net/http"
	"net/url"
	"strings"
	"time"

	"synclayer"
)

// DefaultBaseURL is Klaviyo's API host; paths start with /api/.
const DefaultBaseURL = "https://a.klaviyo.com"

// Revision is the API revision every request pins in its revision header:
// the stable revision of the vendored spec (testdata/openapi/SOURCE.md).
// A newer revision may change bodies; move it together with the spec.
const Revision = "2026-07-15"

// mediaType is JSON:API's, which Klaviyo requires for bodies and answers.
const mediaType = "application/vnd.api+json"

// maxResponse caps how much of a response body is read.
const maxResponse = 10 << 20

// Config configures a Client.
type Config struct {
	APIKey     string
	BaseURL    string            // default DefaultBaseURL
	Revision   string            // default Revision
	HTTPClient *http.Client      // default: one with a 15 s timeout that follows no redirect
	Transport  http.RoundTripper // the default client's transport; default http.DefaultTransport (the server passes a tracing one)

	// Logger receives one debug line per request: method, path template,
	// bucket, status, duration and Klaviyo's error codes. It never sees
	// the API key, emails, phone numbers or property values.
	Logger *slog.Logger

	// OnRateLimitWait, when set, is called each time a request waits for a
	// rate-limit bucket, with the bucket name and the planned wait.
	OnRateLimitWait func(bucket string, d time.Duration)

	// Limits overrides the documented limits of Buckets by bucket name,
	// for an account Klaviyo gave other limits (and for tests).
	Limits map[string]Limit
}

// Client calls the Klaviyo API. It is safe for concurrent use.
type Client struct {
	apiKey   string
	baseURL  string
	revision string
	http     *http.Client
	log      *slog.Logger
	limits   *limiter
	jobs     jobMemory // row keys of the bulk import jobs sent
}

// New returns a Client for cfg, filling in defaults.
func New(cfg Config) *Client {
	c := &Client{
		apiKey:   cfg.APIKey,
		baseURL:  strings.TrimRight(cfg.BaseURL, "/"),
		revision: cfg.Revision,
		http:     cfg.HTTPClient,
		log:      cfg.Logger,
	}
	if c.baseURL == "" {
		c.baseURL = DefaultBaseURL
	}
	if c.revision == "" {
		c.revision = Revision
	}
	if c.http == nil {
		c.http = &http.Client{
			Transport: cfg.Transport,
			Timeout:   15 * time.Second,
			// A redirect would carry the Authorization header to wherever
			// it points; Klaviyo does not redirect API calls.
			CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
		}
	}
	if c.log == nil {
		c.log = slog.New(slog.DiscardHandler)
	}
	c.limits = newLimiter(cfg.OnRateLimitWait, c.log)
	if len(cfg.Limits) > 0 {
		merged := maps.Clone(Buckets)
		maps.Copy(merged, cfg.Limits)
		c.limits.limits = merged
	}
	return c
}

// call is one API request. route is the path template with identifiers
// as {placeholders}; it names the request in logs and errors, so no
// email or ID leaks there. path is the escaped path actually requested.
type call struct {
	method string
	route  string
	path   string
	query  url.Values
	body   any
	out    any
	// spare marks a background read: it takes at most half of its
	// bucket's budget (limiter.acquireSpare).
	spare bool
	// header, when set, receives a successful answer's headers (its Date).
	header *http.Header
}

// A request answered 429 with a short Retry-After (at most
// throttleInlineWait) is sent again once its bucket opens, up to
// throttleRetries times, before the queue gets the error: a throttled
// burst is paced, not backed off, so it drains at the rate Klaviyo
// allows. A longer wait goes back to the queue and frees the worker.
const (
	throttleRetries    = 3
	throttleInlineWait = 2 * time.Second
)

// do sends k and returns the HTTP status of a successful (2xx) answer,
// or an error classified as the package doc describes.
func (c *Client) do(ctx context.Context, k call) (int, error) {
	for i := 0; ; i++ {
		status, err := c.send(ctx, k)
		var apiErr *APIError
		var ra *synclayer.RetryAfterError
		if i == throttleRetries || !errors.As(err, &apiErr) || apiErr.Status != http.StatusTooManyRequests ||
			!errors.As(err, &ra) || ra.After > throttleInlineWait || ctx.Err() != nil {
			return status, err
		}
	}
}

// send sends k once; the limiter holds it until its bucket allows.
func (c *Client) send(ctx context.Context, k call) (int, error) {
	var payload []byte
	if k.body != nil {
		var err error
		if payload, err = json.Marshal(k.body); err != nil {
			return 0, synclayer.Permanent(c.wrap(k, fmt.Errorf("encode body: %w", err)))
		}
	}
	bucket := bucketFor(k.method, k.route)
	acquire := c.limits.acquire
	if k.spare {
		acquire = c.limits.acquireSpare
	}
	t, err := acquire(ctx, bucket)
	if err != nil {
		return 0, c.wrap(k, err)
	}
	u := c.baseURL + k.path
	if len(k.query) > 0 {
		// Klaviyo reads brackets and parentheses literally in its query
		// parameters (filter=equals(...), fields[profile]=...).
		u += "?" + strings.NewReplacer("%5B", "[", "%5D", "]", "%28", "(", "%29", ")", "%2C", ",").Replace(k.query.Encode())
	}
	var body io.Reader
	if payload != nil {
		body = bytes.NewReader(payload)
	}
	req, err := http.NewRequestWithContext(synclayer.WithHTTPRoute(ctx, k.route), k.method, u, body)
	if err != nil {
		c.limits.release(t, nil)
		return 0, synclayer.Permanent(c.wrap(k, errors.New("build request: invalid base URL")))
	}
	req.Header.Set("Authorization", "Klaviyo-API-Key "+c.apiKey)
	req.Header.Set("revision", c.revision)
	req.Header.Set("Accept", mediaType)
	if payload != nil {
		req.Header.Set("Content-Type", mediaType)
	}

	start := time.Now()
	resp, err := c.http.Do(req)
	if err != nil {
		c.limits.release(t, nil)
		err = transportError(err)
		c.logRequest(ctx, k, bucket, 0, time.Since(start), nil, err)
		return 0, c.wrap(k, err)
	}
	data, err := io.ReadAll(io.LimitReader(resp.Body, maxResponse))
	resp.Body.Close()
	rl := parseRateHeaders(resp.Header)
	c.limits.release(t, &answer{status: resp.StatusCode, rate: rl})
	if err != nil {
		err = fmt.Errorf("read response: %w", transportError(err))
		c.logRequest(ctx, k, bucket, resp.StatusCode, time.Since(start), nil, err)
		return 0, c.wrap(k, err)
	}
	if resp.StatusCode/100 != 2 {
		apiErr := parseAPIError(resp.StatusCode, data)
		c.logRequest(ctx, k, bucket, resp.StatusCode, time.Since(start), apiErr, nil)
		return 0, classify(c.wrap(k, apiErr), apiErr, rl)
	}
	c.logRequest(ctx, k, bucket, resp.StatusCode, time.Since(start), nil, nil)
	if k.header != nil {
		*k.header = resp.Header.Clone()
	}
	if k.out != nil && len(bytes.TrimSpace(data)) > 0 {
		if err := json.Unmarshal(data, k.out); err != nil {
			return 0, c.wrap(k, fmt.Errorf("decode %d response: %w", resp.StatusCode, err))
		}
	}
	return resp.StatusCode, nil
}

// wrap prefixes err with the request's method and route template.
func (c *Client) wrap(k call, err error) error {
	return fmt.Errorf("klaviyo: %s %s: %w", k.method, k.route, err)
}

// logRequest writes the debug line of one request: no body, no query
// values (a filter holds an email), only their shape.
func (c *Client) logRequest(ctx context.Context, k call, bucket string, status int, d time.Duration, apiErr *APIError, err error) {
	if !c.log.Enabled(ctx, slog.LevelDebug) {
		return
	}
	attrs := []slog.Attr{
		slog.String("method", k.method),
		slog.String("path", k.route),
		slog.String("bucket", bucket),
		slog.Int("status", status),
		slog.Duration("duration", d),
	}
	if apiErr != nil && len(apiErr.Errors) > 0 {
		codes := make([]string, len(apiErr.Errors))
		for i, e := range apiErr.Errors {
			codes[i] = e.Code
		}
		attrs = append(attrs, slog.Any("codes", codes))
	}
	if err != nil {
		attrs = append(attrs, slog.String("error", err.Error()))
	}
	c.log.LogAttrs(ctx, slog.LevelDebug, "klaviyo request", attrs...)
}

// transportError drops the *url.Error wrapper, whose text holds the
// request URL and so, for a filtered GET, the contact's email.
func transportError(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		return ue.Err
	}
	return err
}
