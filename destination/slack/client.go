// Package slack posts alerts to a Slack incoming webhook
// (api.slack.com/messaging/webhooks). The webhook URL is itself the
// credential, so it never appears in an error.
package slack

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

	"synclayer"
)

// Client posts to one incoming webhook.
type Client struct {
	URL string
	// HTTPClient defaults to one with a 15 s timeout.
	HTTPClient *http.Client
}

var _ synclayer.NotificationSender = (*Client)(nil)

// Send posts n.Body, an incoming-webhook message such as {"text": "..."}
// (notify makes them). Slack answers 200 "ok"; 429 is retried after its
// Retry-After, 5xx and network errors with backoff; any other status
// (invalid_payload, invalid_token, channel_not_found, no_service) is
// permanent, since retrying cannot fix it.
func (c *Client) Send(ctx context.Context, n *synclayer.Notification) error {
	hc := c.HTTPClient
	if hc == nil {
		hc = &http.Client{Timeout: 15 * time.Second}
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.URL, bytes.NewReader(n.Body))
	if err != nil {
		return synclayer.Permanent(errors.New("notifications.slack_webhook_url is not a usable URL"))
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := hc.Do(req)
	if err != nil {
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err // the URL is the secret
		}
		return fmt.Errorf("slack: %w", err)
	}
	defer resp.Body.Close()
	snippet, _ := io.ReadAll(io.LimitReader(resp.Body, 200))
	if resp.StatusCode/100 == 2 {
		return nil
	}
	err = fmt.Errorf("slack answered %d: %s", resp.StatusCode, bytes.TrimSpace(snippet))
	switch {
	case resp.StatusCode == http.StatusTooManyRequests:
		if s, perr := strconv.Atoi(resp.Header.Get("Retry-After")); perr == nil && s > 0 {
			return synclayer.Throttled(err, time.Duration(s)*time.Second)
		}
		return err
	case resp.StatusCode >= 500:
		return err
	}
	return synclayer.Permanent(err)
}
