package hubspot

import "time"

// SetNow sets the clock the OAuth token source judges expiry by.
func (c *Client) SetNow(now func() time.Time) {
	if c.oauth != nil {
		c.oauth.mu.Lock()
		c.oauth.now = now
		c.oauth.mu.Unlock()
	}
}
