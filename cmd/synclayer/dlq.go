package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"strconv"
	"text/tabwriter"
	"time"

	"synclayer"
	"synclayer/store"
)

func cmdDLQ(ctx context.Context, args []string, stdout io.Writer) error {
	if len(args) == 0 {
		return errors.New("usage: synclayer dlq list|retry [ID...|--all] [--config FILE]")
	}
	var all bool
	_, src, ids, err := parseFlags("dlq "+args[0], args[1:], func(fs *flag.FlagSet) {
		fs.BoolVar(&all, "all", false, "retry every dead-lettered job")
	})
	if err != nil {
		return err
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
	switch args[0] {
	case "list":
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
	case "retry":
		var targets []int64
		if all {
			jobs, err := db.FindJobs(ctx, synclayer.JobFilter{State: synclayer.JobDead, Limit: 1000})
			if err != nil {
				return err
			}
			for _, j := range jobs {
				targets = append(targets, j.ID)
			}
		}
		for _, s := range ids {
			id, err := strconv.ParseInt(s, 10, 64)
			if err != nil {
				return fmt.Errorf("dlq retry: %q is not a job ID", s)
			}
			targets = append(targets, id)
		}
		if len(targets) == 0 {
			return errors.New("dlq retry: give job IDs (see synclayer dlq list) or --all")
		}
		for _, id := range targets {
			if err := db.RequeueDeadJob(ctx, id, time.Now()); err != nil {
				return err
			}
			fmt.Fprintf(stdout, "job %d requeued\n", id)
		}
		return nil
	}
	return fmt.Errorf("unknown dlq command %q; use list or retry", args[0])
}
