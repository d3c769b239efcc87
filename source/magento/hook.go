package magento

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strings"

	"synclayer"
)

var _ synclayer.HookRegistrar = (*Source)(nil)

// skillHooks are the webhook methods each skill needs, in Adobe's names
// (observer.<event>): the model events Parse reads for the skill's
// records. A newsletter subscription is customer-sync's, since it is the
// one place Magento says someone left the newsletter. The *_save_after
// events are the ones Adobe Commerce as a Cloud Service lists as
// supported (observer.catalog_product_save_after in its docs); the
// *_commit_after and register/place events are parsed when they come but
// not registered, since each save also fires its *_save_after.
var skillHooks = map[string][]string{
	"customer-sync":   {"observer.customer_save_after", "observer.customer_delete_after", "observer.newsletter_subscriber_save_after"},
	"order-events":    {"observer.sales_order_save_after"},
	"product-catalog": {"observer.catalog_product_save_after", "observer.catalog_product_delete_after"},
}

// Hook settings register sends (docs/platforms/magento.md). A hook is
// optional (required: false), so a synclayer that is down or slow logs
// an error in the store instead of failing the customer's, order's or
// product's save; it is given 5 s at most (timeout: 0 would be no limit)
// and the store logs a notice past 1 s.
const (
	HookType        = "after"
	HookBatch       = "synclayer"
	hookTimeout     = 5000
	hookSoftTimeout = 1000
)

// HookTopics returns the webhook methods the skills need, sorted; a skill
// Magento sends nothing for (cart-events) adds none.
func (s *Source) HookTopics(skills []string) []string {
	var out []string
	for _, sk := range skills {
		for _, t := range skillHooks[sk] {
			if !slices.Contains(out, t) {
				out = append(out, t)
			}
		}
	}
	slices.Sort(out)
	return out
}

// webhook is one hook as GET /V1/webhooks/list answers it and POST
// /V1/webhooks/subscribe takes it (the fields synclayer reads or sets).
type webhook struct {
	WebhookMethod string `json:"webhook_method"`
	WebhookType   string `json:"webhook_type"`
	BatchName     string `json:"batch_name"`
	HookName      string `json:"hook_name"`
	URL           string `json:"url"`
	Method        string `json:"method,omitempty"`
	Required      bool   `json:"required"`
	Timeout       int    `json:"timeout"`
	SoftTimeout   int    `json:"soft_timeout"`
	// A hook register moves keeps its fields, rules and headers.
	Fields  json.RawMessage `json:"fields,omitempty"`
	Rules   json.RawMessage `json:"rules,omitempty"`
	Headers json.RawMessage `json:"headers,omitempty"`
}

// id is how synclayer names a hook: Adobe Commerce gives hooks no id, a
// hook is its method, type, batch and name.
func (w webhook) id() string {
	return w.WebhookMethod + ":" + w.WebhookType + "/" + w.BatchName + "/" + w.HookName
}

// HookName is the hook_name register gives this source's hooks:
// synclayer_<source name>, with what is not a letter, digit or _ as _
// (Adobe allows only those in hook and batch names).
func (s *Source) HookName() string {
	return "synclayer_" + nameUnsafe.ReplaceAllString(s.name, "_")
}

var nameUnsafe = regexp.MustCompile(`[^A-Za-z0-9_]`)

// Hooks returns, for each topic, the store's hooks of that method that
// deliver to target (ok) or to its path on another host (elsewhere), or a
// missing row. Hooks to other paths are not this source's and are left
// out. The list holds every hook, those of webhooks.xml files and those
// made through the API alike.
func (s *Source) Hooks(ctx context.Context, target string, topics []string) ([]synclayer.HookState, error) {
	list, err := s.webhooks(ctx, "check its webhooks")
	if err != nil {
		return nil, err
	}
	var out []synclayer.HookState
	for _, t := range topics {
		n := len(out)
		for _, w := range list {
			if w.WebhookMethod != t {
				continue
			}
			switch where(w.URL, target) {
			case atTarget:
				st := synclayer.HookState{Topic: t, ID: w.id(), URL: w.URL, Status: synclayer.HookOK}
				if w.Required {
					st.Detail = "required: a failed delivery fails the store's save; sources register makes it optional"
				}
				out = append(out, st)
			case samePath:
				out = append(out, synclayer.HookState{Topic: t, ID: w.id(), URL: w.URL, Status: synclayer.HookElsewhere,
					Detail: "delivers to another host; sources register moves it to " + target})
			}
		}
		if len(out) == n {
			out = append(out, synclayer.HookState{Topic: t, Status: synclayer.HookMissing,
				Detail: "the store has no hook of this webhook method to this address; sources register subscribes one"})
		}
	}
	return out, nil
}

// RegisterHooks makes each topic deliver to target: a hook already there
// (and optional) is unchanged; one there but required, or at the same
// path on another host, is subscribed again under its own method, type,
// batch and name, with its fields, rules and headers, which replaces it
// (synclayer's url, method, required and timeouts); otherwise a hook named HookName() in
// batch HookBatch is subscribed. Subscribing is keyed by those names, so
// a rerun changes nothing. An answer other than 2xx is Permanent with the
// store's message; a store without the subscribe endpoint gets what to
// put in app/etc/webhooks.xml instead.
func (s *Source) RegisterHooks(ctx context.Context, target string, topics []string) ([]synclayer.HookState, error) {
	list, err := s.webhooks(ctx, "register its webhooks")
	if err != nil {
		return nil, err
	}
	var out []synclayer.HookState
	for _, t := range topics {
		var found, move *webhook
		for i := range list {
			w := &list[i]
			if w.WebhookMethod != t {
				continue
			}
			switch where(w.URL, target) {
			case atTarget:
				if found == nil || found.Required {
					found = w
				}
			case samePath:
				if move == nil {
					move = w
				}
			}
		}
		switch {
		case found != nil && !found.Required:
			out = append(out, synclayer.HookState{Topic: t, ID: found.id(), URL: found.URL, Status: synclayer.HookUnchanged})
		case found != nil || move != nil:
			old := found
			if old == nil {
				old = move
			}
			w := s.newHook(t, target)
			w.WebhookType, w.BatchName, w.HookName = old.WebhookType, old.BatchName, old.HookName
			w.Fields, w.Rules, w.Headers = nonEmpty(old.Fields), nonEmpty(old.Rules), nonEmpty(old.Headers)
			if err := s.subscribe(ctx, w, target, topics); err != nil {
				return out, err
			}
			detail := "was required"
			if old.URL != target {
				detail = "was " + old.URL
			}
			out = append(out, synclayer.HookState{Topic: t, ID: w.id(), URL: w.URL, Status: synclayer.HookUpdated, Detail: detail})
		default:
			w := s.newHook(t, target)
			if err := s.subscribe(ctx, w, target, topics); err != nil {
				return out, err
			}
			out = append(out, synclayer.HookState{Topic: t, ID: w.id(), URL: w.URL, Status: synclayer.HookCreated})
		}
	}
	return out, nil
}

func (s *Source) newHook(method, target string) webhook {
	return webhook{WebhookMethod: method, WebhookType: HookType, BatchName: HookBatch, HookName: s.HookName(), URL: target,
		Method: http.MethodPost, Required: false, Timeout: hookTimeout, SoftTimeout: hookSoftTimeout}
}

// webhooksURL is an endpoint of the webhooks module: under /rest/all/V1,
// the store code Adobe's examples use for this store-wide configuration.
func (s *Source) webhooksURL(endpoint string) string { return s.rest + "/all/V1/webhooks/" + endpoint }

func (s *Source) needAPI(what string) error {
	if s.base != "" {
		return nil
	}
	return synclayer.Permanent(synclayer.FieldErrorf("api_url",
		"is not set, so synclayer cannot %s through Adobe Commerce's REST API: set api_url and oauth (an integration with the Webhooks resources), or declare the hooks in app/etc/webhooks.xml (docs/platforms/magento.md)", what))
}

// webhooks lists every hook the store holds (GET /V1/webhooks/list).
func (s *Source) webhooks(ctx context.Context, what string) ([]webhook, error) {
	if err := s.needAPI(what); err != nil {
		return nil, err
	}
	var list []webhook
	err := s.call(ctx, http.MethodGet, "webhooks", s.webhooksURL("list"), nil, &list)
	if ae := notFound(err); ae != nil {
		return nil, synclayer.Permanent(fmt.Errorf("%w; GET /V1/webhooks/list is Adobe Commerce's webhooks module's (1.8.0 or later); Magento Open Source has no webhooks and is polled instead", ae))
	}
	return list, err
}

// subscribe posts one hook to /V1/webhooks/subscribe. Its answer's body
// is not documented, and not read.
func (s *Source) subscribe(ctx context.Context, w webhook, target string, topics []string) error {
	err := s.call(ctx, http.MethodPost, w.WebhookMethod+" hook", s.webhooksURL("subscribe"), map[string]any{"webhook": w}, nil)
	if ae := notFound(err); ae != nil {
		return synclayer.Permanent(fmt.Errorf("%w; POST /V1/webhooks/subscribe needs Adobe Commerce Webhooks 1.13.0 or later with Magento_AdobeCommerceWebhooksSubscriber enabled; otherwise declare the hooks in app/etc/webhooks.xml, and see them with bin/magento webhooks:list:\n%s",
			ae, WebhooksXML(target, s.HookName(), topics)))
	}
	return err
}

// nonEmpty is a list from /V1/webhooks/list, or nil for an empty one.
func nonEmpty(list json.RawMessage) json.RawMessage {
	if t := strings.TrimSpace(string(list)); t == "" || t == "[]" || t == "null" {
		return nil
	}
	return list
}

// notFound is err's APIError when it is a 404.
func notFound(err error) *APIError {
	var ae *APIError
	if errors.As(err, &ae) && ae.Status == http.StatusNotFound {
		return ae
	}
	return nil
}

// WebhooksXML is the app/etc/webhooks.xml that declares the hooks
// register would subscribe, for a store whose webhooks module has no
// subscribe endpoint.
func WebhooksXML(target, hookName string, topics []string) string {
	var b strings.Builder
	b.WriteString(`<?xml version="1.0"?>
<config xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"
        xsi:noNamespaceSchemaLocation="urn:magento:module:Magento_AdobeCommerceWebhooks:etc/webhooks.xsd">
`)
	for _, t := range topics {
		fmt.Fprintf(&b, `    <method name="%s" type="%s">
        <hooks>
            <batch name="%s">
                <hook name="%s" url="%s" method="POST" timeout="%d" softTimeout="%d" required="false"/>
            </batch>
        </hooks>
    </method>
`, xmlAttr(t), HookType, HookBatch, xmlAttr(hookName), xmlAttr(target), hookTimeout, hookSoftTimeout)
	}
	b.WriteString("</config>\n")
	return b.String()
}

func xmlAttr(s string) string {
	return strings.NewReplacer("&", "&amp;", `"`, "&quot;", "<", "&lt;", ">", "&gt;").Replace(s)
}

type place int

const (
	elsewhere place = iota // another path: not this source's
	atTarget               // the URL itself
	samePath               // the URL's path on another host
)

// where tells where a hook's url delivers compared with target. A url
// that starts with an {env:NAME} or {config:path} placeholder (the
// webhooks module resolves those when it sends) is compared by the path
// after it.
func where(hookURL, target string) place {
	if hookURL == target {
		return atTarget
	}
	if !strings.HasPrefix(hookURL, "{") {
		if synclayer.WhereHookDelivers(hookURL, target) == synclayer.HookPlaceSamePath {
			return samePath
		}
		return elsewhere
	}
	path := hookURL
	if i := strings.Index(path, "}"); i > 0 {
		path = path[i+1:]
	}
	b, err := url.Parse(target)
	if err == nil && path == b.Path && path != "" {
		return samePath
	}
	return elsewhere
}
