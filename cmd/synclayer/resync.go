package main

import (
	"context"
	"fmt"
	"io"
	"time"

	"synclayer"
	"synclayer/destination/slack"
	"synclayer/destination/webhook"
	"synclayer/notify"
	"synclayer/skill"
	"synclayer/store"
)

// resyncKinds is the record kind each skill's resync enqueues.
var resyncKinds = map[string]string{
	skill.CustomerSyncName:   "contacts",
	skill.OrderEventsName:    "orders",
	skill.ProductCatalogName: "products",
}

// cmdResync pushes a skill's whole canonical state to Brevo through the
// batch path: every record is queued on the skill's batch queue, planned
// against what Brevo last received, and sent in batches (so a record Brevo
// holds as it is costs nothing). An interrupted resync, started again,
// finishes the queue it left instead of queueing everything again.
func cmdResync(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs, src, pos, err := parseFlags("resync", args, nil)
	if err != nil {
		return err
	}
	name, err := skillArg(fs, pos, batchSkills)
	if err != nil {
		return err
	}
	cfg, err := src.load()
	if err != nil {
		return err
	}
	if err := enabledSkill(cfg, name); err != nil {
		return err
	}
	db, err := store.Open(ctx, cfg.Storage.Driver, cfg.Storage.DSN)
	if err != nil {
		return err
	}
	defer db.Close()
	paths, err := pushers(cfg, db, true)
	if err != nil {
		return err
	}
	started := time.Now().UTC()
	cpName := "resync:" + name
	cp, err := db.FindCheckpoint(ctx, cpName)
	switch {
	case err == nil:
		fmt.Fprintf(stderr, "resuming the resync started %s: %d records were queued\n", cp.UpdatedAt.Format(time.RFC3339), cp.Position)
	case synclayer.ErrorCode(err) == synclayer.ENOTFOUND:
		n, err := enqueueResync(ctx, cfg, db, name)
		if err != nil {
			return err
		}
		cp = &synclayer.Checkpoint{Name: cpName, Position: int64(n), UpdatedAt: time.Now()}
		if err := db.SaveCheckpoint(ctx, cp); err != nil {
			return err
		}
	default:
		return err
	}
	pushed, err := push(ctx, db, paths, stderr)
	if err != nil {
		return fmt.Errorf("resync stopped (%w); run the same command again to finish it", err)
	}
	data := notify.BatchData{Run: "resync", Skill: name, StartedAt: started, Read: int(cp.Position), Written: pushed.Batched + pushed.Realtime,
		Skipped: pushed.Unchanged, Failed: pushed.Failed}
	for _, r := range pushed.Reasons {
		data.Failures = append(data.Failures, notify.BatchFailure{Reason: r})
	}
	finishRun(ctx, cfg, db, stdout, stderr, cpName, data, pushed, false)
	return db.DeleteCheckpoint(ctx, cpName)
}

// deliverNotifications sends the queued notifications once, as the
// server's notify worker would; what fails stays queued with its retry
// time for a running server.
func deliverNotifications(ctx context.Context, cfg *Config, db *store.DB) error {
	n := cfg.Notifications
	senders := map[synclayer.NotificationChannel]synclayer.NotificationSender{}
	if n.WebhookURL != "" {
		c, err := webhook.New(webhook.Config{URL: n.WebhookURL, Secret: n.Secret})
		if err != nil {
			return fmt.Errorf("notifications.secret: %w", err)
		}
		senders[synclayer.ChannelWebhook] = c
	}
	if n.SlackWebhookURL != "" {
		senders[synclayer.ChannelSlack] = &slack.Client{URL: n.SlackWebhookURL}
	}
	h := &notify.Handler{Store: db, Senders: senders}
	jobs, err := db.ClaimJobs(ctx, synclayer.NotifySkill, 20, time.Minute, time.Now())
	if err != nil {
		return err
	}
	var first error
	for _, j := range jobs {
		sctx, cancel := context.WithTimeout(ctx, 20*time.Second)
		_, _, err := h.Handle(sctx, j)
		cancel()
		if err == nil {
			err = db.CompleteJob(ctx, j, nil, nil, time.Now())
		} else {
			_ = db.RetryJob(ctx, j, time.Now().Add(30*time.Second), err.Error(), nil, time.Now())
		}
		if err != nil && first == nil {
			first = err
		}
	}
	return first
}

// enqueueResync queues every record of the skill's kind once per
// destination: on brevo and on a destination that batches into the batch
// queue, which this command drains; on the others into the realtime queue,
// which a running server delivers. It returns the records queued.
func enqueueResync(ctx context.Context, cfg *Config, db *store.DB, name string) (int, error) {
	var targets []string
	if name == skill.CustomerSyncName {
		for _, t := range cfg.targets(cfg.Skills.CustomerSync) {
			targets = append(targets, t.name)
		}
	} else {
		for _, s := range cfg.commerceSkills() {
			if s.name == name {
				for _, t := range s.targets() {
					targets = append(targets, t.name)
				}
			}
		}
	}
	batching := cfg.batchQueues()
	n := 0
	for _, d := range targets {
		q := synclayer.Queue(name, d)
		if batching[q] {
			q = synclayer.BatchQueue(q)
		}
		k, err := db.EnqueueAll(ctx, resyncKinds[name], q, d, time.Now())
		if err != nil {
			return n, err
		}
		n = max(n, k)
	}
	return n, nil
}
