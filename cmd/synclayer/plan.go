package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"synclayer"
	"synclayer/ingest"
	"synclayer/normalize"
	"synclayer/skill"
	"synclayer/source/custom"
	"synclayer/store"
)

// cmdPlan is synclayer plan: a dry run of sample records through a config,
// against a copy of the current state. Nothing live is touched: the store
// is copied (store.Snapshot), the samples are ingested into the copy, and
// customer-sync's Plan says what it would send. No destination is called.
func cmdPlan(ctx context.Context, args []string, stdout io.Writer) error {
	var dir, source string
	var asJSON bool
	fs, src, pos, err := parseFlags("plan", args, func(fs *flag.FlagSet) {
		fs.StringVar(&dir, "sample", "", "read sample events from `DIR`, one JSON file each")
		fs.StringVar(&source, "source", "", "the `NAME` of the source the samples come from (default: customer-sync's consent source)")
		fs.BoolVar(&asJSON, "json", false, "print the plan as JSON")
	})
	if err != nil {
		return err
	}
	if err := wantArgs(fs, pos); err != nil {
		return err
	}
	if dir == "" {
		return usageErrorf(fs, "--sample is required: a directory of sample events, one JSON file each, e.g. --sample ./samples")
	}
	cfg, err := src.load()
	if err != nil {
		return err
	}
	samples, err := readSamples(dir)
	if err != nil {
		return err
	}
	rep, err := runPlan(ctx, cfg, samples, source, time.Now())
	if err != nil {
		return err
	}
	rep.Samples = dir
	if asJSON {
		return jsonEncode(stdout, rep)
	}
	return rep.print(stdout)
}

// sample is one event file.
type sample struct {
	name string
	body []byte
}

// readSamples reads DIR's *.json files in file-name order, the order the
// plan applies them in.
func readSamples(dir string) ([]sample, error) {
	names, err := filepath.Glob(filepath.Join(dir, "*.json"))
	if err != nil {
		return nil, err
	}
	if len(names) == 0 {
		return nil, fmt.Errorf("plan: no *.json sample files in %s", dir)
	}
	slices.Sort(names)
	out := make([]sample, len(names))
	for i, n := range names {
		b, err := os.ReadFile(n)
		if err != nil {
			return nil, fmt.Errorf("plan: %w", err)
		}
		out[i] = sample{name: filepath.Base(n), body: b}
	}
	return out, nil
}

// planReport is what synclayer plan prints.
type planReport struct {
	Config      string       `json:"config"`
	Environment string       `json:"environment,omitempty"`
	Samples     string       `json:"samples,omitempty"`
	Source      string       `json:"source"`
	State       string       `json:"state"` // what the plan ran against
	Records     []planRecord `json:"records"`
}

// planRecord is one sample's outcome. Status is planned (Calls says what
// would be sent, possibly nothing), unchanged (the event changes nothing,
// so no delivery is queued), failed (stored but cannot sync; Reason),
// rejected (the event is invalid; Reason) or skipped (no skill handles it).
// The record is named by Email (as the sample gives it, or the contact's)
// and SourceID, the source and the record's ID there ("shopify:1001"),
// and by ContactID once it resolves to a contact.
type planRecord struct {
	File      string `json:"file"`
	Event     string `json:"event"`
	Status    string `json:"status"`
	Email     string `json:"email,omitempty"`
	SourceID  string `json:"sourceId,omitempty"`
	ContactID string `json:"contactId,omitempty"`
	Reason    string `json:"reason,omitempty"`
	// Calls are every skill's calls, each naming its skill and
	// destination, and At when it waits (a cart's abandonment).
	Calls   []planCall     `json:"calls"`
	Changes []skill.Change `json:"changes"`
	// Unmapped are the attributes a destination holds that the mapping no
	// longer sends: left alone, or cleared with clear_unmapped.
	Unmapped []planUnmapped `json:"unmapped,omitempty"`
	// Workflows are the rules the record's triggers run, matched or not.
	Workflows []planRule `json:"workflows,omitempty"`
}

// planCall is one call a skill would make.
type planCall struct {
	Skill string    `json:"skill"`
	At    time.Time `json:"at,omitzero"` // when it would be made, when not at once
	synclayer.PlannedCall
}

// planUnmapped is one attribute a mapping no longer sends.
type planUnmapped struct {
	Destination string `json:"destination"`
	Attribute   string `json:"attribute"`
	Plan        string `json:"plan"` // "left alone" or "cleared"
}

// runPlan copies the current state, ingests the samples into the copy in
// order, and previews after each what every enabled skill would send
// (customer-sync, order-events, product-catalog, cart-events) and which
// workflow rules it would fire, against what the destinations would hold
// by then: the copied sync state, updated by the records planned before.
func runPlan(ctx context.Context, cfg *Config, samples []sample, source string, now time.Time) (*planReport, error) {
	cs := cfg.Skills.CustomerSync
	if cs == nil {
		return nil, errors.New("plan: the config has no skills.customer-sync to plan for")
	}
	if source == "" {
		source = "custom"
		if len(cs.Source) > 0 {
			source = cs.Source[0]
		}
	}
	if _, ok := cfg.sources()[source]; !ok && source != "manual" {
		return nil, fmt.Errorf("plan: --source %s is not configured under sources", source)
	}
	rep := &planReport{Config: orDefault(cfg.path, "built-in defaults"), Environment: cfg.env, Source: source}
	events := make([]*synclayer.Event, len(samples))
	var keys store.ContactKeys
	for i, s := range samples {
		rec := planRecord{File: s.name, Calls: []planCall{}, Changes: []skill.Change{}}
		ev, err := parseSample(s, source, cfg.sampleSkips(source), now, &rec)
		rep.Records = append(rep.Records, rec)
		if err != nil || ev == nil {
			continue
		}
		events[i] = ev
		who := eventCustomer(ev)
		if who == nil {
			continue
		}
		if id := who.SourceID; id != "" {
			keys.SourceIDs = append(keys.SourceIDs, [2]string{source, id})
		}
		if e, err := normalize.Email(who.Email()); err == nil && e != "" {
			keys.Emails = append(keys.Emails, e)
		}
		if p, err := normalize.Phone(who.Phone(), cs.Options.DefaultRegion); err == nil && p != "" {
			keys.Phones = append(keys.Phones, p)
		}
	}

	tmp, err := os.MkdirTemp("", "synclayer-plan-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(tmp)
	snap, missing, err := store.Snapshot(ctx, cfg.Storage.Driver, cfg.Storage.DSN, filepath.Join(tmp, "state.db"), keys)
	if err != nil {
		return nil, fmt.Errorf("plan: copy the current state: %w", err)
	}
	defer snap.Close()
	switch {
	case missing:
		rep.State = "an empty store: " + cfg.Storage.DSN + " does not exist yet"
	case cfg.Storage.Driver == "postgres":
		rep.State = "a copy of the sample records' contacts and sync state from postgres"
	default:
		rep.State = "a copy of sqlite " + cfg.Storage.DSN
	}

	p, err := newPlanner(cfg, snap, source, now)
	if err != nil {
		return nil, err
	}
	icfg := ingest.Config{Store: snap, ConsentSources: cfg.consentSources(cs), FieldOwners: cfg.fieldOwners(), DefaultRegion: cs.Options.DefaultRegion,
		CustomerStageOnFirstOrder: cfg.customerStageOnFirstOrder(), Now: func() time.Time { return now }}
	cfg.commerceIngest(&icfg) // order and product routes, and the order totals' owner
	cfg.planCartRoutes(&icfg)
	if cfg.workflows != nil {
		icfg.Triggers = p.sink
	}
	in := ingest.New(icfg)
	for i, ev := range events {
		if ev == nil {
			continue
		}
		rec := &rep.Records[i]
		p.sink.fired = nil
		res, err := in.Ingest(ctx, []*synclayer.Event{ev})
		if err != nil {
			return nil, fmt.Errorf("plan: %s: %w", rec.File, err)
		}
		rec.Status, rec.ContactID, rec.Reason = string(res[0].Status), res[0].ContactID, res[0].Reason
		if err := p.name(ctx, rec); err != nil {
			return nil, fmt.Errorf("plan: %s: %w", rec.File, err)
		}
		if res[0].Status != synclayer.EventApplied {
			if rec.Reason == "" {
				rec.Reason = "nothing changed, so no delivery is queued and no rule fires"
			}
			continue
		}
		if err := p.record(ctx, ev, rec); err != nil {
			return nil, fmt.Errorf("plan: %s: %w", rec.File, err)
		}
	}
	return rep, nil
}

// eventCustomer is who an event is about, or nil.
func eventCustomer(ev *synclayer.Event) *synclayer.CustomerChange {
	switch {
	case ev.Order != nil:
		return ev.Order.Customer
	case ev.Cart != nil:
		return ev.Cart.Customer
	case ev.Activity != nil:
		return ev.Activity.Customer
	}
	return ev.Customer
}

// eventSourceID is the ID the event's record has at its source: the
// order's for an order or refund, the product's, the cart's, the
// ticket's, the customer's.
func eventSourceID(ev *synclayer.Event) string {
	switch {
	case ev.Order != nil:
		return ev.Order.SourceID
	case ev.Product != nil:
		return ev.Product.SourceID
	case ev.Cart != nil:
		return ev.Cart.SourceID
	case ev.Activity != nil && ev.Activity.ID != "":
		return ev.Activity.ID
	}
	if who := eventCustomer(ev); who != nil {
		return who.SourceID
	}
	return ""
}

// sampleSkips says, per event prefix, why a sample of it is skipped:
// the skill that takes it is not enabled for source.
func (c *Config) sampleSkips(source string) map[string]string {
	on := func(enabled bool, sources []string) bool { return enabled && slices.Contains(sources, source) }
	out := map[string]string{}
	if oe := c.Skills.OrderEvents; oe == nil || !on(oe.Enabled, oe.Source) {
		out["order_"] = "order-events"
	}
	if pc := c.Skills.ProductCatalog; pc == nil || !on(pc.Enabled, pc.Source) {
		out["product_"] = "product-catalog"
	}
	if cc := c.Skills.CartEvents; !cc.enabled() || !slices.Contains(cc.Source, source) {
		out["cart_"], out["checkout_"] = "cart-events", "cart-events"
	}
	return out
}

// planCartRoutes adds cart-events' routes to a dry run's ingest, as
// cartIngest does to the server's.
func (c *Config) planCartRoutes(cfg *ingest.Config) {
	cc := c.Skills.CartEvents
	if !cc.enabled() {
		return
	}
	for _, t := range cc.targets() {
		cfg.Routes = append(cfg.Routes, ingest.Route{Skill: synclayer.Queue(skill.CartEventsName, t.name), Destination: t.name,
			Sources: slices.Clone(cc.Source), Records: ingest.RecordCarts, Wait: cc.Options.AbandonAfter})
	}
}

// parseSample reads one sample as the custom source would, filling rec's
// event and name, and its status when it is rejected or skipped (then ev
// is nil). skips names, by event prefix, the skill not enabled for it.
func parseSample(s sample, source string, skips map[string]string, now time.Time, rec *planRecord) (*synclayer.Event, error) {
	var head struct {
		Event string `json:"event"`
	}
	_ = json.Unmarshal(s.body, &head)
	rec.Event = head.Event
	ev, err := custom.ParseEvent(s.body, now)
	if err != nil {
		rec.Status, rec.Reason = "rejected", synclayer.ErrorMessage(err)
		return nil, err
	}
	if who := eventCustomer(ev); who != nil {
		rec.Email = who.Email()
	}
	if id := eventSourceID(ev); id != "" {
		rec.SourceID = synclayer.CanonicalID(source, id)
	}
	for prefix, name := range skips {
		if strings.HasPrefix(head.Event, prefix) {
			rec.Status, rec.Reason = "skipped", head.Event+": "+name+" is not enabled for source "+source+" in this config"
			return nil, nil
		}
	}
	ev.Source, ev.DedupeKey = source, "plan:"+s.name
	return ev, nil
}
