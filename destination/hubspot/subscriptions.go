package hubspot

import (
	"context"
	"net/http"
	"net/url"
)

// SubscriptionStatus is one subscription's status for an address.
type SubscriptionStatus struct {
	ID             string `json:"id"`
	Name           string `json:"name"`
	Status         string `json:"status"`         // SUBSCRIBED or NOT_SUBSCRIBED
	SourceOfStatus string `json:"sourceOfStatus"` // SUBSCRIPTION_STATUS, BRAND_WIDE_STATUS or PORTAL_WIDE_STATUS
}

// EmailStatus is what HubSpot reports of an address's subscriptions.
type EmailStatus struct {
	Recipient     string               `json:"recipient"`
	Subscriptions []SubscriptionStatus `json:"subscriptionStatuses"`
}

// OptedOut reports whether the address opted out of all email (or of its
// brand's), which HubSpot reports as NOT_SUBSCRIBED with a portal- or
// brand-wide source.
func (s *EmailStatus) OptedOut() bool {
	for _, x := range s.Subscriptions {
		if x.Status == "NOT_SUBSCRIBED" && (x.SourceOfStatus == "PORTAL_WIDE_STATUS" || x.SourceOfStatus == "BRAND_WIDE_STATUS") {
			return true
		}
	}
	return false
}

// Of returns subscription id's status, or nil when HubSpot lists none.
func (s *EmailStatus) Of(id string) *SubscriptionStatus {
	for i := range s.Subscriptions {
		if s.Subscriptions[i].ID == id {
			return &s.Subscriptions[i]
		}
	}
	return nil
}

// GetEmailStatus reads the subscription statuses of email.
func (c *Client) GetEmailStatus(ctx context.Context, email string) (*EmailStatus, error) {
	out := &EmailStatus{}
	_, err := c.do(ctx, call{method: http.MethodGet, route: "/communication-preferences/v3/status/email/{emailAddress}",
		path: "/communication-preferences/v3/status/email/" + url.PathEscape(email), out: out})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// SubscriptionRequest is the body of a subscribe or unsubscribe.
type SubscriptionRequest struct {
	EmailAddress          string `json:"emailAddress"`
	SubscriptionID        string `json:"subscriptionId"`
	LegalBasis            string `json:"legalBasis,omitempty"`
	LegalBasisExplanation string `json:"legalBasisExplanation,omitempty"`
}

// Unsubscribe unsubscribes r.EmailAddress from r.SubscriptionID. An
// address already unsubscribed is no error.
func (c *Client) Unsubscribe(ctx context.Context, r SubscriptionRequest) error {
	_, err := c.do(ctx, call{method: http.MethodPost, route: "/communication-preferences/v3/unsubscribe",
		path: "/communication-preferences/v3/unsubscribe", body: r})
	if isAlready(err, "unsubscribed") {
		return nil
	}
	return err
}

// Subscribe subscribes r.EmailAddress to r.SubscriptionID with its legal
// basis. HubSpot refuses an address that opted out (a permanent error
// isOptedOut recognises); one already subscribed is no error.
func (c *Client) Subscribe(ctx context.Context, r SubscriptionRequest) error {
	_, err := c.do(ctx, call{method: http.MethodPost, route: "/communication-preferences/v3/subscribe",
		path: "/communication-preferences/v3/subscribe", body: r})
	if isAlready(err, "subscribed") && !isOptedOut(err) {
		return nil
	}
	return err
}
