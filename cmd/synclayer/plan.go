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
type planRecord struct {
	File      string `json:"file"`
	Event     string `json:"event"`
	Status    string `json:"status"`
	ContactID string `json:"contactId,omitempty"`
	Reason    string `json:"reason,omitempty"`
	// Destination is where Calls go; a contact planned for several
	// destinations has one record per destination.
	Destination string                  `json:"destination,omitempty"`
	Calls       []synclayer.PlannedCall `json:"calls"`
	Changes     []skill.Change          `json:"changes"`
}

// runPlan copies the current state, ingests the samples into the copy in
// order, and previews customer-sync's delivery after each, against what
// the destination would hold by then: the copied sync state, updated by
// the records planned before.
func runPlan(ctx context.Context, cfg *Config, samples []sample, source string, now time.Time) (*planReport, error) {
	cs := cfg.Skills.CustomerSync
	if cs == nil {
		return nil, errors.New("plan: the config has no skills.customer-sync to plan for")
	}
	if source == "" {
		source = orDefault(cs.consentOwner(), "custom")
	}
	if _, ok := cfg.sources()[source]; !ok && source != "manual" {
		return nil, fmt.Errorf("plan: --source %s is not configured under sources", source)
	}
	rep := &planReport{Config: orDefault(cfg.path, "built-in defaults"), Environment: cfg.env, Source: source}
	oe := cfg.Skills.OrderEvents
	orders := oe != nil && oe.Enabled && slices.Contains(oe.Source, source)
	events := make([]*synclayer.Event, len(samples))
	var keys store.ContactKeys
	for i, s := range samples {
		rec := planRecord{File: s.name, Calls: []synclayer.PlannedCall{}, Changes: []skill.Change{}}
		ev, err := parseSample(s, source, orders, now, &rec)
		rep.Records = append(rep.Records, rec)
		if err != nil || ev == nil {
			continue
		}
		events[i] = ev
		who := ev.Customer
		if ev.Order != nil {
			who = ev.Order.Customer
		}
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

	routed := slices.Contains(cs.Source, source) || source == "manual"
	icfg := ingest.Config{Store: snap, ConsentOwner: cs.consentOwner(), DefaultRegion: cs.Options.DefaultRegion, Now: func() time.Time { return now }}
	cfg.commerceIngest(&icfg) // order routes, and the order totals' owner
	in := ingest.New(icfg)
	planners, err := orderPlanners(cfg)
	if err != nil {
		return nil, fmt.Errorf("plan: %w", err)
	}
	heldOrders := map[string]json.RawMessage{} // what each destination would hold of each order planned so far
	var sks []*skill.CustomerSync
	for _, t := range cfg.targets(cs) {
		d, err := cfg.openDestination(t.name, checkEnv())
		if err != nil {
			return nil, fmt.Errorf("plan: destinations.%s: %w", t.name, err)
		}
		sync, err := cfg.contactSync(d, cs, t)
		if err != nil {
			return nil, fmt.Errorf("plan: %s: %w", t.key, err)
		}
		sks = append(sks, &skill.CustomerSync{Store: snap, Destination: t.name, Sync: sync})
	}
	held := map[string]*synclayer.SyncState{} // what each destination would hold after the records planned so far, by destination and contact
	for i, ev := range events {
		if ev == nil {
			continue
		}
		rec := &rep.Records[i]
		res, err := in.Ingest(ctx, []*synclayer.Event{ev})
		if err != nil {
			return nil, fmt.Errorf("plan: %s: %w", rec.File, err)
		}
		rec.Status, rec.ContactID, rec.Reason = string(res[0].Status), res[0].ContactID, res[0].Reason
		if res[0].Status != synclayer.EventApplied {
			if rec.Reason == "" {
				rec.Reason = "nothing changed, so no delivery is queued"
			}
			continue
		}
		if ev.Order != nil {
			// order-events' call first; the order changed its contact's
			// totals, so customer-sync's delivery follows.
			if err := previewOrder(ctx, snap, synclayer.CanonicalID(source, ev.Order.SourceID), planners, heldOrders, rec); err != nil {
				return nil, fmt.Errorf("plan: %s: %w", rec.File, err)
			}
			if rec.ContactID == "" || !cs.Enabled || !routed {
				continue
			}
		}
		switch {
		case !cs.Enabled:
			rec.Status, rec.Reason = "planned", "customer-sync is disabled in this config: nothing is sent"
			continue
		case !routed:
			rec.Status, rec.Reason = "planned", fmt.Sprintf("source %s is not one of customer-sync's sources: nothing is sent", source)
			continue
		}
		orderCalls, orderReason := rec.Calls, rec.Reason
		if err := previewRecord(ctx, snap, sks, held, rec); err != nil {
			return nil, fmt.Errorf("plan: %s: %w", rec.File, err)
		}
		if ev.Order != nil {
			rec.Calls = append(orderCalls, rec.Calls...)
			if len(rec.Calls) == 0 {
				rec.Reason = orderReason + "; " + rec.Reason
			}
		}
	}
	return rep, nil
}

// orderPlanner is order-events' side on one destination, for dry runs.
type orderPlanner struct {
	name string
	sync synclayer.OrderSync
}

// orderPlanners builds order-events on each of its destinations, without
// touching them: a dry run only plans.
func orderPlanners(cfg *Config) ([]orderPlanner, error) {
	var out []orderPlanner
	for _, s := range cfg.commerceSkills() {
		if s.name != skill.OrderEventsName || !s.enabled() {
			continue
		}
		for _, t := range s.targets() {
			d, err := cfg.openDestination(t.name, checkEnv())
			if err != nil {
				return nil, fmt.Errorf("destinations.%s: %w", t.name, err)
			}
			od, ok := d.(synclayer.OrderDestination)
			if !ok {
				return nil, fmt.Errorf("%s takes no orders", t.name)
			}
			sync, err := od.OrderSync(synclayer.SkillConfig{Options: optionsJSON(t.options)})
			if err != nil {
				return nil, fmt.Errorf("%s: %w", t.key, err)
			}
			out = append(out, orderPlanner{t.name, sync})
		}
	}
	return out, nil
}

// previewOrder plans order-events' calls for order id on each destination
// against what it would hold of it (the copied sync state, then what the
// records before it would leave), and records them on rec.
func previewOrder(ctx context.Context, snap *store.DB, id string, planners []orderPlanner, held map[string]json.RawMessage, rec *planRecord) error {
	o, err := snap.FindOrderByID(ctx, id)
	if err != nil {
		return err
	}
	var c *synclayer.Contact
	if o.ContactID != "" {
		if c, err = snap.FindContactByID(ctx, o.ContactID); err != nil {
			return err
		}
	}
	rec.Status, rec.ContactID = "planned", o.ContactID
	var reasons []string
	for _, p := range planners {
		key := p.name + "/" + id
		prev, ok := held[key]
		if !ok {
			st, err := snap.FindSyncState(ctx, synclayer.OrderStateKey(id), p.name)
			switch {
			case err == nil:
				prev = st.State
			case synclayer.ErrorCode(err) != synclayer.ENOTFOUND:
				return err
			}
		}
		plan, err := p.sync.Plan(o, c, prev)
		if err != nil {
			return err
		}
		if plan.Reason != "" {
			reasons = append(reasons, plan.Reason)
		}
		for _, call := range plan.Calls {
			if len(planners) > 1 {
				call.Destination = p.name
			}
			rec.Calls = append(rec.Calls, call)
		}
		if plan.Next != nil {
			held[key] = plan.Next
		}
	}
	rec.Reason = strings.Join(reasons, "; ")
	return nil
}

// parseSample reads one sample as the custom source would, filling rec's
// event, and its status when it is rejected or skipped (then ev is nil).
func parseSample(s sample, source string, orders bool, now time.Time, rec *planRecord) (*synclayer.Event, error) {
	var head struct {
		Event string `json:"event"`
	}
	_ = json.Unmarshal(s.body, &head)
	rec.Event = head.Event
	if strings.HasPrefix(head.Event, "order_") && !orders {
		rec.Status, rec.Reason = "skipped", head.Event+": order-events is not enabled for source "+source+" in this config"
		return nil, nil
	}
	ev, err := custom.ParseEvent(s.body, now)
	if err != nil {
		rec.Status, rec.Reason = "rejected", synclayer.ErrorMessage(err)
		return nil, err
	}
	ev.Source, ev.DedupeKey = source, "plan:"+s.name
	return ev, nil
}

// previewRecord plans the delivery of rec's contact on each destination
// against what it would hold, and records the result as held for the
// records after it. With several destinations, each call names its
// destination and each change is prefixed with it.
func previewRecord(ctx context.Context, snap *store.DB, sks []*skill.CustomerSync, held map[string]*synclayer.SyncState, rec *planRecord) error {
	c, err := snap.FindContactByID(ctx, rec.ContactID)
	if err != nil {
		return err
	}
	var reasons []string
	rec.Calls, rec.Changes = []synclayer.PlannedCall{}, []skill.Change{}
	for _, sk := range sks {
		key := sk.Destination + "/" + c.ID
		st, ok := held[key]
		if !ok {
			st, err = snap.FindSyncState(ctx, c.ID, sk.Destination)
			if synclayer.ErrorCode(err) == synclayer.ENOTFOUND {
				st, err = nil, nil
			}
			if err != nil {
				return err
			}
		}
		p, err := sk.Preview(c, st)
		var perm *synclayer.PermanentError
		if errors.As(err, &perm) {
			rec.Status, rec.Reason = "failed", "the delivery would be dead-lettered: "+err.Error()
			if len(sks) > 1 {
				rec.Reason = sk.Destination + ": " + rec.Reason
			}
			return nil
		}
		if err != nil {
			return err
		}
		for _, call := range p.Calls {
			if len(sks) > 1 {
				call.Destination = sk.Destination
			}
			rec.Calls = append(rec.Calls, call)
		}
		for _, ch := range p.Changes {
			if len(sks) > 1 {
				ch.Field = sk.Destination + "." + ch.Field
			}
			rec.Changes = append(rec.Changes, ch)
		}
		if p.Reason != "" {
			reasons = append(reasons, map[bool]string{true: sk.Destination + ": ", false: ""}[len(sks) > 1]+p.Reason)
		}
		held[key] = p.Next
	}
	rec.Status, rec.Reason = "planned", strings.Join(reasons, "; ")
	return nil
}

// print writes the plan for a reader: per record, the calls with their
// bodies and the field-level changes.
func (r *planReport) print(w io.Writer) error {
	env := ""
	if r.Environment != "" {
		env = " (environment " + r.Environment + ")"
	}
	fmt.Fprintf(w, "Dry run of %s%s, samples as source %s, against %s. Nothing live was touched.\n", r.Config, env, r.Source, r.State)
	for _, rec := range r.Records {
		fmt.Fprintf(w, "\n%s  %s", rec.File, orDash(rec.Event))
		if rec.ContactID != "" {
			fmt.Fprintf(w, " → contact %s", rec.ContactID)
		}
		fmt.Fprintln(w)
		switch {
		case rec.Status != "planned":
			fmt.Fprintf(w, "  %s: %s\n", rec.Status, rec.Reason)
			continue
		case len(rec.Calls) == 0:
			fmt.Fprintf(w, "  no call: %s\n", rec.Reason)
		}
		for _, c := range rec.Calls {
			body := ""
			if c.Body != nil {
				b, _ := json.Marshal(c.Body)
				body = " " + string(b)
			}
			to := ""
			if c.Destination != "" {
				to = c.Destination + ": "
			}
			fmt.Fprintf(w, "  %s%s %s%s\n", to, c.Method, c.Path, body)
		}
		for _, ch := range rec.Changes {
			fmt.Fprintf(w, "    %s: %s → %s\n", ch.Field, ch.Before, ch.After)
		}
	}
	return nil
}
