package backfill

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"time"

	"synclayer"
	"synclayer/ingest"
)

// MaxFailures is how many failure reasons a summary keeps, with their lines.
const MaxFailures = 20

// Failure is one record that could not be loaded.
type Failure struct {
	Line   int    `json:"line"`
	Reason string `json:"reason"`
}

// Counts are what a load did so far; they are kept in the checkpoint, so a
// resumed run's summary covers the whole file.
type Counts struct {
	Read     int       `json:"read"`
	Written  int       `json:"written"` // events that changed the store
	Skipped  int       `json:"skipped"` // duplicates and events that changed nothing
	Failed   int       `json:"failed"`
	Failures []Failure `json:"failures,omitempty"`
}

func (c *Counts) fail(line int, reason string) {
	c.Failed++
	if len(c.Failures) < MaxFailures {
		c.Failures = append(c.Failures, Failure{Line: line, Reason: reason})
	}
}

// Ingester is the pipeline the events go through.
type Ingester interface {
	Ingest(ctx context.Context, events []*synclayer.Event) ([]ingest.Result, error)
}

// Loader loads one file.
type Loader struct {
	Store    synclayer.Store
	Ingester Ingester
	File     *File
	// Checkpoint names the run's checkpoint; a checkpoint under that name
	// resumes after its position. Restart ignores it.
	Checkpoint string
	Restart    bool
	Chunk      int // events per transaction; default 1000
	// Progress, when set, hears the counts after each chunk, with the
	// bytes read.
	Progress func(c Counts, bytes int64)
}

// Load reads the file to its end, ingesting its events chunk by chunk,
// each chunk in one transaction followed by the checkpoint. It returns the
// counts and the line it resumed after (0 for a fresh run). A storage
// error stops it; the checkpoint says where it got to.
func (l *Loader) Load(ctx context.Context) (Counts, int, error) {
	chunk := l.Chunk
	if chunk <= 0 {
		chunk = 1000
	}
	var c Counts
	resume := 0
	if cp, err := l.Store.FindCheckpoint(ctx, l.Checkpoint); err == nil && !l.Restart {
		resume = int(cp.Position)
		if len(cp.Detail) > 0 {
			_ = json.Unmarshal(cp.Detail, &c)
		}
	} else if err != nil && synclayer.ErrorCode(err) != synclayer.ENOTFOUND {
		return c, 0, err
	}
	var events []*synclayer.Event
	var lines []int
	last := resume
	flush := func() error {
		if len(events) > 0 {
			res, err := l.Ingester.Ingest(ctx, events)
			if err != nil {
				return fmt.Errorf("ingest lines %d to %d: %w", lines[0], lines[len(lines)-1], err)
			}
			for i, r := range res {
				switch {
				case r.Status == synclayer.EventFailed:
					c.fail(lines[i], r.Reason)
				case r.Status == synclayer.EventApplied:
					c.Written++
				default:
					c.Skipped++
				}
			}
			events, lines = events[:0], lines[:0]
		}
		detail, _ := json.Marshal(c)
		if err := l.Store.SaveCheckpoint(ctx, &synclayer.Checkpoint{Name: l.Checkpoint, Position: int64(last), Detail: detail, UpdatedAt: time.Now()}); err != nil {
			return err
		}
		if l.Progress != nil {
			l.Progress(c, l.File.Read())
		}
		return nil
	}
	for {
		if err := ctx.Err(); err != nil {
			return c, resume, err
		}
		line, ev, err := l.File.Next()
		if err == io.EOF {
			break
		}
		if line <= resume && resume > 0 {
			continue // committed before the interruption
		}
		if err != nil {
			if synclayer.ErrorCode(err) != synclayer.EINVALID {
				return c, resume, fmt.Errorf("read %s: %w", l.File.Path, err)
			}
			c.Read++
			c.fail(line, synclayer.ErrorMessage(err))
			last = line
			continue
		}
		c.Read++
		events, lines = append(events, ev), append(lines, line)
		last = line
		if len(events) >= chunk {
			if err := flush(); err != nil {
				return c, resume, err
			}
		}
	}
	if err := flush(); err != nil {
		return c, resume, err
	}
	return c, resume, nil
}
