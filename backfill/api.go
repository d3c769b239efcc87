package backfill

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"synclayer"
)

// APILoader lists every record of some kinds through a source's API
// (synclayer.Lister) and ingests them page by page, saving its checkpoint
// after each page, so a killed run resumes at the page after the last one
// committed. A page read twice (the run was killed between its commit and
// its checkpoint) is harmless: its events' dedupe keys make them
// duplicates.
type APILoader struct {
	Store    synclayer.Store
	Ingester Ingester
	Lister   synclayer.Lister
	// Source is the configured source's name, which the events carry as a
	// webhook delivery's do (and which their dedupe keys are scoped by).
	Source string
	Kinds  []string
	// Checkpoint names the run's checkpoint. An unfinished one resumes
	// after its last page; a finished one starts the listing over, since
	// a later backfill is run to pick up what is new. Restart ignores it.
	Checkpoint string
	Restart    bool
	Limit      int // records a page; 0 is the source's default
	// RetryWait is the first wait after an error that is neither a rate
	// limit nor permanent (a 500, a timeout), doubled for each of the
	// three tries; default 1 s.
	RetryWait time.Duration
	// Progress, when set, hears the counts after each page, with the
	// records read of kind so far and its total (-1 when the API does not
	// say).
	Progress func(kind string, c Counts, done, total int)
	// Started, when set, hears where the run starts, once the checkpoint
	// is read and before the first page is asked.
	Started func(APIResume)
	// Waiting, when set, hears each wait before a page is asked again:
	// how long and the error that made it.
	Waiting func(kind string, d time.Duration, err error)
}

// APIResume says where a run started.
type APIResume struct {
	// Pages is how many pages an earlier run committed (0: a fresh run).
	Pages int
	Kind  string // the kind it resumed in
	Read  int    // records the earlier runs read
	// Finished is when an earlier run finished the listing, when its
	// checkpoint said so (the run then started over).
	Finished time.Time
}

// apiCheckpoint is an APILoader's checkpoint detail.
type apiCheckpoint struct {
	Kind   int    `json:"kind"`   // index in Kinds of the kind being listed
	Name   string `json:"name"`   // that kind, to check Kinds did not change
	Cursor string `json:"cursor"` // the Next of the last page committed
	Done   int    `json:"done"`   // records of that kind read so far
	Total  int    `json:"total"`  // its total, from its first page; -1 unknown
	Pages  int    `json:"pages"`
	Counts Counts `json:"counts"`
	// Finished is set once every kind was listed.
	Finished time.Time `json:"finished,omitzero"`
}

// maxRetries is how many times a page that failed with a transient
// error is asked again before the run stops, and maxRetryWait the longest
// such an error may ask to wait: a longer one (a frozen Shopify shop's
// hour) stops the run at once, for its operator to run again later.
const (
	maxRetries   = 3
	maxRetryWait = time.Minute
)

// Load lists each kind to its end, from the checkpoint when an
// unfinished one is stored, and marks the checkpoint finished. It returns
// the counts (a resumed run's cover the whole listing) and where it
// started. A permanent error of the source's (a refused token), a
// storage error, a transient error that lasted, or ctx's end stops it;
// the checkpoint says where it got to.
func (l *APILoader) Load(ctx context.Context) (Counts, APIResume, error) {
	var (
		cp     apiCheckpoint
		resume APIResume
	)
	stored, err := l.Store.FindCheckpoint(ctx, l.Checkpoint)
	switch {
	case err != nil && synclayer.ErrorCode(err) != synclayer.ENOTFOUND:
		return Counts{}, resume, err
	case err == nil && !l.Restart:
		var old apiCheckpoint
		if err := json.Unmarshal(stored.Detail, &old); err != nil {
			return Counts{}, resume, fmt.Errorf("read checkpoint %s: %w; start again with --restart", l.Checkpoint, err)
		}
		switch {
		case !old.Finished.IsZero():
			resume.Finished = old.Finished
		case old.Kind > len(l.Kinds) || old.Kind < len(l.Kinds) && l.Kinds[old.Kind] != old.Name:
			return Counts{}, resume, synclayer.Errorf(synclayer.EINVALID,
				"checkpoint %s continues a listing of %s, which this run does not list; start again with --restart", l.Checkpoint, old.Name)
		default:
			cp = old
			resume.Pages, resume.Kind, resume.Read = old.Pages, old.Name, old.Counts.Read
		}
	}
	if l.Started != nil {
		l.Started(resume)
	}
	if cp.Pages == 0 {
		cp = apiCheckpoint{Total: -1}
		if len(l.Kinds) > 0 {
			cp.Name = l.Kinds[0]
		}
	}
	for cp.Kind < len(l.Kinds) {
		if err := l.listKind(ctx, &cp); err != nil {
			return cp.Counts, resume, err
		}
	}
	cp.Finished = time.Now().UTC()
	if err := l.save(ctx, &cp); err != nil {
		return cp.Counts, resume, err
	}
	return cp.Counts, resume, nil
}

// listKind reads cp's kind from its cursor to its end, and moves cp on
// to the next kind.
func (l *APILoader) listKind(ctx context.Context, cp *apiCheckpoint) error {
	kind := l.Kinds[cp.Kind]
	for {
		page, err := l.page(ctx, synclayer.ListRequest{Kind: kind, Cursor: cp.Cursor, Limit: l.Limit})
		if err != nil {
			return fmt.Errorf("list %s from %s: %w", kind, l.Source, err)
		}
		if cp.Cursor == "" && page.Total >= 0 {
			// The first page's total is the listing's: a later page's
			// may count only what is left (Magento's total_count).
			cp.Total = page.Total
		}
		for _, f := range page.Failed {
			cp.Counts.Read++
			cp.Counts.fail(0, synclayer.ErrorMessage(f))
		}
		for _, ev := range page.Events {
			ev.Source = l.Source
		}
		if len(page.Events) > 0 {
			res, err := l.Ingester.Ingest(ctx, page.Events)
			if err != nil {
				return fmt.Errorf("ingest page %d of %s: %w", cp.Pages+1, kind, err)
			}
			cp.Counts.Read += len(page.Events)
			for _, r := range res {
				switch r.Status {
				case synclayer.EventFailed:
					cp.Counts.fail(0, r.Reason)
				case synclayer.EventApplied:
					cp.Counts.Written++
				default:
					cp.Counts.Skipped++
				}
			}
		}
		cp.Done += len(page.Events) + len(page.Failed)
		cp.Pages++
		cp.Cursor = page.Next
		done, total := cp.Done, cp.Total
		if !page.More {
			// The next kind starts without a cursor. This one's end
			// cursor (what changed since) is not kept: a backfill run
			// later lists everything again.
			cp.Kind++
			cp.Name, cp.Cursor, cp.Done, cp.Total = "", "", 0, -1
			if cp.Kind < len(l.Kinds) {
				cp.Name = l.Kinds[cp.Kind]
			}
		} else if page.Next == "" {
			return fmt.Errorf("list %s from %s: a page says there are more but gives no cursor to read them from", kind, l.Source)
		}
		if err := l.save(ctx, cp); err != nil {
			return err
		}
		if l.Progress != nil {
			l.Progress(kind, cp.Counts, done, total)
		}
		if !page.More {
			return nil
		}
	}
}

// page asks for one page, waiting out rate limits for as long as they
// last (ctx permitting) and asking again after a transient error up to
// maxRetries times. A permanent error is returned at once.
func (l *APILoader) page(ctx context.Context, req synclayer.ListRequest) (synclayer.ListPage, error) {
	wait := l.RetryWait
	if wait <= 0 {
		wait = time.Second
	}
	for tries := 0; ; {
		if err := ctx.Err(); err != nil {
			return synclayer.ListPage{}, err
		}
		page, err := l.Lister.List(ctx, req)
		if err == nil {
			return page, nil
		}
		var perm *synclayer.PermanentError
		var ra *synclayer.RetryAfterError
		var d time.Duration
		switch {
		case errors.As(err, &perm), ctx.Err() != nil:
			return page, err
		case errors.As(err, &ra) && ra.Throttled:
			d = max(ra.After, 100*time.Millisecond)
		case tries >= maxRetries, errors.As(err, &ra) && ra.After > maxRetryWait:
			return page, err
		default:
			tries++
			d = wait
			if errors.As(err, &ra) && ra.After > d {
				d = ra.After
			}
			wait *= 2
		}
		if l.Waiting != nil {
			l.Waiting(req.Kind, d, err)
		}
		t := time.NewTimer(d)
		select {
		case <-ctx.Done():
			t.Stop()
			return synclayer.ListPage{}, ctx.Err()
		case <-t.C:
		}
	}
}

func (l *APILoader) save(ctx context.Context, cp *apiCheckpoint) error {
	detail, err := json.Marshal(cp)
	if err != nil {
		return err
	}
	return l.Store.SaveCheckpoint(ctx, &synclayer.Checkpoint{Name: l.Checkpoint, Position: int64(cp.Pages), Detail: detail, UpdatedAt: time.Now()})
}
