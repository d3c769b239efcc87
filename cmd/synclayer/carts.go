package main

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"time"

	"synclayer"
	"synclayer/ingest"
	"synclayer/skill"
)

// CartEventsConfig is skills.cart-events: abandoned-cart recovery. Set in
// the config file only, like the other commerce skills, and like them on
// one destination or several.
type CartEventsConfig struct {
	Enabled      bool                    `yaml:"enabled" json:"enabled,omitempty"`
	Source       StringList              `yaml:"source" json:"source,omitempty"`
	Destination  string                  `yaml:"destination,omitempty" json:"destination,omitempty"`
	Destinations map[string]*SkillTarget `yaml:"destinations,omitempty" json:"destinations,omitempty"`
	Options      CartEventsOptions       `yaml:"options" json:"options"`
}

type CartEventsOptions struct {
	// AbandonAfter is how long a cart waits after its last change before
	// it counts as abandoned; default 1h.
	AbandonAfter time.Duration `yaml:"abandon_after" json:"abandon_after,omitempty"`
	// RequireConsent sends the event only to contacts with marketing
	// consent; default true.
	RequireConsent *bool `yaml:"require_consent" json:"require_consent,omitempty"`

	Extra map[string]any `yaml:"-" json:"-"` // the flat shape's destination options
}

var cartShared = []string{"abandon_after", "require_consent"}

type cartShape struct {
	AbandonAfter   time.Duration `yaml:"abandon_after"`
	RequireConsent *bool         `yaml:"require_consent"`
}

func (o *CartEventsOptions) UnmarshalYAML(b []byte) error {
	var shape cartShape
	extra, err := decodeOptionsYAML(b, cartShared, &shape)
	if err != nil {
		return err
	}
	*o = CartEventsOptions{AbandonAfter: shape.AbandonAfter, RequireConsent: shape.RequireConsent, Extra: extra}
	return nil
}

func (o CartEventsOptions) MarshalYAML() (any, error) {
	return encodeOptionsYAML(cartShape{o.AbandonAfter, o.RequireConsent}, o.Extra)
}

// MarshalJSON shows abandon_after as a duration ("1h0m0s"), as the file
// writes it, for the admin API's skill list.
func (o CartEventsOptions) MarshalJSON() ([]byte, error) {
	var after string
	if o.AbandonAfter != 0 {
		after = o.AbandonAfter.String()
	}
	return encodeOptionsJSON(struct {
		AbandonAfter   string `json:"abandon_after,omitempty"`
		RequireConsent *bool  `json:"require_consent,omitempty"`
	}{after, o.RequireConsent}, o.Extra)
}

func (c *CartEventsConfig) enabled() bool { return c != nil && c.Enabled }

// targets are the destinations cart-events runs on.
func (c *CartEventsConfig) targets() []skillTarget {
	return skillTargets("skills."+skill.CartEventsName, c.Destination, c.Destinations, c.Options.Extra)
}

// cartSync builds cart-events' side on destination d.
func cartSync(d synclayer.Destination, options json.RawMessage) (synclayer.CartSync, error) {
	cd, ok := d.(synclayer.CartDestination)
	if !ok {
		return nil, synclayer.FieldErrorf("destination", "%s (type %s) takes no carts, so cart-events cannot run on it", d.Name(), d.Type())
	}
	return cd.CartSync(synclayer.SkillConfig{Options: options})
}

// finishCarts checks and defaults skills.cart-events.
func (c *Config) finishCarts(e *configErrors) {
	cc := c.Skills.CartEvents
	if !cc.enabled() {
		return
	}
	const key = "skills." + skill.CartEventsName
	configured := c.sources()
	if len(cc.Source) == 0 {
		e.add(key+".source", "is required: shopify, bigcommerce, magento, custom, or a list of them (WooCommerce has no cart webhook; a plugin posts carts through custom)")
	}
	for i, src := range cc.Source {
		switch sc, ok := configured[src]; {
		case ok && sc.typeOf(src) == "woocommerce", !ok && src == "woocommerce":
			e.add(fmt.Sprintf("%s.source[%d]", key, i), "WooCommerce sends no cart webhooks; post cart_updated and checkout_completed through the custom source and list custom")
		case !ok:
			e.add(fmt.Sprintf("%s.source[%d]", key, i), "source %q is not configured under sources", src)
		}
	}
	switch o := &cc.Options; {
	case o.AbandonAfter == 0:
		o.AbandonAfter = skill.DefaultAbandonAfter
	case o.AbandonAfter < 0:
		e.add(key+".options.abandon_after", "must be a positive duration such as 1h or 30m, not %s", o.AbandonAfter)
	}
	if cc.Options.RequireConsent == nil {
		on := true
		cc.Options.RequireConsent = &on
	}
	c.checkTargets(e, key, cc.Destination, len(cc.Destinations) > 0, cc.targets(), cartShared,
		func(d synclayer.Destination, options json.RawMessage) error {
			_, err := cartSync(d, options)
			return err
		})
}

// cartIngest adds cart-events' routes, one per destination, to an ingest
// config.
func (m *Main) cartIngest(cfg *ingest.Config) {
	cc := m.Config.Skills.CartEvents
	if !cc.enabled() {
		return
	}
	for _, t := range cc.targets() {
		cfg.Routes = append(cfg.Routes, ingest.Route{Skill: synclayer.Queue(skill.CartEventsName, t.name), Destination: t.name,
			Sources: slices.Clone(cc.Source), Records: ingest.RecordCarts, Wait: cc.Options.AbandonAfter})
	}
	// A destination whose automation starts on the checkout also hears of
	// each cart at once, on a queue of its own.
	for _, t := range cc.targets() {
		if w, ok := m.cartWatcher(t); ok {
			_, mirror := w.(synclayer.CartMirror)
			cfg.Routes = append(cfg.Routes, ingest.Route{Skill: skill.CartStartedQueue(t.name), Destination: t.name,
				Sources: slices.Clone(cc.Source), Records: ingest.RecordCarts, Mirror: mirror})
		}
	}
}

// cartWatcher is t's cart side when it also watches carts as they change.
func (m *Main) cartWatcher(t skillTarget) (synclayer.CartWatcher, bool) {
	d, ok := m.destinations[t.name]
	if !ok {
		return nil, false
	}
	sync, err := cartSync(d, optionsJSON(t.options))
	if err != nil {
		return nil, false
	}
	w, ok := sync.(synclayer.CartWatcher)
	return w, ok
}

// startCarts starts cart-events' worker on each destination when it is
// enabled; they stop with Main.
func (m *Main) startCarts() error {
	cc := m.Config.Skills.CartEvents
	if !cc.enabled() {
		return nil
	}
	for _, t := range cc.targets() {
		sync, err := cartSync(m.destinations[t.name], optionsJSON(t.options))
		if err != nil {
			return fmt.Errorf("%s on %s: %w", skill.CartEventsName, t.name, err)
		}
		m.startPrepared(skill.CartEventsName, t.name, &skill.CartEvents{
			Store: m.DB, Destination: t.name, Sync: sync, Triggers: m.triggers, Logger: m.Logger,
			AbandonAfter: cc.Options.AbandonAfter, RequireConsent: *cc.Options.RequireConsent,
		}, func(ctx context.Context) error { return sync.Prepare(ctx) })
	}
	for _, t := range cc.targets() {
		if w, ok := m.cartWatcher(t); ok {
			m.startWorker(skill.CartStartedQueue(t.name), &skill.CartStarted{Store: m.DB, Destination: t.name, Watcher: w,
				RequireConsent: *cc.Options.RequireConsent})
		}
	}
	m.Logger.Info("skill started", "skill", skill.CartEventsName, "sources", cc.Source,
		"abandon_after", cc.Options.AbandonAfter, "require_consent", *cc.Options.RequireConsent)
	return nil
}
