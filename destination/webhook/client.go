// Package webhook delivers notifications to an HTTP endpoint, signed the
// Standard Webhooks way (standardwebhooks.com) so the receiver can verify
// them with any of its reference libraries.
package webhook

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"time"

	standardwebhooks "github.com/standard-webhooks/standard-webhooks/libraries/go"

	"synclayer"
)

// Config configures a Client.
type Config struct {
	URL    string
	Secret string // whsec_ followed by base64
	// HTTPClient defaults to one with a 15 s timeout.
	HTTPClient *http.Client
	Now        func() time.Time
}

// Client posts notifications to one endpoint.
type Client struct {
	cfg  Config
	hook *standardwebhooks.Webhook
}

var _ synclayer.NotificationSender = (*Client)(nil)

// New returns a Client, or an error when the secret is not a whsec_
// base64 secret.
func New(cfg Config) (*Client, error) {
	hook, err := standardwebhooks.NewWebhook(cfg.Secret)
	if err != nil || cfg.Secret == "" {
		return nil, errors.New("the signing secret must be whsec_ followed by base64")
	}
	if cfg.HTTPClient == nil {
		cfg.HTTPClient = &http.Client{Timeout: 15 * time.Second}
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	return &Client{cfg: cfg, hook: hook}, nil
}

// Send posts n.Body with webhook-id n.ID, so every retry carries the same
// ID and the receiver can deduplicate, and with the time of this attempt
// as webhook-timestamp, so a retry hours later is still within the
// receiver's tolerance. A 2xx is success; see Classify for the rest.
func (c *Client) Send(ctx context.Context, n *synclayer.Notification) error {
	now := c.cfg.Now()
	sig, err := c.hook.Sign(n.ID, now, n.Body)
	if err != nil {
		return synclayer.Permanent(fmt.Errorf("sign notification: %w", err))
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.cfg.URL, bytes.NewReader(n.Body))
	if err != nil {
		return synclayer.Permanent(errors.New("notifications.webhook_url is not a usable URL"))
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "synclayer")
	req.Header.Set(standardwebhooks.HeaderWebhookID, n.ID)
	req.Header.Set(standardwebhooks.HeaderWebhookTimestamp, strconv.FormatInt(now.Unix(), 10))
	req.Header.Set(standardwebhooks.HeaderWebhookSignature, sig)
	resp, err := c.cfg.HTTPClient.Do(req)
	if err != nil {
		return fmt.Errorf("webhook: %w", Unwrap(err))
	}
	defer resp.Body.Close()
	return Classify("webhook", resp)
}

// Classify turns an answer into a delivery outcome: nil for 2xx; a retry
// for 408, 425, 429 (no sooner than Retry-After) and 5xx; Permanent for any
// other status, which retrying cannot fix. The message names the status
// and the start of the body, never the URL, which may hold a token.
func Classify(name string, resp *http.Response) error {
	if resp.StatusCode/100 == 2 {
		_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
		return nil
	}
	snippet, _ := io.ReadAll(io.LimitReader(resp.Body, 200))
	err := fmt.Errorf("%s answered %d %s: %s", name, resp.StatusCode, http.StatusText(resp.StatusCode), bytes.TrimSpace(snippet))
	switch {
	case resp.StatusCode == http.StatusTooManyRequests:
		if s, perr := strconv.Atoi(resp.Header.Get("Retry-After")); perr == nil && s > 0 {
			return synclayer.Throttled(err, time.Duration(s)*time.Second)
		}
		return err
	case resp.StatusCode == http.StatusRequestTimeout, resp.StatusCode == http.StatusTooEarly, resp.StatusCode >= 500:
		return err
	}
	return synclayer.Permanent(err)
}

// Unwrap strips the URL from a transport error: net/http puts it in every
// *url.Error, and a Slack webhook URL is a secret that must not reach the
// job's stored reason.
func Unwrap(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		return ue.Err
	}
	return err
}
