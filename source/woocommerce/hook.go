package woocommerce

import (
	"context"
	"net/http"
	"net/url"
	"slices"
	"strconv"

	"synclayer"
)

var _ synclayer.HookRegistrar = (*Source)(nil)

// skillTopics are the webhook topics each skill needs, in WooCommerce's
// names: the topics Parse reads. WooCommerce has no cart topic.
var skillTopics = map[string][]string{
	"customer-sync":   {"customer.created", "customer.updated", "customer.deleted"},
	"order-events":    {"order.created", "order.updated", "order.deleted"},
	"product-catalog": {"product.created", "product.updated", "product.deleted"},
}

// HookTopics returns the topics the skills need, sorted; a skill
// WooCommerce sends nothing for (cart-events) adds none.
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

// webhook is a /webhooks resource as the REST API answers it; its secret
// is write-only, so it is never read back.
type webhook struct {
	ID          int64  `json:"id"`
	Name        string `json:"name"`
	Status      string `json:"status"`
	Topic       string `json:"topic"`
	DeliveryURL string `json:"delivery_url"`
}

// webhookInput is what a create or update sends.
type webhookInput struct {
	Name        string `json:"name,omitempty"`
	Topic       string `json:"topic,omitempty"`
	DeliveryURL string `json:"delivery_url,omitempty"`
	Secret      string `json:"secret,omitempty"`
	Status      string `json:"status,omitempty"`
}

// statusDetail says what a webhook's status other than active means.
var statusDetail = map[string]string{
	"paused":   "paused by an admin (WooCommerce > Settings > Advanced > Webhooks); sources register sets it active",
	"disabled": "disabled by WooCommerce after repeated failed deliveries; sources register sets it active",
}

// Hooks returns, for each topic, the store's webhooks that deliver to
// target (ok when active, inactive when paused or disabled) or to its
// path on another host (elsewhere), or a missing row. Webhooks to other
// paths (another source, another app) are left out. A webhook's secret
// cannot be read back, so one made with another secret shows ok and
// its deliveries are refused 401.
func (s *Source) Hooks(ctx context.Context, target string, topics []string) ([]synclayer.HookState, error) {
	if err := s.needAPI("check its webhooks"); err != nil {
		return nil, err
	}
	hooks, err := s.webhooks(ctx)
	if err != nil {
		return nil, err
	}
	var out []synclayer.HookState
	for _, t := range topics {
		n := len(out)
		for _, w := range hooks {
			if w.Topic != t {
				continue
			}
			row := synclayer.HookState{Topic: t, ID: strconv.FormatInt(w.ID, 10), URL: w.DeliveryURL}
			switch synclayer.WhereHookDelivers(w.DeliveryURL, target) {
			case synclayer.HookPlaceTarget:
				row.Status = synclayer.HookOK
				if w.Status != "active" {
					row.Status, row.Detail = synclayer.HookInactive, statusDetail[w.Status]
					if row.Detail == "" {
						row.Detail = "status " + w.Status + "; sources register sets it active"
					}
				}
			case synclayer.HookPlaceSamePath:
				row.Status, row.Detail = synclayer.HookElsewhere, "delivers to another host; sources register moves it to "+target
			default:
				continue
			}
			out = append(out, row)
		}
		if len(out) == n {
			out = append(out, synclayer.HookState{Topic: t, Status: synclayer.HookMissing,
				Detail: "the store has no webhook of the topic to this address; sources register creates it"})
		}
	}
	return out, nil
}

// RegisterHooks makes each topic deliver to target: an active webhook
// there is unchanged; one there that is paused or disabled, or one at
// the same path on another host, is updated (active, target, and the
// source's secret, so its deliveries verify); otherwise one is created,
// named "synclayer <topic>", with the source's current secret. A refusal
// (WooCommerce checks the topic and the URL) is Permanent, with
// WooCommerce's message.
func (s *Source) RegisterHooks(ctx context.Context, target string, topics []string) ([]synclayer.HookState, error) {
	if err := s.needAPI("register its webhooks"); err != nil {
		return nil, err
	}
	if s.secret == "" {
		return nil, synclayer.Permanent(synclayer.FieldErrorf("secret",
			"is not set, and a webhook synclayer makes is signed with it: set the source's secret first"))
	}
	hooks, err := s.webhooks(ctx)
	if err != nil {
		return nil, err
	}
	var out []synclayer.HookState
	for _, t := range topics {
		var found, inactive, move *webhook
		for i := range hooks {
			w := &hooks[i]
			if w.Topic != t {
				continue
			}
			switch synclayer.WhereHookDelivers(w.DeliveryURL, target) {
			case synclayer.HookPlaceTarget:
				if w.Status == "active" && found == nil {
					found = w
				} else if inactive == nil {
					inactive = w
				}
			case synclayer.HookPlaceSamePath:
				if move == nil {
					move = w
				}
			}
		}
		in := webhookInput{DeliveryURL: target, Secret: s.secret, Status: "active"}
		switch {
		case found != nil:
			out = append(out, synclayer.HookState{Topic: t, ID: strconv.FormatInt(found.ID, 10), URL: found.DeliveryURL, Status: synclayer.HookUnchanged})
		case inactive != nil || move != nil:
			w, detail := inactive, ""
			if w != nil {
				detail = "was " + w.Status
			} else {
				w, detail = move, "was "+move.DeliveryURL
			}
			var got webhook
			if _, err := s.api.call(ctx, http.MethodPut, "/webhooks/"+strconv.FormatInt(w.ID, 10), nil, in, &got); err != nil {
				return out, err
			}
			out = append(out, synclayer.HookState{Topic: t, ID: strconv.FormatInt(got.ID, 10), URL: got.DeliveryURL, Status: synclayer.HookUpdated, Detail: detail})
		default:
			in.Name, in.Topic = "synclayer "+t, t
			var got webhook
			if _, err := s.api.call(ctx, http.MethodPost, "/webhooks", nil, in, &got); err != nil {
				return out, err
			}
			out = append(out, synclayer.HookState{Topic: t, ID: strconv.FormatInt(got.ID, 10), URL: got.DeliveryURL, Status: synclayer.HookCreated})
		}
	}
	return out, nil
}

func (s *Source) needAPI(what string) error {
	if s.api != nil {
		return nil
	}
	return synclayer.Permanent(synclayer.FieldErrorf("api",
		"is not set, so synclayer cannot %s through the store's REST API: add an api block with url, consumer_key and consumer_secret, or make them under WooCommerce > Settings > Advanced > Webhooks", what))
}

// webhooks lists the store's webhooks of every status, every page.
func (s *Source) webhooks(ctx context.Context) ([]webhook, error) {
	var all []webhook
	for page := 1; ; page++ {
		var hooks []webhook
		h, err := s.api.call(ctx, http.MethodGet, "/webhooks", url.Values{
			"page": {strconv.Itoa(page)}, "per_page": {strconv.Itoa(MaxPage)}, "status": {"all"}, "orderby": {"id"}, "order": {"asc"},
		}, nil, &hooks)
		if err != nil {
			return nil, err
		}
		all = append(all, hooks...)
		pages, err := strconv.Atoi(h.Get("X-WP-TotalPages"))
		if err != nil {
			pages = page
			if len(hooks) == MaxPage {
				pages = page + 1
			}
		}
		if page >= pages || len(hooks) == 0 {
			return all, nil
		}
	}
}
