package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"time"

	"synclayer"
	"synclayer/backfill"
	"synclayer/ingest"
	"synclayer/notify"
	"synclayer/skill"
)

// listKindOf is the kind of record each batch skill backfills from a
// source's API.
var listKindOf = map[string]string{
	skill.CustomerSyncName:   synclayer.ListCustomers,
	skill.OrderEventsName:    synclayer.ListOrders,
	skill.ProductCatalogName: synclayer.ListProducts,
}

// backfillFrom is `backfill SKILL --from SOURCE`: every record of the
// skill's kind that the source's API lists, page by page from the start,
// goes through the ingest pipeline with the checkpoint saved after each
// page, then the batch push and the batch_completed summary as for a
// file. A killed run, started again, resumes after its last committed
// page; a finished one's checkpoint is kept, marked finished, and a later
// run lists everything again, since it is run to pick up what is new
// (what is unchanged is skipped as a duplicate).
func backfillFrom(ctx context.Context, cfg *Config, name, from string, noPush, restart bool, stdout, stderr io.Writer) error {
	kind := listKindOf[name]
	lister, err := openLister(cfg, name, from, kind)
	if err != nil {
		return err
	}
	db, paths, err := openBackfill(ctx, cfg, noPush)
	if err != nil {
		return err
	}
	defer db.Close()

	started := time.Now().UTC()
	var prog *progress
	done := 0
	loader := &backfill.APILoader{Store: db, Ingester: ingest.New(batchIngestConfig(cfg, db, from)), Lister: lister, Source: from,
		Kinds: []string{kind}, Checkpoint: "backfill:" + name + ":api:" + from, Restart: restart,
		Progress: func(kind string, c backfill.Counts, n, total int) {
			if prog == nil {
				prog = newProgress(stderr, "listing "+kind+" from "+from, int64(total))
			}
			done = n
			of := ""
			if total >= 0 {
				of = fmt.Sprintf(" of %d", total)
			}
			prog.update(int64(n), fmt.Sprintf("read %d%s, written %d, skipped %d, failed %d", n, of, c.Written, c.Skipped, c.Failed))
		},
		Waiting: func(kind string, d time.Duration, err error) {
			why := "rate limited"
			var ra *synclayer.RetryAfterError
			if !errors.As(err, &ra) || !ra.Throttled {
				why = "failed (" + err.Error() + ")"
			}
			note := fmt.Sprintf("the %s API %s; asking again in %s", from, why, d.Round(time.Millisecond))
			if prog != nil {
				prog.update(int64(done), note)
			} else if why != "rate limited" {
				fmt.Fprintln(stderr, note)
			}
		}}
	loader.Started = func(r backfill.APIResume) {
		switch {
		case r.Pages > 0:
			fmt.Fprintf(stderr, "resuming after page %d of %s (%d records), where an earlier run stopped\n", r.Pages, r.Kind, r.Read)
		case !r.Finished.IsZero():
			fmt.Fprintf(stderr, "an earlier backfill from %s finished at %s; listing every record again to pick up what is new (what was loaded already is skipped)\n",
				from, r.Finished.Format(time.RFC3339))
		}
	}
	counts, resume, err := loader.Load(ctx)
	if prog != nil {
		prog.done()
	}
	elapsed := time.Since(started)
	var perm *synclayer.PermanentError
	switch {
	case errors.As(err, &perm):
		return fmt.Errorf("backfill stopped after %d records (%w); fix that, then run the same command again to resume", counts.Read, err)
	case err != nil:
		return fmt.Errorf("backfill stopped after %d records (%w); run the same command again to resume", counts.Read, err)
	}
	read := counts.Read - resume.Read
	fmt.Fprintf(stdout, "listed %d %s from %s in %s (%.0f records/s)", read, kind, from, elapsed.Round(100*time.Millisecond), float64(read)/max(elapsed.Seconds(), 0.001))
	if resume.Read > 0 {
		fmt.Fprintf(stdout, ", %d in all with the earlier run's", counts.Read)
	}
	fmt.Fprintln(stdout)
	data := notify.BatchData{Run: "backfill", Skill: name, Source: from, StartedAt: started}
	return pushAndReport(ctx, cfg, db, paths, noPush, stdout, stderr, loader.Checkpoint, data, counts)
}

// openLister opens source from as the Lister of kind for skill name,
// with errors that say what to configure: a source that is not
// configured, that the skill does not take events from, or whose block
// has no API settings.
func openLister(cfg *Config, name, from, kind string) (synclayer.Lister, error) {
	sc, ok := cfg.Sources[from]
	if !ok || sc == nil {
		return nil, fmt.Errorf("--from %s: no source of that name is configured; the sources are %s", from, strings.Join(sortedNames(cfg.Sources), ", "))
	}
	if skillSources := skillSourcesOf(cfg, name); !slices.Contains(skillSources, from) {
		return nil, fmt.Errorf("--from %s: %s takes its events from %s (skills.%s.source), not from %s; add it there to backfill it",
			from, name, strings.Join(skillSources, ", "), name, from)
	}
	src, err := cfg.openSource(from, nil)
	if err != nil {
		return nil, fmt.Errorf("--from %s: %w", from, err)
	}
	typ := sc.typeOf(from)
	l, ok := src.(synclayer.Lister)
	switch {
	case ok && slices.Contains(l.ListKinds(), kind):
		return l, nil
	case ok && len(l.ListKinds()) > 0:
		return nil, fmt.Errorf("--from %s: the %s API lists %s, not %s", from, typ, strings.Join(l.ListKinds(), ", "), kind)
	case ok:
		// Configured without its API: the package's own refusal says
		// which settings to add (Shopify's admin:, Magento's api_url).
		if _, err := l.List(context.Background(), synclayer.ListRequest{Kind: kind, Limit: 1}); err != nil {
			if fe := (*synclayer.Error)(nil); errors.As(err, &fe) && fe.Field != "" {
				return nil, fmt.Errorf("--from %s: the source has no API to list from: sources.%s.%s: %s", from, from, fe.Field, fe.Message)
			}
			return nil, fmt.Errorf("--from %s: the source has no API to list from: %w", from, err)
		}
		return nil, fmt.Errorf("--from %s: the source has no API to list from; see the README's %s section for the settings it needs", from, typ)
	}
	return nil, fmt.Errorf("--from %s: synclayer does not list %s sources through their API; backfill from an export with --file instead", from, typ)
}

// skillSourcesOf is skills.<name>.source.
func skillSourcesOf(cfg *Config, name string) []string {
	if name == skill.CustomerSyncName {
		if cs := cfg.Skills.CustomerSync; cs != nil {
			return cs.Source
		}
		return nil
	}
	for _, s := range cfg.commerceSkills() {
		if s.name == name && s.cfg != nil {
			return s.cfg.Source
		}
	}
	return nil
}
