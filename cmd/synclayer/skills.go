package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"synclayer"
	"synclayer/api"
	"synclayer/destination/brevo"
	"synclayer/ingest"
	"synclayer/normalize"
	"synclayer/queue"
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
	m      *Main
	client *brevo.Client

	// change serializes Put and Disable. It is held across the Brevo
	// attribute check, so it is not the lock deliveries take.
	change sync.Mutex

	mu         sync.RWMutex        // guards the fields below; held only to read or swap them
	cfg        *CustomerSyncConfig // nil when the config has no customer-sync
	ing        *ingest.Ingester
	sk         *brevo.CustomerSync // nil while disabled
	stopWorker func()              // nil while no worker runs
	stopWait   func()              // nil unless waiting for Brevo before starting the worker

	// version is the config version running, written under change and mu;
	// seen is the newest one this server has looked at, run or skipped,
	// guarded by change.
	version, seen int
}

var (
	_ api.SkillManager = (*skillRuntime)(nil)
	_ api.Ingester     = (*skillRuntime)(nil)
	_ queue.Handler    = (*skillRuntime)(nil)
)

func newSkillRuntime(m *Main, client *brevo.Client, cs *CustomerSyncConfig, version int) *skillRuntime {
	r := &skillRuntime{m: m, client: client, cfg: cs, ing: buildIngester(m, cs), version: version, seen: version}
	if cs != nil && cs.Enabled {
		r.sk = r.newSkill(cs)
	}
	return r
}

func buildIngester(m *Main, cs *CustomerSyncConfig) *ingest.Ingester {
	cfg := ingest.Config{Store: m.DB, Notify: m.wake, GroupCommit: m.DB.Driver() == "sqlite"}
	if cs != nil {
		// Consent ownership holds even while the skill is disabled, so
		// changes merged meanwhile cannot lift an opt-out.
		cfg.ConsentOwner, cfg.DefaultRegion = cs.consentOwner(), cs.Options.DefaultRegion
		if cs.Enabled {
			cfg.Routes = []ingest.Route{{Skill: brevo.CustomerSyncName, Destination: "brevo", Sources: append([]string{"manual"}, cs.Source...), Batch: cs.batchQueue()}}
		}
	}
	m.Config.commerceIngest(&cfg)
	m.cartIngest(&cfg)
	m.workflowIngest(&cfg)
	return ingest.New(cfg)
}

func (r *skillRuntime) newSkill(cs *CustomerSyncConfig) *brevo.CustomerSync {
	return &brevo.CustomerSync{Store: r.m.DB, Client: r.client, Mapping: cs.FieldMapping, ListID: cs.Options.ListID,
		HardDelete: cs.Options.DeleteBehavior == "hard", Logger: r.m.Logger}
}

// Ingest runs events through the pipeline as currently configured.
func (r *skillRuntime) Ingest(ctx context.Context, events []*synclayer.Event) ([]ingest.Result, error) {
	r.mu.RLock()
	in := r.ing
	r.mu.RUnlock()
	return in.Ingest(ctx, events)
}

// Handle delivers one customer-sync job with the current settings. A job
// claimed just as the skill is disabled goes back to the queue.
func (r *skillRuntime) Handle(ctx context.Context, job *synclayer.Job) (*synclayer.SyncState, *synclayer.TraceEntry, error) {
	r.mu.RLock()
	sk := r.sk
	r.mu.RUnlock()
	if sk == nil {
		return nil, nil, synclayer.RetryAfter(errors.New("customer-sync is disabled"), time.Minute)
	}
	return sk.Handle(ctx, job)
}

// start begins deliveries once Brevo has every mapped attribute. A
// missing attribute that may not be created refuses the start. An
// unreachable Brevo does not: webhooks are still accepted and queued, and
// the check is retried until it passes or the skill is changed.
func (r *skillRuntime) start(ctx context.Context) error {
	r.mu.RLock()
	sk, cs := r.sk, r.cfg
	r.mu.RUnlock()
	if sk == nil {
		return nil
	}
	err := r.ensureAttributes(ctx, sk, cs)
	if err == nil {
		r.startUnlessChanged(sk)
		return nil
	}
	if synclayer.ErrorCode(err) == synclayer.EINVALID {
		return fmt.Errorf("customer-sync: %w", err)
	}
	r.m.Logger.Warn("cannot check Brevo attributes yet; webhooks are accepted and queued, deliveries start once Brevo answers", "err", err)
	bg, cancel := context.WithCancel(context.Background())
	r.m.addCancel(cancel)
	r.mu.Lock()
	r.stopWait = cancel
	r.mu.Unlock()
	r.m.wg.Add(1)
	go func() {
		defer r.m.wg.Done()
		for {
			select {
			case <-bg.Done():
				return
			case <-time.After(10 * time.Second):
			}
			err := r.ensureAttributes(bg, sk, cs)
			if err == nil {
				r.startUnlessChanged(sk)
				return
			}
			if bg.Err() == nil {
				r.m.Logger.Warn("Brevo attribute check failed; retrying", "err", err)
			}
		}
	}()
	return nil
}

// startUnlessChanged starts the worker for sk, unless an admin changed the
// skill while its attributes were checked: the change started or stopped
// the worker itself.
func (r *skillRuntime) startUnlessChanged(sk *brevo.CustomerSync) {
	r.change.Lock()
	defer r.change.Unlock()
	r.mu.RLock()
	current := r.sk == sk
	r.mu.RUnlock()
	if current {
		r.runWorker(true)
	}
}

func (r *skillRuntime) ensureAttributes(ctx context.Context, sk *brevo.CustomerSync, cs *CustomerSyncConfig) error {
	ctx, cancel := context.WithTimeout(ctx, 20*time.Second)
	defer cancel()
	created, err := sk.EnsureAttributes(ctx, cs.Options.CreateAttributes == nil || *cs.Options.CreateAttributes)
	if len(created) > 0 {
		r.m.Logger.Info("created missing Brevo contact attributes", "attributes", strings.Join(created, ", "))
	}
	return err
}

// runWorker starts or stops the worker, and ends any wait for Brevo. The
// caller holds r.change. A stopped worker lets its deliveries in flight
// finish in the background.
func (r *skillRuntime) runWorker(on bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.stopWait != nil {
		r.stopWait()
		r.stopWait = nil
	}
	switch {
	case on && r.stopWorker == nil:
		r.stopWorker = r.m.startWorker(brevo.CustomerSyncName, r)
	case !on && r.stopWorker != nil:
		r.stopWorker()
		r.stopWorker = nil
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
	list := []api.Skill{{Name: brevo.CustomerSyncName, Enabled: cs.Enabled, Editable: true, Sources: sources, Config: raw}}
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
	sk, err := r.prepare(ctx, cs)
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
	r.swap(cs, sk, v.Version)
	r.m.Logger.Info("skill configuration changed", "skill", brevo.CustomerSyncName, "enabled", cs.Enabled, "by", c.actor, "version", v.Version)
	return v.Version, nil
}

// swapChecked runs cs as version without recording it: it was recorded
// elsewhere. The caller holds r.change.
func (r *skillRuntime) swapChecked(ctx context.Context, cs *CustomerSyncConfig, version int) error {
	sk, err := r.prepare(ctx, cs)
	if err != nil {
		return err
	}
	r.swap(cs, sk, version)
	return nil
}

// prepare builds the skill for an enabled cs and checks its Brevo
// attributes; nil for a disabled one.
func (r *skillRuntime) prepare(ctx context.Context, cs *CustomerSyncConfig) (*brevo.CustomerSync, error) {
	if !cs.Enabled {
		return nil, nil
	}
	sk := r.newSkill(cs)
	if err := r.ensureAttributes(ctx, sk, cs); err != nil {
		var e *synclayer.Error
		if errors.As(err, &e) && e.Code == synclayer.EINVALID {
			return nil, synclayer.FieldErrorf("field_mapping", "%s", e.Message)
		}
		return nil, fmt.Errorf("check Brevo attributes for customer-sync (nothing was changed): %w", err)
	}
	return sk, nil
}

// swap puts cs and sk in place and starts or stops the worker. The caller
// holds r.change.
func (r *skillRuntime) swap(cs *CustomerSyncConfig, sk *brevo.CustomerSync, version int) {
	r.mu.Lock()
	r.cfg, r.ing, r.sk, r.version = cs, buildIngester(r.m, cs), sk, version
	r.mu.Unlock()
	r.seen = max(r.seen, version)
	r.runWorker(cs.Enabled)
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
		return nil, synclayer.FieldErrorf("enabled", "PUT enables the skill; to disable it, POST /api/v1/skills/%s/disable", brevo.CustomerSyncName)
	}
	cs.Enabled = true
	e := &configErrors{}
	m.Config.finishCustomerSync(e, cs)
	if len(e.errs) == 0 {
		return cs, nil
	}
	const prefix = "skills." + brevo.CustomerSyncName + "."
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

// consentOwner is the source whose opt-ins count: consent_source, or else
// the first source, even while the skill is disabled.
func (cs *CustomerSyncConfig) consentOwner() string {
	if cs.Options.ConsentSource == "" && len(cs.Source) > 0 {
		return cs.Source[0]
	}
	return cs.Options.ConsentSource
}
