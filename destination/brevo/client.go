package brevo

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

// DefaultBaseURL is the Brevo API v3 endpoint.
const DefaultBaseURL = "https://api.brevo.com/v3"

// maxResponse caps how much of a response body is read.
const maxResponse = 10 << 20

// Config configures a Client.
type Config struct {
	APIKey     string
	BaseURL    string            // default DefaultBaseURL
	HTTPClient *http.Client      // default: one with a 15 s timeout
	Transport  http.RoundTripper // the default client's transport; default http.DefaultTransport (the server passes a tracing one)

	// Logger receives one debug line per request: method, path template
	// (identifiers masked), status, duration, Brevo error code, and a
	// summary of the bodies (attribute names, list IDs, blacklist flags).
	// It never sees the API key, emails, phone numbers or attribute values.
	Logger *slog.Logger

	// OnRateLimitWait, when set, is called each time a request waits for a
	// rate-limit window to reset, with the bucket name and the wait.
	OnRateLimitWait func(bucket string, d time.Duration)
}

// Client calls the Brevo API. It is safe for concurrent use.
type Client struct {
	apiKey  string
	baseURL string
	http    *http.Client
	log     *slog.Logger
	limits  *limiter
}

// New returns a Client for cfg, filling in defaults.
func New(cfg Config) *Client {
	c := &Client{
		apiKey:  cfg.APIKey,
		baseURL: strings.TrimRight(cfg.BaseURL, "/"),
		http:    cfg.HTTPClient,
		log:     cfg.Logger,
	}
	if c.baseURL == "" {
		c.baseURL = DefaultBaseURL
	}
	if c.http == nil {
		c.http = &http.Client{
			Transport: cfg.Transport,
			Timeout:   15 * time.Second,
			// A redirect would carry the api-key header to wherever it
			// points; Brevo does not redirect API calls.
			CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
		}
	}
	if c.log == nil {
		c.log = slog.New(slog.DiscardHandler)
	}
	c.limits = newLimiter(cfg.OnRateLimitWait, c.log)
	return c
}

// call is one API request. route is the path template, with identifiers as
// {placeholders}: it names the request in logs and errors, so no email or
// phone number leaks there. path is the escaped path actually requested.
type call struct {
	method string
	route  string
	path   string
	query  url.Values
	body   any
	raw    []byte // a body already encoded (a contact import's), sent as it is instead of body
	out    any
	// spare marks a background read: it takes at most half of the
	// bucket's budget (limiter.acquireSpare).
	spare bool
	// header, when set, receives the headers of a successful answer.
	header *http.Header
}

// do sends k and returns the HTTP status of a successful (2xx) answer. A
// failure is classified as described in the package doc.
func (c *Client) do(ctx context.Context, k call) (int, error) {
	payload := k.raw
	if payload == nil && k.body != nil {
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
		u += "?" + k.query.Encode()
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
	req.Header.Set("api-key", c.apiKey)
	req.Header.Set("accept", "application/json")
	if payload != nil {
		req.Header.Set("content-type", "application/json")
	}

	start := time.Now()
	resp, err := c.http.Do(req)
	if err != nil {
		c.limits.release(t, nil)
		err = transportError(err)
		c.logRequest(ctx, k, bucket, 0, time.Since(start), "", nil, err)
		return 0, c.wrap(k, err)
	}
	data, err := io.ReadAll(io.LimitReader(resp.Body, maxResponse))
	resp.Body.Close()
	rl := parseRateHeaders(resp.Header)
	c.limits.release(t, &answer{status: resp.StatusCode, rate: rl})
	if err != nil {
		err = fmt.Errorf("read response: %w", transportError(err))
		c.logRequest(ctx, k, bucket, resp.StatusCode, time.Since(start), "", nil, err)
		return 0, c.wrap(k, err)
	}

	if resp.StatusCode/100 != 2 {
		apiErr := parseAPIError(resp.StatusCode, data)
		c.logRequest(ctx, k, bucket, resp.StatusCode, time.Since(start), apiErr.Code, nil, nil)
		return 0, classify(c.wrap(k, apiErr), apiErr, rl)
	}
	c.logRequest(ctx, k, bucket, resp.StatusCode, time.Since(start), "", data, nil)
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
	return fmt.Errorf("brevo: %s %s: %w", k.method, k.route, err)
}

// logRequest writes the debug line of one request and its answer, with a
// summary of both bodies that holds no personal data (see requestSummary).
func (c *Client) logRequest(ctx context.Context, k call, bucket string, status int, d time.Duration, code string, resp []byte, err error) {
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
	if t := k.query.Get("identifierType"); t != "" {
		attrs = append(attrs, slog.String("identifierType", t))
	}
	if code != "" {
		attrs = append(attrs, slog.String("code", code))
	}
	if err != nil {
		attrs = append(attrs, slog.String("error", err.Error()))
	}
	attrs = append(attrs, requestSummary(k.body)...)
	attrs = append(attrs, responseSummary(resp)...)
	c.log.LogAttrs(ctx, slog.LevelDebug, "brevo request", attrs...)
}

// transportError drops the *url.Error wrapper, whose text holds the request
// URL and so the contact's email or external ID.
func transportError(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		return ue.Err
	}
	return err
}

// escapePath percent-encodes everything but RFC 3986 unreserved characters,
// as Brevo asks for emails and ext_ids in the path ("urlencoded"): '@' and
// '+' are sent as %40 and %2B, and '/' cannot split the segment.
func escapePath(s string) string {
	const hex = "0123456789ABCDEF"
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		ch := s[i]
		if 'a' <= ch && ch <= 'z' || 'A' <= ch && ch <= 'Z' || '0' <= ch && ch <= '9' ||
			ch == '-' || ch == '.' || ch == '_' || ch == '~' {
			b.WriteByte(ch)
			continue
		}
		b.WriteByte('%')
		b.WriteByte(hex[ch>>4])
		b.WriteByte(hex[ch&15])
	}
	return b.String()
}
