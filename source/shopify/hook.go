package shopify

import (
	"context"
	"fmt"
	"net/http"
	"slices"
	"strings"

	"synclayer"
)

var _ synclayer.HookRegistrar = (*Source)(nil)

// skillTopics are the webhook topics each skill needs, as the Admin API
// names them (WebhookSubscriptionTopic): the topics source.go parses for
// the skill's records. customers/enable, customers/disable and
// orders/fulfilled are parsed when they come but not registered: each
// also fires customers/update or orders/updated, which carry the same
// record.
var skillTopics = map[string][]string{
	"customer-sync":   {"CUSTOMERS_CREATE", "CUSTOMERS_UPDATE", "CUSTOMERS_DELETE", "CUSTOMERS_EMAIL_MARKETING_CONSENT_UPDATE", "CUSTOMERS_MARKETING_CONSENT_UPDATE"},
	"order-events":    {"ORDERS_CREATE", "ORDERS_UPDATED", "ORDERS_PAID", "ORDERS_CANCELLED", "REFUNDS_CREATE"},
	"product-catalog": {"PRODUCTS_CREATE", "PRODUCTS_UPDATE", "PRODUCTS_DELETE"},
	"cart-events":     {"CHECKOUTS_CREATE", "CHECKOUTS_UPDATE"},
}

// HookTopics returns the topics the skills need, sorted; a skill Shopify
// sends nothing for adds none.
func (s *Source) HookTopics(skills []string) []string {
	var out []string
	for _, sk := range skills {
		for _, t := range skillTopics[sk] {
			if !slices.Contains(out, t) {
				out = append(out, t)
			}
		}
	}
	slices.Sort(out)
	return out
}

const (
	hooksOp    = "webhookSubscriptions"
	hooksQuery = `query webhookSubscriptions($first: Int, $after: String, $topics: [WebhookSubscriptionTopic!]) {
  webhookSubscriptions(first: $first, after: $after, topics: $topics) {
    edges { node { id topic format callbackUrl } }
    pageInfo { hasNextPage endCursor }
  }
}`
	// The subscription's address is callbackUrl in the vendored schema
	// (2024-12); from 2025-04 Shopify also takes uri and marks callbackUrl
	// deprecated, still served (docs/platforms/shopify.md).
	hookCreateOp    = "webhookSubscriptionCreate"
	hookCreateQuery = `mutation webhookSubscriptionCreate($topic: WebhookSubscriptionTopic!, $webhookSubscription: WebhookSubscriptionInput!) {
  webhookSubscriptionCreate(topic: $topic, webhookSubscription: $webhookSubscription) {
    webhookSubscription { id topic format callbackUrl }
    userErrors { field message }
  }
}`
	hookUpdateOp    = "webhookSubscriptionUpdate"
	hookUpdateQuery = `mutation webhookSubscriptionUpdate($id: ID!, $webhookSubscription: WebhookSubscriptionInput!) {
  webhookSubscriptionUpdate(id: $id, webhookSubscription: $webhookSubscription) {
    webhookSubscription { id topic format callbackUrl }
    userErrors { field message }
  }
}`
	hooksPage = 100
)

// subscription is a WebhookSubscription as the queries select it.
type subscription struct {
	ID          string `json:"id"`
	Topic       string `json:"topic"`
	Format      string `json:"format"`
	CallbackURL string `json:"callbackUrl"`
}

type hookInput struct {
	CallbackURL string `json:"callbackUrl"`
	Format      string `json:"format"`
}

type hookPayload struct {
	WebhookSubscription *subscription `json:"webhookSubscription"`
	UserErrors          []userError   `json:"userErrors"`
}

// Hooks returns, for each topic, the app's subscriptions that deliver to
// target (ok) or to its path on another host (elsewhere), or a missing
// row. Subscriptions to other paths (another source of the same app) are
// not this source's and are left out. Shopify lists only the app's own
// subscriptions: one made in the shop's admin (Settings > Notifications)
// is invisible here, and is signed with another secret.
func (s *Source) Hooks(ctx context.Context, target string, topics []string) ([]synclayer.HookState, error) {
	if err := s.needAdmin("check its webhooks"); err != nil {
		return nil, err
	}
	subs, err := s.subscriptions(ctx, topics)
	if err != nil {
		return nil, err
	}
	var out []synclayer.HookState
	for _, t := range topics {
		n := len(out)
		for _, sub := range subs {
			if sub.Topic != t {
				continue
			}
			switch where(sub, target) {
			case atTarget:
				out = append(out, synclayer.HookState{Topic: t, ID: sub.ID, URL: sub.CallbackURL, Status: synclayer.HookOK})
			case atTargetXML:
				out = append(out, synclayer.HookState{Topic: t, ID: sub.ID, URL: sub.CallbackURL, Status: synclayer.HookElsewhere,
					Detail: "delivers XML, which synclayer does not read; sources register changes it to JSON"})
			case samePath:
				out = append(out, synclayer.HookState{Topic: t, ID: sub.ID, URL: sub.CallbackURL, Status: synclayer.HookElsewhere,
					Detail: "delivers to another host; sources register moves it to " + target})
			}
		}
		if len(out) == n {
			out = append(out, synclayer.HookState{Topic: t, Status: synclayer.HookMissing,
				Detail: "this app has no subscription of the topic (Shopify removes one whose deliveries keep failing); sources register creates it"})
		}
	}
	return out, nil
}

// RegisterHooks makes each topic deliver JSON to target: a subscription
// already there is unchanged, one at the same path on another host (or
// in XML) is updated, and otherwise one is created. A userError (Shopify
// refuses http, or a host it cannot reach) is Permanent, with Shopify's
// message.
func (s *Source) RegisterHooks(ctx context.Context, target string, topics []string) ([]synclayer.HookState, error) {
	if err := s.needAdmin("register its webhooks"); err != nil {
		return nil, err
	}
	subs, err := s.subscriptions(ctx, topics)
	if err != nil {
		return nil, err
	}
	var out []synclayer.HookState
	for _, t := range topics {
		var found, move *subscription
		for i := range subs {
			switch where(subs[i], target) {
			case atTarget:
				if subs[i].Topic == t {
					found = &subs[i]
				}
			case atTargetXML, samePath:
				if subs[i].Topic == t && move == nil {
					move = &subs[i]
				}
			}
		}
		in := hookInput{CallbackURL: target, Format: "JSON"}
		switch {
		case found != nil:
			out = append(out, synclayer.HookState{Topic: t, ID: found.ID, URL: found.CallbackURL, Status: synclayer.HookUnchanged})
		case move != nil:
			sub, err := s.writeHook(ctx, hookUpdateOp, hookUpdateQuery, t, map[string]any{"id": move.ID, "webhookSubscription": in})
			if err != nil {
				return out, err
			}
			out = append(out, synclayer.HookState{Topic: t, ID: sub.ID, URL: sub.CallbackURL, Status: synclayer.HookUpdated,
				Detail: "was " + move.CallbackURL + " (" + move.Format + ")"})
		default:
			sub, err := s.writeHook(ctx, hookCreateOp, hookCreateQuery, t, map[string]any{"topic": t, "webhookSubscription": in})
			if err != nil {
				return out, err
			}
			out = append(out, synclayer.HookState{Topic: t, ID: sub.ID, URL: sub.CallbackURL, Status: synclayer.HookCreated})
		}
	}
	return out, nil
}

func (s *Source) needAdmin(what string) error {
	if s.admin != nil {
		return nil
	}
	return synclayer.Permanent(synclayer.FieldErrorf("admin",
		"is not set, so synclayer cannot %s through Shopify's Admin API: add an admin block with shop and access_token, or make the subscriptions in the app's configuration", what))
}

// subscriptions lists the app's subscriptions of topics, every page.
func (s *Source) subscriptions(ctx context.Context, topics []string) ([]subscription, error) {
	var subs []subscription
	vars := map[string]any{"first": hooksPage, "topics": topics}
	for {
		var conn struct {
			Edges []struct {
				Node subscription `json:"node"`
			} `json:"edges"`
			PageInfo pageInfo `json:"pageInfo"`
		}
		if err := s.admin.query(ctx, hooksOp, hooksQuery, 2+hooksPage, vars, &conn); err != nil {
			return nil, err
		}
		for _, e := range conn.Edges {
			subs = append(subs, e.Node)
		}
		if !conn.PageInfo.HasNextPage || conn.PageInfo.EndCursor == "" {
			return subs, nil
		}
		vars["after"] = conn.PageInfo.EndCursor
	}
}

// writeHook sends a create or update and reads its payload.
func (s *Source) writeHook(ctx context.Context, op, query, topic string, vars map[string]any) (*subscription, error) {
	var out hookPayload
	if err := s.admin.query(ctx, op, query, mutationCost, vars, &out); err != nil {
		return nil, err
	}
	if len(out.UserErrors) > 0 {
		ue := out.UserErrors[0]
		return nil, synclayer.Permanent(&APIError{Status: http.StatusOK, Op: op, Field: ue.Field, code: synclayer.EINVALID,
			Message: fmt.Sprintf("Shopify refused the %s subscription at %s: %s", topic, fieldPath(ue.Field), s.admin.scrub(ue.Message))})
	}
	if out.WebhookSubscription == nil {
		return nil, fmt.Errorf("shopify: %s: the answer has no webhookSubscription", op)
	}
	return out.WebhookSubscription, nil
}

type place int

const (
	elsewhere   place = iota // another path: not this source's
	atTarget                 // the URL itself, in JSON
	atTargetXML              // the URL itself, in XML
	samePath                 // the URL's path on another host
)

// where tells where sub delivers compared with target.
func where(sub subscription, target string) place {
	if sub.CallbackURL == target {
		if strings.EqualFold(sub.Format, "XML") {
			return atTargetXML
		}
		return atTarget
	}
	if synclayer.WhereHookDelivers(sub.CallbackURL, target) == synclayer.HookPlaceSamePath {
		return samePath
	}
	return elsewhere
}
