package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"time"

	"github.com/oklog/ulid/v2"

	"synclayer"
	"synclayer/api"
	"synclayer/ingest"
	"synclayer/skill"
	"synclayer/source/custom"
	"synclayer/store"
)

// cmdTrigger pushes one event, in the custom source's format, through the
// same validation and pipeline as a webhook. A running server picks the
// delivery up from the shared store.
func cmdTrigger(ctx context.Context, args []string, stdout io.Writer) error {
	var event, data string
	fs, src, pos, err := parseFlags("trigger", args, func(fs *flag.FlagSet) {
		fs.StringVar(&event, "event", "", "the `EVENT` name, e.g. customer_updated")
		fs.StringVar(&data, "data", "", "the event's fields as `JSON`, e.g. '{\"email\":\"ada@example.com\"}'")
	})
	if err != nil {
		return err
	}
	name, err := skillArg(fs, pos, []string{skill.CustomerSyncName})
	if err != nil {
		return err
	}
	switch {
	case event == "":
		return usageErrorf(fs, "--event is required: the event's name, e.g. --event customer_updated")
	case data == "":
		return usageErrorf(fs, `--data is required: the event's fields as JSON, e.g. --data '{"email":"ada@example.com"}'`)
	case !json.Valid([]byte(data)):
		return usageErrorf(fs, `--data is not valid JSON; quote it for the shell, e.g. --data '{"email":"ada@example.com"}'`)
	}
	cfg, err := src.load()
	if err != nil {
		return err
	}
	cs := cfg.Skills.CustomerSync
	if cs == nil || !cs.Enabled {
		return fmt.Errorf("skill %s is not enabled in the config (skills.%s.enabled)", name, name)
	}
	db, err := store.Open(ctx, cfg.Storage.Driver, cfg.Storage.DSN)
	if err != nil {
		return err
	}
	defer db.Close()
	icfg := ingest.Config{Store: db, ConsentSources: cfg.consentSources(cs), FieldOwners: cfg.fieldOwners(), DefaultRegion: cs.Options.DefaultRegion,
		CustomerStageOnFirstOrder: cfg.customerStageOnFirstOrder()}
	for _, t := range cfg.targets(cs) {
		icfg.Routes = append(icfg.Routes, ingest.Route{Skill: contactQueue(t.name), Destination: t.name, Sources: []string{"manual"}})
	}
	in := ingest.New(icfg)
	res, err := Trigger(ctx, in, event, json.RawMessage(data), time.Now())
	if err != nil {
		return err
	}
	return jsonEncode(stdout, res)
}

// Trigger runs a manual event through the pipeline as source "manual". The
// trigger command, the admin API and the tests all come through here.
func Trigger(ctx context.Context, in api.Ingester, event string, data json.RawMessage, now time.Time) (ingest.Result, error) {
	if !json.Valid(data) {
		return ingest.Result{}, synclayer.FieldErrorf("data", "is not valid JSON")
	}
	body, _ := json.Marshal(map[string]any{"event": event, "timestamp": now.UTC().Format(time.RFC3339Nano), "data": data})
	ev, err := custom.ParseEvent(body, now)
	if err != nil {
		return ingest.Result{}, err
	}
	ev.Source, ev.Topic, ev.DedupeKey = "manual", event, "manual_"+ulid.Make().String()
	res, err := in.Ingest(ctx, []*synclayer.Event{ev})
	if err != nil {
		return ingest.Result{}, err
	}
	return res[0], nil
}
