package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"strconv"
	"text/tabwriter"
	"time"

	"synclayer"
	"synclayer/store"
)

// cmdDLQ lists dead-lettered jobs and puts them back in the queue. It
// works beside a running server, whose workers claim a requeued job from
// the shared store.
func cmdDLQ(ctx context.Context, args []string, stdout io.Writer) error {
	sub, args, err := subcommand("dlq", args)
	if err != nil {
		return err
	}
	var all bool
	var skill string
	fs, src, pos, err := parseFlags("dlq "+sub, args, func(fs *flag.FlagSet) {
		if sub == "retry" {
			fs.BoolVar(&all, "all", false, "retry every dead-lettered delivery, however many")
			fs.StringVar(&skill, "skill", "", "with --all, only the deliveries of `SKILL` as dlq list shows it (customer-sync, customer-sync@klaviyo)")
		}
	})
	if err != nil {
		return err
	}
	var ids []int64
	switch {
	case sub == "list":
		if err := wantArgs(fs, pos); err != nil {
			return err
		}
	case all && len(pos) > 0:
		return usageErrorf(fs, "give job IDs or --all, not both")
	case !all && len(pos) == 0:
		return usageErrorf(fs, "give the IDs of the jobs to retry (see synclayer dlq list), or --all for every one")
	case !all && skill != "":
		return usageErrorf(fs, "--skill goes with --all")
	}
	for _, s := range pos {
		id, err := strconv.ParseInt(s, 10, 64)
		if err != nil {
			return usageErrorf(fs, "%q is not a job ID; see synclayer dlq list", s)
		}
		ids = append(ids, id)
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
	if sub == "list" {
		jobs, err := db.FindJobs(ctx, synclayer.JobFilter{State: synclayer.JobDead, Limit: 1000})
		if err != nil {
			return err
		}
		tw := tabwriter.NewWriter(stdout, 2, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "ID\tQUEUE\tRECORD\tATTEMPTS\tFAILED AT\tREASON")
		for _, j := range jobs {
			fmt.Fprintf(tw, "%d\t%s\t%s\t%d\t%s\t%s\n", j.ID, j.Queue, j.RecordKey, j.Attempts, j.UpdatedAt.Format(time.RFC3339), j.LastError)
		}
		return tw.Flush()
	}
	return dlqRetry(ctx, db, all, skill, ids, stdout)
}

// dlqRetry requeues the jobs ids, or with all every dead-lettered job (of
// skill, when given), page by page however many there are. An empty queue
// with all is not a failure: a script retrying everything after an outage
// has nothing to do.
func dlqRetry(ctx context.Context, db *store.DB, all bool, skill string, ids []int64, stdout io.Writer) error {
	if all {
		n, err := db.RequeueDeadJobs(ctx, skill, time.Now())
		if err != nil && n > 0 {
			return fmt.Errorf("%d jobs were requeued, then: %w; run the same command again for the rest", n, err)
		}
		if err != nil {
			return err
		}
		if n == 0 {
			_, err := fmt.Fprintln(stdout, "nothing to retry: the dead-letter queue is empty")
			return err
		}
		_, err = fmt.Fprintf(stdout, "%d dead-lettered jobs requeued\n", n)
		return err
	}
	for _, id := range ids {
		if err := db.RequeueDeadJob(ctx, id, time.Now()); err != nil {
			return err
		}
		fmt.Fprintf(stdout, "job %d requeued\n", id)
	}
	return nil
}
