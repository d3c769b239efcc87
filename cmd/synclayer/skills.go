package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	"synclayer"
	"synclayer/api"
	"synclayer/ingest"
	"synclayer/normalize"
	"synclayer/skill"
)

// skillRuntime runs customer-sync and lets an admin change it without a
// restart. It is three things at once, because all three follow the
// skill's config: the ingest pipeline (which sources route to the skill,
// whose opt-ins count), the worker's handler (the mapping, list and delete
// behavior a delivery uses), and the admin API's SkillManager.
//
// A change swaps the settings whole: an ingest or a delivery already under
// way finishes with the settings it started with, and the next one uses
// the new ones. Every change is recorded as a config version before it is
// swapped in (versions.go), so the history never misses a running config.
type skillRuntime struct {
	m *Main

	// change serializes Put and Disable. It is held across the
	// destinations' checks (Brevo attributes, Mailchimp merge fields), so
	// it is not the lock deliveries take.
	change sync.Mutex

	mu      sync.RWMutex        // guards the fields below; held only to read or swap them
	cfg     *CustomerSyncConfig // nil when the config has no customer-sync
	ing     *ingest.Ingester
	targets []*target // one per destination; nil while disabled

	// version is the config version running, written under change and mu;
	// seen is the newest one this server has looked at, run or skipped,
	// guarded by change.
	version, seen int
}

// target is customer-sync on one destination, with its own queue and
// worker, so an outage of one destination never delays another.
type target struct {
	name       string // the destination's name
	queue      string
	sk         *skill.CustomerSync
	stopWorker func() // nil while no worker runs
	stopWait   func() // nil unless waiting for the destination before starting the worker
}

var (
	_ api.SkillManager = (*skillRuntime)(nil)
	_ api.Ingester     = (*skillRuntime)(nil)
)

func newSkillRuntime(m *Main, cs *CustomerSyncConfig, version int) (*skillRuntime, error) {
	r := &skillRuntime{m: m, cfg: cs, ing: buildIngester(m, cs), version: version, seen: version}
	if cs != nil && cs.Enabled {
		ts, err := r.newTargets(cs)
		if err != nil {
			return nil, err
		}
		r.targets = ts
	}
	return r, nil
}

func buildIngester(m *Main, cs *CustomerSyncConfig) *ingest.Ingester {
	cfg := ingest.Config{Store: m.DB, Notify: m.wake, GroupCommit: m.DB.Driver() == "sqlite", FieldOwners: m.Config.fieldOwners(),
		CustomerStageOnFirstOrder: m.Config.customerStageOnFirstOrder()}
	if cs != nil {
		// Consent ownership holds even while the skill is disabled, so
		// changes merged meanwhile cannot lift an opt-out.
		cfg.ConsentSources, cfg.DefaultRegion = m.Config.consentSources(cs), cs.Options.DefaultRegion
		if cs.Enabled {
			for _, t := range m.Config.targets(cs) {
				cfg.Routes = append(cfg.Routes, ingest.Route{Skill: contactQueue(t.name), Destination: t.name,
					Sources: m.Config.routeSources(cs), Batch: cs.batchQueue(t.name)})
			}
		}
	}
	m.Config.commerceIngest(&cfg)
	m.cartIngest(&cfg)
	m.workflowIngest(&cfg)
	m.writeBackIngest(&cfg) // writeback.go
	return ingest.New(cfg)
}

// newTargets builds customer-sync on each of cs's destinations.
func (r *skillRuntime) newTargets(cs *CustomerSyncConfig) ([]*target, error) {
	var out []*target
	for _, t := range r.m.Config.targets(cs) {
		d, ok := r.m.destinations[t.name]
		if !ok {
			return nil, synclayer.FieldErrorf("destination", "destination %q is not configured under destinations", t.name)
		}
		sync, err := r.m.Config.contactSync(d, cs, t)
		if err != nil {
			return nil, err
		}
		out = append(out, &target{name: t.name, queue: contactQueue(t.name),
			sk: &skill.CustomerSync{Store: r.m.DB, Destination: t.name, Sync: sync}})
	}
	return out, nil
}

// Ingest runs events through the pipeline as currently configured.
func (r *skillRuntime) Ingest(ctx context.Context, events []*synclayer.Event) ([]ingest.Result, error) {
	r.mu.RLock()
	in := r.ing
	r.mu.RUnlock()
	return in.Ingest(ctx, events)
}

// handler is the queue handler of one destination's worker: it delivers
// with the current settings, and a job claimed just as the skill is
// disabled goes back to the queue.
type handler struct {
	r    *skillRuntime
	name string
}

func (h handler) Handle(ctx context.Context, job *synclayer.Job) (*synclayer.SyncState, *synclayer.TraceEntry, error) {
	sk := h.r.skill(h.name)
	if sk == nil {
		return nil, nil, synclayer.RetryAfter(errors.New("customer-sync is disabled on "+h.name), time.Minute)
	}
	return sk.Handle(ctx, job)
}

// skill is customer-sync on the named destination as now configured; nil
// while it does not run there.
func (r *skillRuntime) skill(name string) *skill.CustomerSync {
	r.mu.RLock()
	defer r.mu.RUnlock()
	for _, t := range r.targets {
		if t.name == name {
			return t.sk
		}
	}
	return nil
}

// start begins deliveries on each destination once it can hold every
// mapped field. A mapping it refuses refuses the start. An unreachable
// destination does not: webhooks are still accepted and queued, and the
// check is retried until it passes or the skill is changed.
func (r *skillRuntime) start(ctx context.Context) error {
	r.mu.RLock()
	targets := r.targets
	r.mu.RUnlock()
	for _, t := range targets {
		err := r.prepareTarget(ctx, t)
		credentials := r.m.destinationChecked(t.name, err)
		if err == nil {
			r.startUnlessChanged(t)
			continue
		}
		if synclayer.ErrorCode(err) == synclayer.EINVALID {
			return fmt.Errorf("customer-sync on %s: %w", t.name, err)
		}
		if !credentials {
			r.m.Logger.Warn("cannot check the destination's fields yet; webhooks are accepted and queued, deliveries start once it answers",
				"destination", t.name, "err", err)
		}
		r.waitFor(t)
	}
	return nil
}

// waitFor retries t's check every 10 s (Main.CheckPoll) in the background
// and starts its worker once it passes. A rejected key is reported to
// /readyz and logged by destinationChecked, once.
func (r *skillRuntime) waitFor(t *target) {
	bg, cancel := context.WithCancel(context.Background())
	r.m.addCancel(cancel)
	r.mu.Lock()
	t.stopWait = cancel
	r.mu.Unlock()
	r.m.wg.Add(1)
	go func() {
		defer r.m.wg.Done()
		for {
			select {
			case <-bg.Done():
				return
			case <-time.After(r.m.checkPoll()):
			}
			err := r.prepareTarget(bg, t)
			if bg.Err() != nil {
				return
			}
			credentials := r.m.destinationChecked(t.name, err)
			if err == nil {
				r.startUnlessChanged(t)
				return
			}
			if !credentials {
				r.m.Logger.Warn("destination field check failed; retrying", "destination", t.name, "err", err)
			}
		}
	}()
}

// startUnlessChanged starts the worker for t, unless an admin changed the
// skill while it was checked: the change started or stopped the workers
// itself.
func (r *skillRuntime) startUnlessChanged(t *target) {
	r.change.Lock()
	defer r.change.Unlock()
	r.mu.RLock()
	current := slices.Contains(r.targets, t)
	r.mu.RUnlock()
	if current {
		r.mu.Lock()
		r.runTarget(t, true)
		r.mu.Unlock()
	}
}

func (r *skillRuntime) prepareTarget(ctx context.Context, t *target) error {
	ctx, cancel := context.WithTimeout(ctx, 20*time.Second)
	defer cancel()
	created, err := t.sk.Sync.Prepare(ctx, true)
	if len(created) > 0 {
		r.m.Logger.Info("created missing contact fields", "destination", t.name, "fields", strings.Join(created, ", "))
	}
	return err
}

// runWorkers starts or stops every target's worker, and ends any wait
// for a destination. The caller holds r.change and r.mu. A stopped worker
// lets its deliveries in flight finish in the background.
func (r *skillRuntime) runWorkers(targets []*target, on bool) {
	for _, t := range targets {
		r.runTarget(t, on)
	}
}

func (r *skillRuntime) runTarget(t *target, on bool) {
	if t.stopWait != nil && !on {
		t.stopWait()
		t.stopWait = nil
	}
	switch {
	case on && t.stopWorker == nil:
		if t.stopWait != nil {
			t.stopWait()
			t.stopWait = nil
		}
		t.stopWorker = r.m.startWorker(t.queue, handler{r: r, name: t.name})
	case !on && t.stopWorker != nil:
		t.stopWorker()
		t.stopWorker = nil
	}
}

// List shows customer-sync with its config in synclayer.yaml's shape.
func (r *skillRuntime) List(ctx context.Context) ([]api.Skill, error) {
	r.mu.RLock()
	cs := r.cfg
	r.mu.RUnlock()
	if cs == nil {
		cs = &CustomerSyncConfig{}
	}
	shown := *cs
	shown.Enabled = false // shown as the skill's enabled, so the config can be PUT back as it is
	raw, err := json.Marshal(shown)
	if err != nil {
		return nil, fmt.Errorf("encode customer-sync config: %w", err)
	}
	sources := []string{}
	if cs.Enabled {
		sources = append(sources, cs.Source...)
	}
	list := []api.Skill{{Name: skill.CustomerSyncName, Enabled: cs.Enabled, Editable: true, Sources: sources, Config: raw}}
	return append(list, r.m.fileSkills()...), nil
}

// Put validates raw as customer-sync's whole config, with the same checks
// as the config file, and applies it, enabling the skill. It returns the
// config version recorded; a config equal to the running one records none
// and returns the running version.
func (r *skillRuntime) Put(ctx context.Context, name string, raw json.RawMessage, actor string) (int, error) {
	if err := r.m.knownSkill(name); err != nil {
		return 0, err
	}
	cs, err := r.m.parseCustomerSync(raw)
	if err != nil {
		return 0, err
	}
	return r.apply(ctx, cs, change{origin: synclayer.ConfigFromAPI, actor: actor, note: "PUT /api/v1/skills/" + name})
}

// Disable keeps customer-sync's config but stops it, and returns the
// config version recorded.
func (r *skillRuntime) Disable(ctx context.Context, name, actor string) (int, error) {
	if err := r.m.knownSkill(name); err != nil {
		return 0, err
	}
	r.mu.RLock()
	cs := CustomerSyncConfig{}
	if r.cfg != nil {
		cs = *r.cfg
	}
	r.mu.RUnlock()
	cs.Enabled = false
	return r.apply(ctx, &cs, change{origin: synclayer.ConfigFromAPI, actor: actor, note: "POST /api/v1/skills/" + name + "/disable"})
}

// change says who makes a config change, and why, for its version.
type change struct {
	origin synclayer.ConfigOrigin
	actor  string
	note   string
	always bool // record even when the config equals the running one (a rollback)
}

// apply makes cs the running config and records it as a version. An
// enabled config first has its Brevo attributes checked, and then the
// version is recorded, so a change that cannot run, or cannot be
// recorded, changes nothing.
func (r *skillRuntime) apply(ctx context.Context, cs *CustomerSyncConfig, c change) (int, error) {
	r.change.Lock()
	defer r.change.Unlock()
	ts, err := r.prepare(ctx, cs)
	if err != nil {
		return 0, err
	}
	doc, err := r.m.Config.withCustomerSync(cs).versionYAML()
	if err != nil {
		return 0, err
	}
	r.mu.RLock()
	running, _ := r.m.Config.withCustomerSync(r.cfg).versionYAML()
	r.mu.RUnlock()
	if doc == running && !c.always {
		return r.version, nil
	}
	v := &synclayer.ConfigVersion{CreatedAt: time.Now().UTC(), Actor: c.actor, Origin: c.origin, Note: c.note, YAML: doc}
	if err := r.m.DB.AddConfigVersion(ctx, v, -1); err != nil {
		return 0, fmt.Errorf("record the config version (nothing was changed): %w", err)
	}
	r.swap(cs, ts, v.Version)
	r.m.Logger.Info("skill configuration changed", "skill", skill.CustomerSyncName, "enabled", cs.Enabled, "by", c.actor, "version", v.Version)
	return v.Version, nil
}

// swapChecked runs cs as version without recording it: it was recorded
// elsewhere. The caller holds r.change.
func (r *skillRuntime) swapChecked(ctx context.Context, cs *CustomerSyncConfig, version int) error {
	ts, err := r.prepare(ctx, cs)
	if err != nil {
		return err
	}
	r.swap(cs, ts, version)
	return nil
}

// prepare builds customer-sync on each destination of an enabled cs and
// checks each can hold the mapping; nil for a disabled one.
func (r *skillRuntime) prepare(ctx context.Context, cs *CustomerSyncConfig) ([]*target, error) {
	if !cs.Enabled {
		return nil, nil
	}
	ts, err := r.newTargets(cs)
	if err != nil {
		return nil, err
	}
	for _, t := range ts {
		if err := r.prepareTarget(ctx, t); err != nil {
			var e *synclayer.Error
			if errors.As(err, &e) && e.Code == synclayer.EINVALID {
				return nil, synclayer.FieldErrorf("field_mapping", "%s", e.Message)
			}
			return nil, fmt.Errorf("check %s's fields for customer-sync (nothing was changed): %w", t.name, err)
		}
	}
	return ts, nil
}

// swap puts cs and its targets in place and moves the workers over. The
// caller holds r.change.
func (r *skillRuntime) swap(cs *CustomerSyncConfig, ts []*target, version int) {
	r.mu.Lock()
	r.runWorkers(r.targets, false)
	r.cfg, r.ing, r.targets, r.version = cs, buildIngester(r.m, cs), ts, version
	r.runWorkers(ts, true)
	r.mu.Unlock()
	r.seen = max(r.seen, version)
	r.m.setLogLevel(cs)
}

// running returns the config version running.
func (r *skillRuntime) running() int {
	r.mu.RLock()
	defer r.mu.RUnlock()
	return r.version
}

// Trigger runs one manual event through the pipeline, as the trigger
// command does, once the skill is enabled.
func (r *skillRuntime) Trigger(ctx context.Context, name, event string, data json.RawMessage) (ingest.Result, error) {
	if err := r.m.knownSkill(name); err != nil {
		return ingest.Result{}, err
	}
	r.mu.RLock()
	enabled := r.cfg != nil && r.cfg.Enabled
	r.mu.RUnlock()
	if !enabled {
		return ingest.Result{}, synclayer.Errorf(synclayer.ECONFLICT, "skill %s is disabled; enable it with PUT /api/v1/skills/%s", name, name)
	}
	return Trigger(ctx, r, event, data, time.Now())
}

// parseCustomerSync reads customer-sync's config from the admin API: JSON
// in the shape of its YAML block, decoded strictly, then checked and
// defaulted by the same finishCustomerSync as the config file. The config
// is enabled: "enabled" may be left out or true, and false is refused, since
// disabling has its own route. The first problem is the error's field; the
// message lists them all.
func (m *Main) parseCustomerSync(raw json.RawMessage) (*CustomerSyncConfig, error) {
	cs := &CustomerSyncConfig{}
	if err := normalize.Strict("body", raw, cs); err != nil {
		return nil, err
	}
	var probe struct {
		Enabled *bool `json:"enabled"`
	}
	_ = json.Unmarshal(raw, &probe) // raw decoded above
	if probe.Enabled != nil && !*probe.Enabled {
		return nil, synclayer.FieldErrorf("enabled", "PUT enables the skill; to disable it, POST /api/v1/skills/%s/disable", skill.CustomerSyncName)
	}
	cs.Enabled = true
	e := &configErrors{}
	m.Config.finishCustomerSync(e, cs)
	if len(e.errs) == 0 {
		return cs, nil
	}
	const prefix = "skills." + skill.CustomerSyncName + "."
	msgs := make([]string, len(e.errs))
	for i, msg := range e.errs {
		msgs[i] = strings.TrimPrefix(msg, prefix)
	}
	field := strings.TrimPrefix(e.keys[0], prefix)
	msg := strings.TrimPrefix(msgs[0], field+": ")
	if len(msgs) > 1 {
		msg += "; also " + strings.Join(msgs[1:], "; ")
	}
	return nil, synclayer.FieldErrorf(field, "%s", msg)
}

// routeSources are the sources whose contact changes customer-sync
// delivers: its sources, manual (the trigger command and API), workflows
// (set_lifecycle_stage, assign_owner), and its
// destinations, whose reports (an unsubscribe in Brevo) must reach the
// other destinations. A destination's report of what it holds already
// plans no call to itself.
func (c *Config) routeSources(cs *CustomerSyncConfig) []string {
	out := append([]string{synclayer.ManualSource, "workflows"}, cs.Source...)
	for _, t := range c.targets(cs) {
		if !slices.Contains(out, t.name) {
			out = append(out, t.name)
		}
	}
	return out
}

// consentSources are the sources whose opt-ins count: consent_sources,
// or else every source of the skill and every destination it delivers
// to (a destination's own signup form, reported back by webhook), even
// while the skill is disabled. manual is one only when listed: a person
// typing a trigger is not a person opting in.
func (c *Config) consentSources(cs *CustomerSyncConfig) []string {
	if len(cs.Options.ConsentSources) > 0 {
		return slices.Clone(cs.Options.ConsentSources)
	}
	out := slices.Clone([]string(cs.Source))
	for _, t := range c.targets(cs) {
		if !slices.Contains(out, t.name) {
			out = append(out, t.name)
		}
	}
	if len(out) == 0 {
		return []string{""} // no source: none counts, not every one
	}
	return out
}
