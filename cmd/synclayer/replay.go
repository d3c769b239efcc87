package main

import (
	"cmp"
	"context"
	"flag"
	"fmt"
	"io"
	"slices"
	"strings"
	"time"

	"synclayer"
	"synclayer/api"
	"synclayer/skill"
	"synclayer/store"
)

// replayEvents queues a customer-sync delivery, on each of cs's
// destinations, for every contact the stored customer events req selects
// touched, or with DryRun only counts them. Delivery plans from the
// canonical contact as it is now, against what the destination last
// received: consent holds, and a contact it holds unchanged is skipped.
// Events refused at ingest touched no contact and are only counted.
func replayEvents(ctx context.Context, db *store.DB, cfg *Config, cs *CustomerSyncConfig, req synclayer.ReplayRequest, now time.Time) (*synclayer.ReplayResult, error) {
	name := cmp.Or(req.Skill, skill.CustomerSyncName)
	switch {
	case name != skill.CustomerSyncName && slices.Contains(batchSkills, name):
		return nil, synclayer.FieldErrorf("skill", "replay re-runs customer events, for customer-sync; to push %s's whole state again, run synclayer resync %s", name, name)
	case name != skill.CustomerSyncName:
		return nil, synclayer.FieldErrorf("skill", "unknown skill %q; replay runs customer-sync", name)
	case cs == nil || !cs.Enabled:
		return nil, synclayer.Errorf(synclayer.ECONFLICT, "customer-sync is disabled; enable it, then replay")
	}
	sources := append([]string{"manual"}, cs.Source...)
	if req.Source != "" {
		if !slices.Contains(sources, req.Source) {
			return nil, synclayer.FieldErrorf("source", "customer-sync does not take %q; it takes %s", req.Source, strings.Join(sources, ", "))
		}
		sources = []string{req.Source}
	}
	f := synclayer.ReplayFilter{Since: req.Since, Until: req.Until, Sources: sources}
	res := &synclayer.ReplayResult{Skill: name, Since: req.Since.UTC(), Until: req.Until.UTC(), Source: req.Source, DryRun: req.DryRun, Destinations: []string{}}
	var err error
	if res.Events, res.Failed, res.Contacts, err = db.CountReplay(ctx, f); err != nil {
		return nil, err
	}
	for _, t := range cfg.targets(cs) {
		res.Destinations = append(res.Destinations, t.name)
		if req.DryRun || res.Contacts == 0 {
			continue
		}
		n, err := db.EnqueueReplay(ctx, f, contactQueue(t.name), t.name, now)
		if err != nil {
			return res, err
		}
		res.Jobs += n
	}
	return res, nil
}

// replayer is the admin API's Replayer: it replays with customer-sync as
// it runs now, and wakes the workers.
type replayer struct{ m *Main }

var _ api.Replayer = replayer{}

func (r replayer) Replay(ctx context.Context, req synclayer.ReplayRequest) (*synclayer.ReplayResult, error) {
	r.m.skills.mu.RLock()
	cs := r.m.skills.cfg
	r.m.skills.mu.RUnlock()
	res, err := replayEvents(ctx, r.m.DB, r.m.Config, cs, req, time.Now())
	if err == nil && res.Jobs > 0 {
		r.m.Logger.Info("replay queued", "skill", res.Skill, "since", res.Since, "until", res.Until, "source", res.Source,
			"events", res.Events, "contacts", res.Contacts, "jobs", res.Jobs)
		r.m.wake("")
	}
	return res, err
}

// cmdReplay is synclayer replay: it queues the deliveries in the shared
// store, for a running server's workers to make.
func cmdReplay(ctx context.Context, args []string, stdout io.Writer) error {
	var since, until, skillName, source string
	var dryRun bool
	fs, src, pos, err := parseFlags("replay", args, func(fs *flag.FlagSet) {
		fs.StringVar(&since, "since", "", "replay events received from `TIME`: RFC 3339 (2026-11-20T10:00:00Z) or a duration ago (24h, 7d); required")
		fs.StringVar(&until, "until", "", "and before `TIME`, in the same forms (default now)")
		fs.StringVar(&skillName, "skill", skill.CustomerSyncName, "the `SKILL` to replay for")
		fs.StringVar(&source, "source", "", "only the events of source `NAME` (default every source the skill takes)")
		fs.BoolVar(&dryRun, "dry-run", false, "count what would be replayed; queue nothing")
	})
	if err != nil {
		return err
	}
	if err := wantArgs(fs, pos); err != nil {
		return err
	}
	now := time.Now()
	req := synclayer.ReplayRequest{Skill: skillName, Source: source, DryRun: dryRun, Until: now}
	if since == "" {
		return usageErrorf(fs, "--since is required: an RFC 3339 time or a duration ago, e.g. --since 24h")
	}
	if req.Since, err = synclayer.ParseTimeAgo("--since", since, now); err != nil {
		return usageErrorf(fs, "%v", err)
	}
	if until != "" {
		if req.Until, err = synclayer.ParseTimeAgo("--until", until, now); err != nil {
			return usageErrorf(fs, "%v", err)
		}
	}
	if !req.Since.Before(req.Until) {
		return usageErrorf(fs, "--until must be after --since")
	}
	cfg, err := src.load()
	if err != nil {
		return err
	}
	db, err := store.Open(ctx, cfg.Storage.Driver, cfg.Storage.DSN)
	if err != nil {
		return err
	}
	defer db.Close()
	res, err := replayEvents(ctx, db, cfg, cfg.Skills.CustomerSync, req, now)
	if err != nil {
		return err
	}
	return printReplay(stdout, res)
}

func printReplay(w io.Writer, res *synclayer.ReplayResult) error {
	from := "every source"
	if res.Source != "" {
		from = res.Source
	}
	fmt.Fprintf(w, "%s: %d events from %s received %s to %s, touching %d contacts", res.Skill, res.Events, from,
		res.Since.Format(time.RFC3339), res.Until.Format(time.RFC3339), res.Contacts)
	if res.Failed > 0 {
		fmt.Fprintf(w, " (%d refused at ingest, with no contact to deliver)", res.Failed)
	}
	fmt.Fprintln(w)
	dests := strings.Join(res.Destinations, ", ")
	var err error
	switch {
	case res.DryRun:
		_, err = fmt.Fprintf(w, "dry run: would queue %d deliveries on %s; nothing was queued\n", res.Contacts*len(res.Destinations), dests)
	case res.Contacts == 0:
		_, err = fmt.Fprintln(w, "nothing to replay")
	default:
		_, err = fmt.Fprintf(w, "queued %d deliveries on %s; a running server makes them, skipping contacts a destination holds unchanged\n", res.Jobs, dests)
	}
	return err
}
