package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"slices"
	"time"

	"synclayer"
	"synclayer/destination/brevo"
	"synclayer/ingest"
	"synclayer/skill"
	"synclayer/store"
)

// BatchOptions is options.batch of a skill in sync_mode: batch.
type BatchOptions struct {
	Interval Duration `yaml:"interval,omitempty" json:"interval,omitempty"` // how often changes are flushed; default 5m
	MaxSize  int      `yaml:"max_size,omitempty" json:"max_size,omitempty"` // changes per flush; default 5000
}

// Defaults and bounds of options.batch.
const (
	defaultBatchInterval = 5 * time.Minute
	defaultBatchMaxSize  = 5000
	maxBatchMaxSize      = 100000
)

// Duration is a time.Duration written as "5m" in YAML and in the admin
// API's JSON alike.
type Duration time.Duration

func (d Duration) String() string { return time.Duration(d).String() }

// MarshalYAML writes the duration as "5m0s".
func (d Duration) MarshalYAML() (any, error) { return d.String(), nil }

// UnmarshalYAML reads a duration such as "5m" or "30s".
func (d *Duration) UnmarshalYAML(b []byte) error {
	v, err := parseDuration(b)
	*d = Duration(v)
	return err
}

// MarshalJSON writes the duration as "5m0s".
func (d Duration) MarshalJSON() ([]byte, error) { return json.Marshal(d.String()) }

// JSONShape names what UnmarshalJSON accepts, for errors.
func (Duration) JSONShape() string { return `a duration such as "5m"` }

// UnmarshalJSON reads a duration such as "5m".
func (d *Duration) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return &json.UnmarshalTypeError{Value: jsonKind(b), Type: reflect.TypeFor[Duration]()}
	}
	v, err := time.ParseDuration(s)
	if err != nil {
		return &json.UnmarshalTypeError{Value: "string " + s, Type: reflect.TypeFor[Duration]()}
	}
	*d = Duration(v)
	return nil
}

// finishBatch checks and defaults a skill's options.batch (key is the
// options key): it is for sync_mode batch only.
func finishBatch(e *configErrors, key, mode string, b *BatchOptions) {
	if mode != "batch" {
		if *b != (BatchOptions{}) {
			e.add(key+".batch", "is only used with sync_mode: batch")
		}
		return
	}
	if b.Interval == 0 {
		b.Interval = Duration(defaultBatchInterval)
	}
	if b.MaxSize == 0 {
		b.MaxSize = defaultBatchMaxSize
	}
	if time.Duration(b.Interval) < time.Second && b.Interval > 0 || b.Interval < 0 {
		e.add(key+".batch.interval", "must be at least 1s, e.g. 5m")
	}
	if b.MaxSize < 1 || b.MaxSize > maxBatchMaxSize {
		e.add(key+".batch.max_size", "must be between 1 and %d", maxBatchMaxSize)
	}
}

// batchQueue is the queue customer-sync's consented changes go to in
// batch mode; "" in realtime mode.
func (cs *CustomerSyncConfig) batchQueue(destination string) string {
	if cs.Options.SyncMode == "batch" {
		return synclayer.BatchQueue(contactQueue(destination))
	}
	return ""
}

// currentContacts is what customer-sync's flusher runs with: the skill as
// now configured (nil while disabled) and its import list.
func (r *skillRuntime) currentContacts() (*brevo.ContactSync, int64) {
	sk := r.skill("brevo")
	if sk == nil {
		return nil, 0
	}
	bs, ok := sk.Sync.(*brevo.ContactSync)
	if !ok {
		return nil, 0
	}
	cp := *bs
	cp.Store = r.m.DB
	return &cp, bs.ImportListID
}

// startBatch runs a batch flusher for each enabled skill. In batch mode it
// flushes the skill's changes every batch.interval; in realtime mode it
// still takes what a backfill or resync left in the batch queue (every 5
// minutes), so nothing stays there unsent.
func (m *Main) startBatch(client *brevo.Client) {
	if client == nil {
		m.startContactFlushers()
		return // Brevo's imports need the destination named brevo
	}
	var flushers []*brevo.Flusher
	if cs := m.Config.Skills.CustomerSync; cs != nil && cs.Enabled {
		interval, size := batchSettings(cs.Options.SyncMode, cs.Options.Batch)
		flushers = append(flushers, brevo.NewFlusher(brevo.FlusherConfig{Store: m.DB, Client: client, Skill: skill.CustomerSyncName,
			CurrentContacts: m.skills.currentContacts, Interval: interval, MaxSize: size, Logger: m.Logger, PollMin: min(interval, 10*time.Second)}))
	}
	for _, s := range m.Config.commerceSkills() {
		if !s.enabled() {
			continue
		}
		interval, size := batchSettings(s.cfg.Options.SyncMode, s.cfg.Options.Batch)
		cfg := brevo.FlusherConfig{Store: m.DB, Client: client, Skill: s.name, Interval: interval, MaxSize: size, Logger: m.Logger}
		switch s.name {
		case skill.OrderEventsName:
			cfg.Orders = &brevo.OrderEvents{Store: m.DB, Client: client, Logger: m.Logger}
		case skill.ProductCatalogName:
			cfg.Products = &brevo.ProductCatalog{Store: m.DB, Client: client, Logger: m.Logger}
		}
		flushers = append(flushers, brevo.NewFlusher(cfg))
	}
	for _, f := range flushers {
		ctx, cancel := context.WithCancel(context.Background())
		m.addCancel(cancel)
		m.wg.Add(1)
		go func() { defer m.wg.Done(); f.Run(ctx) }()
	}
	m.startContactFlushers()
}

// startContactFlushers runs the shared contact flusher for customer-sync on
// every destination other than brevo whose ContactSync has a batch path:
// in batch mode every batch.interval, otherwise every 5 minutes for what a
// backfill left in the batch queue.
func (m *Main) startContactFlushers() {
	cs := m.Config.Skills.CustomerSync
	if cs == nil || !cs.Enabled {
		return
	}
	interval, size := batchSettings(cs.Options.SyncMode, cs.Options.Batch)
	for _, t := range m.Config.targets(cs) {
		if t.name == "brevo" {
			continue
		}
		sync, err := m.Config.contactSync(m.destinations[t.name], cs, t)
		if err != nil {
			continue // refused at start already
		}
		b, ok := sync.(synclayer.ContactBatcher)
		if !ok {
			continue
		}
		q := contactQueue(t.name)
		f := &skill.ContactFlusher{Store: m.DB, Destination: t.name, Batcher: b, Queue: synclayer.BatchQueue(q), Skill: q,
			MaxSize: size, Logger: m.Logger, PollMin: min(interval, 5*time.Second)}
		ctx, cancel := context.WithCancel(context.Background())
		m.addCancel(cancel)
		m.wg.Add(1)
		go func() { defer m.wg.Done(); f.Run(ctx, interval) }()
	}
}

func batchSettings(mode string, b BatchOptions) (time.Duration, int) {
	if mode != "batch" {
		return defaultBatchInterval, defaultBatchMaxSize
	}
	return time.Duration(b.Interval), b.MaxSize
}

// batchIngestConfig is the pipeline a backfill loads through: the
// configured rules (consent owner, field owners), with every enabled
// skill's route sending to its batch queue and taking the file's source
// too, so the load creates no realtime job a running server would push
// one by one. Consent changes among them are pushed first by the flush.
func batchIngestConfig(cfg *Config, db *store.DB, source string) ingest.Config {
	icfg := ingest.Config{Store: db}
	if cs := cfg.Skills.CustomerSync; cs != nil {
		icfg.ConsentOwner, icfg.DefaultRegion = cs.consentOwner(), cs.Options.DefaultRegion
		if cs.Enabled {
			for _, t := range cfg.targets(cs) {
				icfg.Routes = append(icfg.Routes, ingest.Route{Skill: contactQueue(t.name), Destination: t.name, Sources: slices.Clone(cs.Source)})
			}
		}
	}
	cfg.commerceIngest(&icfg)
	batching, _ := cfg.batchers(checkEnv())
	for i := range icfg.Routes {
		r := &icfg.Routes[i]
		_, batches := batching[r.Destination]
		if r.Destination == "brevo" || batches && r.Records == "" { // the rest go realtime, for a running server
			r.Skill, r.Batch = synclayer.BatchQueue(r.Skill), ""
		}
		if !slices.Contains(r.Sources, source) {
			r.Sources = append(r.Sources, source)
		}
	}
	return icfg
}

// pushers are the flushers a backfill or resync drains, in the order
// Brevo wants the records: contacts before the orders that name them,
// categories and products before orders.
func pushers(cfg *Config, db *store.DB, client *brevo.Client, historical bool) ([]*brevo.Flusher, error) {
	var out []*brevo.Flusher
	if client == nil {
		return nil, nil
	}
	onBrevo := func(ts []skillTarget) bool {
		return slices.ContainsFunc(ts, func(t skillTarget) bool { return t.name == "brevo" })
	}
	base := brevo.FlusherConfig{Store: db, Client: client, MaxSize: -1, PollMin: time.Second, PollMax: 30 * time.Second, Historical: historical}
	if cs := cfg.Skills.CustomerSync; cs != nil && cs.Enabled && slices.ContainsFunc(cfg.targets(cs), func(t contactTarget) bool { return t.name == "brevo" }) {
		c := base
		c.Skill = skill.CustomerSyncName
		bs, err := brevoContactSync(cfg, cs, client)
		if err != nil {
			return nil, err
		}
		bs.Store = db
		c.Contacts, c.ImportListID = bs, bs.ImportListID
		out = append(out, brevo.NewFlusher(c))
	}
	if s := cfg.Skills.ProductCatalog; s != nil && s.Enabled && onBrevo(commerceSkill{skill.ProductCatalogName, s, ""}.targets()) {
		c := base
		c.Skill, c.Products = skill.ProductCatalogName, &brevo.ProductCatalog{Store: db, Client: client}
		out = append(out, brevo.NewFlusher(c))
	}
	if s := cfg.Skills.OrderEvents; s != nil && s.Enabled && onBrevo(commerceSkill{skill.OrderEventsName, s, ""}.targets()) {
		c := base
		c.Skill, c.Orders = skill.OrderEventsName, &brevo.OrderEvents{Store: db, Client: client}
		out = append(out, brevo.NewFlusher(c))
	}
	return out, nil
}

// usesBrevo reports whether an enabled skill runs on the destination
// named brevo, so a CLI push needs its client.
func (c *Config) usesBrevo() bool {
	if cs := c.Skills.CustomerSync; cs != nil && cs.Enabled && slices.ContainsFunc(c.targets(cs), func(t contactTarget) bool { return t.name == "brevo" }) {
		return true
	}
	return c.needsBrevo()
}

// batchers are customer-sync's destinations other than brevo whose
// ContactSync has a batch path, built with env (a CLI command's: real
// credentials only).
func (c *Config) batchers(env synclayer.DestinationEnv) (map[string]synclayer.ContactBatcher, error) {
	out := map[string]synclayer.ContactBatcher{}
	cs := c.Skills.CustomerSync
	if cs == nil || !cs.Enabled {
		return out, nil
	}
	for _, t := range c.targets(cs) {
		if t.name == "brevo" {
			continue
		}
		d, err := c.openDestination(t.name, env)
		if err != nil {
			return nil, fmt.Errorf("destinations.%s: %w", t.name, err)
		}
		sync, err := c.contactSync(d, cs, t)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", t.key, err)
		}
		if b, ok := sync.(synclayer.ContactBatcher); ok {
			out[t.name] = b
		}
	}
	return out, nil
}

// brevoClient is the Brevo client of a CLI command. The built-in simulator
// lives inside a running server, so a command that pushes needs a real
// destinations.brevo.api_key (or a base_url with one).
func brevoClient(cfg *Config) (*brevo.Client, error) {
	d, err := cfg.openDestination("brevo", synclayer.DestinationEnv{})
	if err != nil {
		return nil, fmt.Errorf("%w; or pass --no-push to only load the store (a running server's flusher then pushes)", err)
	}
	bd, ok := d.(*brevo.Destination)
	if !ok {
		return nil, errors.New("destinations.brevo is not a Brevo account; batch pushes run on Brevo only for now")
	}
	return bd.Client(), nil
}

// brevoContactSync is customer-sync's Brevo side for a CLI command's
// batch push, on client.
func brevoContactSync(cfg *Config, cs *CustomerSyncConfig, client *brevo.Client) (*brevo.ContactSync, error) {
	for _, t := range cfg.targets(cs) {
		if t.name != "brevo" {
			continue
		}
		d, err := cfg.openDestination("brevo", checkEnv())
		if err != nil {
			return nil, err
		}
		sync, err := cfg.contactSync(d, cs, t)
		if err != nil {
			return nil, err
		}
		bs := sync.(*brevo.ContactSync)
		bs.Client = client
		return bs, nil
	}
	return nil, errors.New("customer-sync does not run on Brevo, and batch pushes run on Brevo only for now")
}
