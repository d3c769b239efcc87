package mailchimp

import (
	"bytes"
	"context"
	"crypto/md5"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"synclayer"
)

// DefaultMaxConnections is Mailchimp's limit of simultaneous connections
// per API key; requests above it are answered 429.
const DefaultMaxConnections = 10

// maxResponse caps how much of a response body is read.
const maxResponse = 10 << 20

// Config configures a Client.
type Config struct {
	APIKey string
	// BaseURL is the API root, https://<dc>.api.mailchimp.com/3.0; default
	// from the key's data centre (BaseURLFor).
	BaseURL    string
	HTTPClient *http.Client      // default: one with a 30 s timeout and no redirects
	Transport  http.RoundTripper // the default client's transport; default http.DefaultTransport (the server passes a tracing one)

	// MaxConnections bounds the requests in flight for the API key across
	// every Client of this process; default DefaultMaxConnections.
	MaxConnections int
	// Retries429 is how many times a 429 is retried before it is returned
	// as synclayer.RetryAfter; default 3. Backoff is the first wait,
	// doubled each time; default 1 s.
	Retries429 int
	Backoff    time.Duration

	// Logger receives one debug line per request: method, path template,
	// status, duration and Mailchimp's error title. It never sees the API
	// key, emails, subscriber hashes or merge field values.
	Logger *slog.Logger
	// OnRateLimitWait, when set, is called with bucket "connections" each
	// time a request waited for a free connection slot.
	OnRateLimitWait func(bucket string, d time.Duration)
}

// Client calls the Mailchimp Marketing API. It is safe for concurrent use.
type Client struct {
	apiKey  string
	baseURL string
	http    *http.Client
	log     *slog.Logger
	slots   *slots
	onWait  func(string, time.Duration)
	retries int
	backoff time.Duration
}

// New returns a Client for cfg. It fails when no base URL is set and the
// key carries no data centre.
func New(cfg Config) (*Client, error) {
	c := &Client{apiKey: cfg.APIKey, baseURL: strings.TrimRight(cfg.BaseURL, "/"), http: cfg.HTTPClient,
		log: cfg.Logger, onWait: cfg.OnRateLimitWait, retries: cfg.Retries429, backoff: cfg.Backoff}
	if c.baseURL == "" {
		u, err := BaseURLFor(cfg.APIKey)
		if err != nil {
			return nil, err
		}
		c.baseURL = u
	}
	if c.http == nil {
		c.http = &http.Client{
			Transport: cfg.Transport,
			// Mailchimp times a request out at 120 s; 30 s keeps a
			// delivery from holding a connection slot that long.
			Timeout: 30 * time.Second,
			// A redirect would carry the Basic credentials elsewhere.
			CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
		}
	}
	if c.log == nil {
		c.log = slog.New(slog.DiscardHandler)
	}
	if c.retries == 0 {
		c.retries = 3
	}
	if c.backoff <= 0 {
		c.backoff = time.Second
	}
	max := cfg.MaxConnections
	if max <= 0 {
		max = DefaultMaxConnections
	}
	c.slots = slotsFor(cfg.APIKey, max)
	return c, nil
}

// DataCenter returns the data centre a key belongs to: "us21" for
// "…-us21". The key is never quoted in the error.
func DataCenter(apiKey string) (string, error) {
	i := strings.LastIndexByte(apiKey, '-')
	dc := ""
	if i >= 0 {
		dc = apiKey[i+1:]
	}
	if dc == "" || !isAlnum(dc) {
		return "", errors.New("the API key does not end in a data centre (like -us21); copy the whole key from Mailchimp, or set base_url")
	}
	return dc, nil
}

// BaseURLFor returns https://<dc>.api.mailchimp.com/3.0 for the key's data centre.
func BaseURLFor(apiKey string) (string, error) {
	dc, err := DataCenter(apiKey)
	if err != nil {
		return "", err
	}
	return "https://" + dc + ".api.mailchimp.com/3.0", nil
}

// SubscriberHash is Mailchimp's member ID: the MD5 of the lowercased email.
func SubscriberHash(email string) string {
	sum := md5.Sum([]byte(strings.ToLower(strings.TrimSpace(email))))
	return hex.EncodeToString(sum[:])
}

func isAlnum(s string) bool {
	for _, r := range s {
		if !('a' <= r && r <= 'z' || 'A' <= r && r <= 'Z' || '0' <= r && r <= '9') {
			return false
		}
	}
	return true
}

// call is one API request. route is the path template with {placeholders}:
// it names the request in logs and errors, so no hash leaks there.
type call struct {
	method string
	route  string
	path   string
	query  url.Values
	body   any
	out    any
}

// do sends k, retrying a 429 with backoff, and returns the status of a 2xx
// answer. A failure is classified as described in the package doc.
func (c *Client) do(ctx context.Context, k call) (int, error) {
	var payload []byte
	if k.body != nil {
		var err error
		if payload, err = json.Marshal(k.body); err != nil {
			return 0, synclayer.Permanent(c.wrap(k, fmt.Errorf("encode body: %w", err)))
		}
	}
	wait := c.backoff
	for attempt := 0; ; attempt++ {
		status, data, retryAfter, err := c.send(ctx, k, payload)
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
		if retryAfter > 0 {
			wait = retryAfter
		}
		if status != http.StatusTooManyRequests || attempt >= c.retries {
			return 0, classify(c.wrap(k, apiErr), apiErr, wait)
		}
		if err := sleep(ctx, wait); err != nil {
			return 0, c.wrap(k, err)
		}
		wait *= 2
	}
}

// send makes one attempt inside a connection slot.
func (c *Client) send(ctx context.Context, k call, payload []byte) (status int, data []byte, retryAfter time.Duration, err error) {
	waited, err := c.slots.acquire(ctx)
	if err != nil {
		return 0, nil, 0, err
	}
	defer c.slots.release()
	if waited > 0 && c.onWait != nil {
		c.onWait("connections", waited)
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
		return 0, nil, 0, synclayer.Permanent(errors.New("build request: invalid base URL"))
	}
	req.SetBasicAuth("synclayer", c.apiKey)
	req.Header.Set("accept", "application/json")
	if payload != nil {
		req.Header.Set("content-type", "application/json")
	}
	start := time.Now()
	resp, err := c.http.Do(req)
	if err != nil {
		err = transportError(err)
		c.logRequest(ctx, k, 0, time.Since(start), "", err)
		return 0, nil, 0, err
	}
	data, err = io.ReadAll(io.LimitReader(resp.Body, maxResponse))
	resp.Body.Close()
	if err != nil {
		err = fmt.Errorf("read response: %w", transportError(err))
		c.logRequest(ctx, k, resp.StatusCode, time.Since(start), "", err)
		return 0, nil, 0, err
	}
	title := ""
	if resp.StatusCode/100 != 2 {
		title = parseAPIError(resp.StatusCode, data).Title
	}
	c.logRequest(ctx, k, resp.StatusCode, time.Since(start), title, nil)
	if s, err := strconv.Atoi(resp.Header.Get("Retry-After")); err == nil && s > 0 {
		retryAfter = time.Duration(s) * time.Second
	}
	return resp.StatusCode, data, retryAfter, nil
}

func (c *Client) wrap(k call, err error) error {
	return fmt.Errorf("mailchimp: %s %s: %w", k.method, k.route, err)
}

func (c *Client) logRequest(ctx context.Context, k call, status int, d time.Duration, title string, err error) {
	if !c.log.Enabled(ctx, slog.LevelDebug) {
		return
	}
	attrs := []slog.Attr{slog.String("method", k.method), slog.String("path", k.route),
		slog.Int("status", status), slog.Duration("duration", d)}
	if title != "" {
		attrs = append(attrs, slog.String("title", title))
	}
	if err != nil {
		attrs = append(attrs, slog.String("error", err.Error()))
	}
	c.log.LogAttrs(ctx, slog.LevelDebug, "mailchimp request", attrs...)
}

// transportError drops the *url.Error wrapper, whose text holds the URL
// and so the subscriber hash.
func transportError(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		return ue.Err
	}
	return err
}

func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}
