package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"slices"
	"time"

	"synclayer"
	"synclayer/ingest"
	"synclayer/metrics"
	"synclayer/queue"
	"synclayer/skill"
)

// CommerceSkillConfig is skills.order-events and skills.product-catalog.
// Both are set in the config file only: the admin API changes
// customer-sync alone for now. Like customer-sync they run on one
// destination (destination:, default brevo) or on several
// (destinations:, each with its own options).
type CommerceSkillConfig struct {
	Enabled      bool                    `yaml:"enabled" json:"enabled,omitempty"`
	Source       StringList              `yaml:"source" json:"source,omitempty"`
	Destination  string                  `yaml:"destination,omitempty" json:"destination,omitempty"`
	Destinations map[string]*SkillTarget `yaml:"destinations,omitempty" json:"destinations,omitempty"`
	Options      CommerceOptions         `yaml:"options" json:"options"`
}

// CommerceOptions are the options the skill reads itself; the flat
// shape's destination options are in Extra.
type CommerceOptions struct {
	SyncMode string       `yaml:"sync_mode" json:"sync_mode,omitempty"` // realtime or batch (batch.go)
	Batch    BatchOptions `yaml:"batch,omitempty" json:"batch,omitzero"`

	Extra map[string]any `yaml:"-" json:"-"`
}

var commerceShared = []string{"sync_mode", "batch"}

type commerceShape CommerceOptions

func (o *CommerceOptions) UnmarshalYAML(b []byte) error {
	var shape commerceShape
	extra, err := decodeOptionsYAML(b, commerceShared, &shape)
	if err != nil {
		return err
	}
	*o = CommerceOptions(shape)
	o.Extra = extra
	return nil
}

func (o CommerceOptions) MarshalYAML() (any, error) {
	return encodeOptionsYAML(commerceShape(o), o.Extra)
}

func (o *CommerceOptions) UnmarshalJSON(b []byte) error {
	var shape commerceShape
	extra, err := decodeOptionsJSON(b, commerceShared, &shape)
	if err != nil {
		return err
	}
	*o = CommerceOptions(shape)
	o.Extra = extra
	return nil
}

func (o CommerceOptions) MarshalJSON() ([]byte, error) {
	return encodeOptionsJSON(commerceShape(o), o.Extra)
}

// commerceSkill is one of the two skills with what cmd needs to run it.
type commerceSkill struct {
	name    string
	cfg     *CommerceSkillConfig
	records string // what its ingest route carries
}

// commerceSkills returns order-events and product-catalog as configured
// (cfg nil when absent), in that order.
func (c *Config) commerceSkills() []commerceSkill {
	return []commerceSkill{
		{skill.OrderEventsName, c.Skills.OrderEvents, ingest.RecordOrders},
		{skill.ProductCatalogName, c.Skills.ProductCatalog, ingest.RecordProducts},
	}
}

func (s commerceSkill) enabled() bool { return s.cfg != nil && s.cfg.Enabled }

// targets are the destinations the skill runs on.
func (s commerceSkill) targets() []skillTarget {
	return skillTargets("skills."+s.name, s.cfg.Destination, s.cfg.Destinations, s.cfg.Options.Extra)
}

// handler builds the skill's side on destination d with its options; an
// error says when d does not offer the skill.
func (s commerceSkill) handler(store synclayer.Store, d synclayer.Destination, options json.RawMessage) (queue.Handler, func(context.Context) error, error) {
	cfg := synclayer.SkillConfig{Options: options}
	switch s.name {
	case skill.OrderEventsName:
		od, ok := d.(synclayer.OrderDestination)
		if !ok {
			return nil, nil, synclayer.FieldErrorf("destination", "%s (type %s) does not take orders, so order-events cannot run on it", d.Name(), d.Type())
		}
		sync, err := od.OrderSync(cfg)
		if err != nil {
			return nil, nil, err
		}
		return &skill.OrderEvents{Store: store, Destination: d.Name(), Sync: sync}, sync.Prepare, nil
	case skill.ProductCatalogName:
		pd, ok := d.(synclayer.ProductDestination)
		if !ok {
			return nil, nil, synclayer.FieldErrorf("destination", "%s (type %s) has no product catalog, so product-catalog cannot run on it", d.Name(), d.Type())
		}
		sync, err := pd.ProductSync(cfg)
		if err != nil {
			return nil, nil, err
		}
		return &skill.ProductCatalog{Store: store, Destination: d.Name(), Sync: sync}, sync.Prepare, nil
	}
	return nil, nil, fmt.Errorf("unknown commerce skill %s", s.name)
}

// finishCommerce checks and defaults skills.order-events and
// skills.product-catalog, as finishCustomerSync does customer-sync.
func (c *Config) finishCommerce(e *configErrors) {
	configured := c.sources()
	for _, s := range c.commerceSkills() {
		if s.cfg == nil || !s.cfg.Enabled {
			continue
		}
		key := "skills." + s.name
		if len(s.cfg.Source) == 0 {
			e.add(key+".source", "is required: shopify, woocommerce, custom, or a list of them")
		}
		for i, src := range s.cfg.Source {
			if _, ok := configured[src]; !ok {
				e.add(fmt.Sprintf("%s.source[%d]", key, i), "source %q is not configured under sources", src)
			}
		}
		switch o := &s.cfg.Options; o.SyncMode {
		case "", "realtime":
			o.SyncMode = "realtime"
		case "batch":
			for _, t := range s.targets() {
				sec := c.Destinations[t.name]
				if sec == nil {
					continue
				}
				d, err := c.openDestination(t.name, checkEnv())
				if err != nil {
					continue // said at the destination's own key
				}
				if f, err := batchFlusher(d, synclayer.BatchConfig{Skill: s.name}, nil); err == nil && f == nil {
					e.add(key+".options.sync_mode", "destination %s (%s) has no batch path for %s: use realtime", t.name, sec.typeOf(t.name), s.name)
				}
			}
		default:
			e.add(key+".options.sync_mode", "must be realtime or batch, not %q", o.SyncMode)
		}
		finishBatch(e, key+".options", s.cfg.Options.SyncMode, &s.cfg.Options.Batch)
		c.checkTargets(e, key, s.cfg.Destination, len(s.cfg.Destinations) > 0, s.targets(), commerceShared,
			func(d synclayer.Destination, options json.RawMessage) error {
				_, _, err := s.handler(nil, d, options)
				return err
			})
	}
}

// commerceIngest adds the enabled commerce skills' routes to an ingest
// config, one per destination. While order-events runs, a contact's order
// totals are computed from its orders and owned by "order-events", so a
// platform's own counters (Shopify's orders_count, total_spent) are
// ignored; while it is off, the platforms' counters apply.
func (c *Config) commerceIngest(cfg *ingest.Config) {
	for _, s := range c.commerceSkills() {
		if !s.enabled() {
			continue
		}
		for _, t := range s.targets() {
			q := synclayer.Queue(s.name, t.name)
			r := ingest.Route{Skill: q, Destination: t.name, Sources: slices.Clone(s.cfg.Source), Records: s.records}
			if s.cfg.Options.SyncMode == "batch" {
				r.Batch = synclayer.BatchQueue(q)
			}
			cfg.Routes = append(cfg.Routes, r)
		}
		if s.name == skill.OrderEventsName {
			owners := maps.Clone(cfg.FieldOwners)
			if owners == nil {
				owners = map[string][]string{}
			}
			for _, f := range synclayer.AggregateFields {
				owners[f] = []string{synclayer.OrderEventsSource}
			}
			cfg.FieldOwners = owners
		}
	}
}

// startCommerce starts a worker for each enabled commerce skill on each
// of its destinations, once the destination is ready (a Mailchimp store
// exists); they stop with Main.
func (m *Main) startCommerce() error {
	for _, s := range m.Config.commerceSkills() {
		if !s.enabled() {
			continue
		}
		for _, t := range s.targets() {
			h, prepare, err := s.handler(m.DB, m.destinations[t.name], optionsJSON(t.options))
			if err != nil {
				return fmt.Errorf("%s on %s: %w", s.name, t.name, err)
			}
			m.startPrepared(s.name, t.name, h, prepare)
		}
		m.Logger.Info("skill started", "skill", s.name, "sources", s.cfg.Source)
	}
	return nil
}

// startPrepared starts the worker of skill on destination once prepare
// passes. While the destination cannot be reached, changes are accepted
// and queued, and prepare is tried again every 10 s (Main.CheckPoll); a
// rejected key is reported to /readyz (destinationChecked); a refusal that
// retrying cannot fix (EINVALID) is logged once and stops the wait.
func (m *Main) startPrepared(skillName, destination string, h queue.Handler, prepare func(context.Context) error) {
	ctx, cancel := context.WithCancel(context.Background())
	m.addCancel(cancel)
	m.wg.Add(1)
	go func() {
		defer m.wg.Done()
		for {
			pctx, pcancel := context.WithTimeout(ctx, 20*time.Second)
			err := prepare(pctx)
			pcancel()
			if ctx.Err() != nil {
				return
			}
			credentials := m.destinationChecked(destination, err)
			if err == nil {
				break
			}
			var e *synclayer.Error
			if errors.As(err, &e) && e.Code == synclayer.EINVALID {
				m.Logger.Error("skill cannot start on this destination; fix the config and restart", "skill", skillName, "destination", destination, "err", err)
				return
			}
			if !credentials {
				m.Logger.Warn("destination not ready; changes are queued, deliveries start once it answers", "skill", skillName, "destination", destination, "err", err)
			}
			select {
			case <-ctx.Done():
				return
			case <-time.After(m.checkPoll()):
			}
		}
		m.startWorker(synclayer.Queue(skillName, destination), h)
	}()
}

// commerceMetrics gives the enabled commerce skills (cart-events too) and
// their Brevo rate-limit buckets series from the start.
func (m *Main) commerceMetrics(cfg *metrics.Config) {
	skills := maps.Clone(cfg.Skills)
	if skills == nil {
		skills = map[string]string{}
	}
	buckets := slices.Clone(cfg.RateLimitBuckets["brevo"])
	for _, s := range m.Config.commerceSkills() {
		if !s.enabled() {
			continue
		}
		for _, t := range s.targets() {
			skills[synclayer.Queue(s.name, t.name)] = t.name
		}
		switch s.name {
		case skill.OrderEventsName:
			buckets = append(buckets, "orders")
		case skill.ProductCatalogName:
			buckets = append(buckets, "products", "other")
		}
	}
	if cc := m.Config.Skills.CartEvents; cc.enabled() {
		for _, t := range cc.targets() {
			skills[synclayer.Queue(skill.CartEventsName, t.name)] = t.name
		}
		buckets = append(buckets, "events")
	}
	rl := maps.Clone(cfg.RateLimitBuckets)
	if rl == nil {
		rl = map[string][]string{}
	}
	rl["brevo"] = buckets
	cfg.Skills, cfg.RateLimitBuckets = skills, rl
}
