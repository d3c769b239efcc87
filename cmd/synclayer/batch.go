package main

import (
	"context"
	"encoding/json"
	"fmt"
	"reflect"
	"slices"
	"time"

	"synclayer"
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

// batchPath is one skill's batch path on one destination.
type batchPath struct {
	skill, destination string
	flusher            synclayer.BatchFlusher
	contacts           synclayer.ContactSync // customer-sync's side, prepared before a push; nil for the others
}

// batchFlusher is the batch path of bc.Skill on destination d: the
// destination's own (synclayer.BatchDestination), or else, for
// customer-sync, the shared flusher over contacts when it is a
// synclayer.ContactBatcher; nil when d has none for the skill.
func batchFlusher(d synclayer.Destination, bc synclayer.BatchConfig, contacts synclayer.ContactSync) (synclayer.BatchFlusher, error) {
	if bd, ok := d.(synclayer.BatchDestination); ok {
		if f, err := bd.BatchFlusher(bc); err != nil || f != nil {
			return f, err
		}
	}
	b, ok := contacts.(synclayer.ContactBatcher)
	if bc.Skill != skill.CustomerSyncName || !ok {
		return nil, nil
	}
	return &skill.ContactFlusher{Store: bc.Store, Destination: d.Name(), Batcher: b, RealtimeQueue: contactQueue(d.Name()),
		Interval: bc.Interval, MaxSize: bc.MaxSize, PollMin: bc.PollMin, PollMax: bc.PollMax, Logger: bc.Logger}, nil
}

// batchPaths builds the batch path of every enabled batch skill on each
// of its destinations that has one, in the order a push drains them:
// contacts before the orders that name them, categories and products
// before orders. open opens a destination; base is the flusher settings
// of a skill; live, when set, gives customer-sync's side on a destination
// as configured at each flush (a running server's), instead of the one
// built here.
func (c *Config) batchPaths(open func(name string) (synclayer.Destination, error), base func(*batchMode) synclayer.BatchConfig,
	live func(destination string) func() synclayer.ContactSync) ([]batchPath, error) {
	var out []batchPath
	add := func(name, dest string, d synclayer.Destination, b *batchMode, contacts synclayer.ContactSync) error {
		bc := base(b)
		bc.Skill = name
		if contacts != nil {
			bc.Contacts = func() synclayer.ContactSync { return contacts }
			if live != nil {
				bc.Contacts = live(dest)
			}
		}
		f, err := batchFlusher(d, bc, contacts)
		if err != nil {
			return fmt.Errorf("%s on %s: %w", name, dest, err)
		}
		if f != nil {
			out = append(out, batchPath{skill: name, destination: dest, flusher: f, contacts: contacts})
		}
		return nil
	}
	if cs := c.Skills.CustomerSync; cs != nil && cs.Enabled {
		for _, t := range c.targets(cs) {
			d, err := open(t.name)
			if err != nil {
				return nil, fmt.Errorf("destinations.%s: %w", t.name, err)
			}
			sync, err := c.contactSync(d, cs, t)
			if err != nil {
				return nil, fmt.Errorf("%s: %w", t.key, err)
			}
			if err := add(skill.CustomerSyncName, t.name, d, &batchMode{cs.Options.SyncMode, cs.Options.Batch}, sync); err != nil {
				return nil, err
			}
		}
	}
	for _, name := range []string{skill.ProductCatalogName, skill.OrderEventsName} {
		for _, s := range c.commerceSkills() {
			if s.name != name || !s.enabled() {
				continue
			}
			for _, t := range s.targets() {
				d, err := open(t.name)
				if err != nil {
					return nil, fmt.Errorf("destinations.%s: %w", t.name, err)
				}
				if err := add(name, t.name, d, &batchMode{s.cfg.Options.SyncMode, s.cfg.Options.Batch}, nil); err != nil {
					return nil, err
				}
			}
		}
	}
	return out, nil
}

// batchMode is a skill's sync_mode with its options.batch.
type batchMode struct {
	Mode  string
	Batch BatchOptions
}

// batchQueues are the queues (synclayer.Queue of skill and destination)
// whose skill has a batch path on the destination, from the config
// alone (no credentials needed): what a backfill or resync loads into the
// batch queue rather than the realtime one.
func (c *Config) batchQueues() map[string]bool {
	paths, _ := c.batchPaths(func(name string) (synclayer.Destination, error) { return c.openDestination(name, checkEnv()) },
		func(*batchMode) synclayer.BatchConfig { return synclayer.BatchConfig{} }, nil)
	out := map[string]bool{}
	for _, p := range paths {
		out[synclayer.Queue(p.skill, p.destination)] = true
	}
	return out
}

// startBatch runs every batch path of the enabled skills. In batch mode
// it flushes the skill's changes every batch.interval; in realtime mode
// it still takes what a backfill or resync left in the batch queue (every
// 5 minutes), so nothing stays there unsent.
func (m *Main) startBatch() {
	paths, err := m.Config.batchPaths(func(name string) (synclayer.Destination, error) {
		if d := m.destinations[name]; d != nil {
			return d, nil
		}
		return nil, fmt.Errorf("destination %q is not configured under destinations", name)
	}, func(b *batchMode) synclayer.BatchConfig {
		interval, size := batchSettings(b.Mode, b.Batch)
		return synclayer.BatchConfig{Store: m.DB, Interval: interval, MaxSize: size, Logger: m.Logger, PollMin: min(interval, 10*time.Second)}
	}, func(dest string) func() synclayer.ContactSync {
		return func() synclayer.ContactSync {
			if sk := m.skills.skill(dest); sk != nil {
				return sk.Sync
			}
			return nil
		}
	})
	if err != nil {
		m.Logger.Error("batch paths not started", "err", err) // refused at start already
		return
	}
	for _, p := range paths {
		ctx, cancel := context.WithCancel(context.Background())
		m.addCancel(cancel)
		m.wg.Add(1)
		go func() { defer m.wg.Done(); p.flusher.Run(ctx) }()
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
	icfg := ingest.Config{Store: db, FieldOwners: cfg.fieldOwners(), CustomerStageOnFirstOrder: cfg.customerStageOnFirstOrder()}
	if cs := cfg.Skills.CustomerSync; cs != nil {
		icfg.ConsentSources, icfg.DefaultRegion = cfg.consentSources(cs), cs.Options.DefaultRegion
		if cs.Enabled {
			for _, t := range cfg.targets(cs) {
				icfg.Routes = append(icfg.Routes, ingest.Route{Skill: contactQueue(t.name), Destination: t.name, Sources: slices.Clone(cs.Source)})
			}
		}
	}
	cfg.commerceIngest(&icfg)
	batching := cfg.batchQueues()
	for i := range icfg.Routes {
		r := &icfg.Routes[i]
		if batching[r.Skill] { // the rest go realtime, for a running server
			r.Skill, r.Batch = synclayer.BatchQueue(r.Skill), ""
		}
		if !slices.Contains(r.Sources, source) {
			r.Sources = append(r.Sources, source)
		}
	}
	return icfg
}

// pushers are the batch paths a backfill or resync drains, in the
// order the destinations want the records, each on a destination built
// with real credentials: the built-in simulator lives inside a running
// server only.
func pushers(cfg *Config, db *store.DB, historical bool) ([]batchPath, error) {
	dests := map[string]synclayer.Destination{}
	tokens, err := tokenStore(db, nil)
	if err != nil {
		return nil, err
	}
	return cfg.batchPaths(func(name string) (synclayer.Destination, error) {
		if d, ok := dests[name]; ok {
			return d, nil
		}
		d, err := cfg.openDestination(name, synclayer.DestinationEnv{Tokens: tokens, Shared: sharedKeys(db)})
		if err != nil {
			return nil, err
		}
		dests[name] = d
		return d, nil
	}, func(*batchMode) synclayer.BatchConfig {
		return synclayer.BatchConfig{Store: db, MaxSize: -1, PollMin: time.Second, PollMax: 30 * time.Second, Historical: historical}
	}, nil)
}
