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
	fs, src, pos, err := parseFlags("dlq "+sub, args, func(fs *flag.FlagSet) {
		if sub == "retry" {
			fs.BoolVar(&all, "all", false, "retry every dead-lettered delivery")
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
		fmt.Fprintln(tw, "ID\tSKILL\tRECORD\tATTEMPTS\tFAILED AT\tREASON")
		for _, j := range jobs {
			fmt.Fprintf(tw, "%d\t%s\t%s\t%d\t%s\t%s\n", j.ID, j.Skill, j.RecordKey, j.Attempts, j.UpdatedAt.Format(time.RFC3339), j.LastError)
		}
		return tw.Flush()
	}
	return dlqRetry(ctx, db, all, ids, stdout)
}

// dlqRetry requeues the jobs ids, or with all every dead-lettered job. An
// empty queue with all is not a failure: a script retrying everything
// after an outage has nothing to do.
func dlqRetry(ctx context.Context, db *store.DB, all bool, ids []int64, stdout io.Writer) error {
	if all {
		jobs, err := db.FindJobs(ctx, synclayer.JobFilter{State: synclayer.JobDead, Limit: 1000})
		if err != nil {
			return err
		}
		if len(jobs) == 0 {
			_, err := fmt.Fprintln(stdout, "nothing to retry: the dead-letter queue is empty")
			return err
		}
		for _, j := range jobs {
			ids = append(ids, j.ID)
		}
	}
	for _, id := range ids {
		if err := db.RequeueDeadJob(ctx, id, time.Now()); err != nil {
			return err
		}
		fmt.Fprintf(stdout, "job %d requeued\n", id)
	}
	return nil
}
