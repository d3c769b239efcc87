package main

import (
	"encoding/json"
	"fmt"
	"slices"
	"time"

	"synclayer/destination/brevo"
	"synclayer/ingest"
)

// CartEventsConfig is skills.cart-events: abandoned-cart recovery. Set in
// the config file only, like the other commerce skills.
type CartEventsConfig struct {
	Enabled bool              `yaml:"enabled" json:"enabled,omitempty"`
	Source  StringList        `yaml:"source" json:"source,omitempty"`
	Options CartEventsOptions `yaml:"options" json:"options"`
}

type CartEventsOptions struct {
	// AbandonAfter is how long a cart waits after its last change before
	// it counts as abandoned; default 1h.
	AbandonAfter time.Duration `yaml:"abandon_after" json:"abandon_after,omitempty"`
	// RequireConsent sends the event only to contacts with marketing
	// consent; default true.
	RequireConsent *bool `yaml:"require_consent" json:"require_consent,omitempty"`
}

// MarshalJSON shows abandon_after as a duration ("1h0m0s"), as the file
// writes it, for the admin API's skill list.
func (o CartEventsOptions) MarshalJSON() ([]byte, error) {
	var after string
	if o.AbandonAfter != 0 {
		after = o.AbandonAfter.String()
	}
	return json.Marshal(struct {
		AbandonAfter   string `json:"abandon_after,omitempty"`
		RequireConsent *bool  `json:"require_consent,omitempty"`
	}{after, o.RequireConsent})
}

func (c *CartEventsConfig) enabled() bool { return c != nil && c.Enabled }

// finishCarts checks and defaults skills.cart-events.
func (c *Config) finishCarts(e *configErrors) {
	cc := c.Skills.CartEvents
	if !cc.enabled() {
		return
	}
	const key = "skills." + brevo.CartEventsName
	configured := c.sources()
	if len(cc.Source) == 0 {
		e.add(key+".source", "is required: shopify, custom, or a list of them (WooCommerce has no cart webhook; a plugin posts carts through custom)")
	}
	for i, src := range cc.Source {
		switch _, ok := configured[src]; {
		case src == "woocommerce":
			e.add(fmt.Sprintf("%s.source[%d]", key, i), "WooCommerce sends no cart webhooks; post cart_updated and checkout_completed through the custom source and list custom")
		case !ok:
			e.add(fmt.Sprintf("%s.source[%d]", key, i), "source %q is not configured under sources", src)
		}
	}
	switch o := &cc.Options; {
	case o.AbandonAfter == 0:
		o.AbandonAfter = brevo.DefaultAbandonAfter
	case o.AbandonAfter < 0:
		e.add(key+".options.abandon_after", "must be a positive duration such as 1h or 30m, not %s", o.AbandonAfter)
	}
	if cc.Options.RequireConsent == nil {
		on := true
		cc.Options.RequireConsent = &on
	}
}

// cartIngest adds cart-events' route to an ingest config.
func (m *Main) cartIngest(cfg *ingest.Config) {
	cc := m.Config.Skills.CartEvents
	if !cc.enabled() {
		return
	}
	cfg.Routes = append(cfg.Routes, ingest.Route{Skill: brevo.CartEventsName, Destination: "brevo", Sources: slices.Clone(cc.Source),
		Records: ingest.RecordCarts, Wait: cc.Options.AbandonAfter})
}

// startCarts starts cart-events' worker when it is enabled; it stops with
// Main.
func (m *Main) startCarts(client *brevo.Client) {
	cc := m.Config.Skills.CartEvents
	if !cc.enabled() {
		return
	}
	m.startWorker(brevo.CartEventsName, &brevo.CartEvents{
		Store: m.DB, Client: client, Triggers: m.triggers, Logger: m.Logger,
		AbandonAfter: cc.Options.AbandonAfter, RequireConsent: *cc.Options.RequireConsent,
	})
	m.Logger.Info("skill started", "skill", brevo.CartEventsName, "sources", cc.Source,
		"abandon_after", cc.Options.AbandonAfter, "require_consent", *cc.Options.RequireConsent)
}
