package main

import (
	"fmt"
	"maps"
	"slices"

	"synclayer"
	"synclayer/destination/brevo"
	"synclayer/ingest"
	"synclayer/metrics"
	"synclayer/queue"
)

// CommerceSkillConfig is skills.order-events and skills.product-catalog.
// Both are set in the config file only: the admin API changes
// customer-sync alone for now.
type CommerceSkillConfig struct {
	Enabled bool            `yaml:"enabled" json:"enabled,omitempty"`
	Source  StringList      `yaml:"source" json:"source,omitempty"`
	Options CommerceOptions `yaml:"options" json:"options"`
}

type CommerceOptions struct {
	SyncMode string       `yaml:"sync_mode" json:"sync_mode,omitempty"` // realtime or batch (batch.go)
	Batch    BatchOptions `yaml:"batch,omitempty" json:"batch,omitzero"`
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
		{brevo.OrderEventsName, c.Skills.OrderEvents, ingest.RecordOrders},
		{brevo.ProductCatalogName, c.Skills.ProductCatalog, ingest.RecordProducts},
	}
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
		default:
			e.add(key+".options.sync_mode", "must be realtime or batch, not %q", o.SyncMode)
		}
		finishBatch(e, key+".options", s.cfg.Options.SyncMode, &s.cfg.Options.Batch)
	}
}

func (s commerceSkill) enabled() bool { return s.cfg != nil && s.cfg.Enabled }

// commerceIngest adds the enabled commerce skills' routes to an ingest
// config. While order-events runs, a contact's order totals are computed
// from its orders and owned by "order-events", so a platform's own
// counters (Shopify's orders_count, total_spent) are ignored; while it is
// off, the platforms' counters apply.
func (c *Config) commerceIngest(cfg *ingest.Config) {
	for _, s := range c.commerceSkills() {
		if !s.enabled() {
			continue
		}
		r := ingest.Route{Skill: s.name, Destination: "brevo", Sources: slices.Clone(s.cfg.Source), Records: s.records}
		if s.cfg.Options.SyncMode == "batch" {
			r.Batch = synclayer.BatchQueue(s.name)
		}
		cfg.Routes = append(cfg.Routes, r)
		if s.name == brevo.OrderEventsName {
			owners := maps.Clone(cfg.FieldOwners)
			if owners == nil {
				owners = map[string]string{}
			}
			for _, f := range synclayer.AggregateFields {
				owners[f] = synclayer.OrderEventsSource
			}
			cfg.FieldOwners = owners
		}
	}
}

// startCommerce starts a worker for each enabled commerce skill; they stop
// with Main.
func (m *Main) startCommerce(client *brevo.Client) {
	for _, s := range m.Config.commerceSkills() {
		if !s.enabled() {
			continue
		}
		var h queue.Handler
		switch s.name {
		case brevo.OrderEventsName:
			h = &brevo.OrderEvents{Store: m.DB, Client: client, Logger: m.Logger}
		case brevo.ProductCatalogName:
			h = &brevo.ProductCatalog{Store: m.DB, Client: client, Logger: m.Logger}
		}
		m.startWorker(s.name, h)
		m.Logger.Info("skill started", "skill", s.name, "sources", s.cfg.Source)
	}
}

// commerceMetrics gives the enabled commerce skills (cart-events too) and
// their Brevo rate-limit buckets series from the start.
func (m *Main) commerceMetrics(cfg *metrics.Config) {
	skills := map[string]string{}
	for k, v := range cfg.Skills {
		skills[k] = v
	}
	buckets := slices.Clone(cfg.RateLimitBuckets["brevo"])
	for _, s := range m.Config.commerceSkills() {
		if !s.enabled() {
			continue
		}
		skills[s.name] = "brevo"
		switch s.name {
		case brevo.OrderEventsName:
			buckets = append(buckets, "orders")
		case brevo.ProductCatalogName:
			buckets = append(buckets, "products", "other")
		}
	}
	if m.Config.Skills.CartEvents.enabled() {
		skills[brevo.CartEventsName] = "brevo"
		buckets = append(buckets, "events")
	}
	rl := map[string][]string{}
	for k, v := range cfg.RateLimitBuckets {
		rl[k] = v
	}
	rl["brevo"] = buckets
	cfg.Skills, cfg.RateLimitBuckets = skills, rl
}
