// Package backfill loads a platform export into the canonical store
// through the ingest pipeline (identity, consent, newer-wins), streaming,
// in large transactions, with a checkpoint so an interrupted run resumes.
// Its jobs go to the skills' batch queues, for the batch flusher to push.
package backfill

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"synclayer"
	"synclayer/source/custom"
	"synclayer/source/shopify"
)

// Formats of a backfill file.
const (
	FormatShopifyCustomers = "shopify-customers" // Shopify's customer CSV export
	FormatShopifyOrders    = "shopify-orders"    // Shopify's order CSV export
	FormatJSONL            = "jsonl"             // one custom-source event {event, timestamp, data} a line
)

// maxLine caps one JSONL line.
const maxLine = 4 << 20

// File streams the events of an export file.
type File struct {
	Path     string
	Format   string
	Size     int64
	Identity string // a hash of the file's content and its size, for checkpoints and dedupe keys

	f     *os.File
	count *countingReader
	csv   *shopify.ExportReader
	lines *bufio.Scanner
	line  int
	now   time.Time
}

type countingReader struct {
	r io.Reader
	n int64
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += int64(n)
	return n, err
}

// Open opens an export: .jsonl (or .ndjson) is JSONL, .csv a Shopify
// export whose kind its header tells. asOf dates a customer export's rows
// (zero: the file's modification time), so a webhook newer than the
// export wins over it.
func Open(path string, asOf time.Time) (*File, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("open --file: %w", err)
	}
	st, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("open --file: %w", err)
	}
	if asOf.IsZero() {
		asOf = st.ModTime()
	}
	// The identity hashes the whole file, not its start: a line edited
	// anywhere (a typo fixed, same size) must change the dedupe keys, or
	// the corrected line would be skipped as already loaded, even with
	// --restart. One read pass costs far less than loading the file.
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		f.Close()
		return nil, fmt.Errorf("read --file %s: %w", filepath.Base(path), err)
	}
	if _, err := f.Seek(0, io.SeekStart); err != nil {
		f.Close()
		return nil, err
	}
	x := &File{Path: path, Size: st.Size(), f: f, now: time.Now().UTC(),
		Identity: hex.EncodeToString(h.Sum(nil)[:8]) + fmt.Sprintf("-%d", st.Size())}
	x.count = &countingReader{r: f}
	switch ext := strings.ToLower(filepath.Ext(path)); ext {
	case ".jsonl", ".ndjson":
		x.Format = FormatJSONL
		x.lines = bufio.NewScanner(x.count)
		x.lines.Buffer(make([]byte, 64<<10), maxLine)
	case ".csv":
		r, err := shopify.NewExportReader(bufio.NewReaderSize(x.count, 256<<10), asOf)
		if err != nil {
			f.Close()
			return nil, fmt.Errorf("--file %s: %w", filepath.Base(path), err)
		}
		x.csv, x.Format = r, FormatShopifyCustomers
		if r.Kind() == shopify.ExportOrders {
			x.Format = FormatShopifyOrders
		}
	default:
		f.Close()
		return nil, synclayer.FieldErrorf("file", "%q: the export must be .csv (a Shopify customer or order export) or .jsonl (custom events)", filepath.Base(path))
	}
	return x, nil
}

// Close closes the file.
func (x *File) Close() error { return x.f.Close() }

// Read returns how many bytes were read so far, for progress.
func (x *File) Read() int64 { return x.count.n }

// Records is what the file holds: "contacts" or "orders" (a JSONL file
// may hold any event).
func (x *File) Records() string {
	if x.Format == FormatShopifyOrders {
		return "orders"
	}
	return "contacts"
}

// Next returns the next event, with the line it starts on and its dedupe
// key set from the file's identity and that line, so loading the same file
// again changes nothing. A record that cannot be read returns its line and
// the error; reading goes on after it. The end is io.EOF.
func (x *File) Next() (int, *synclayer.Event, error) {
	var line int
	var ev *synclayer.Event
	var err error
	if x.csv != nil {
		line, ev, err = x.csv.Next()
	} else {
		line, ev, err = x.nextJSONL()
	}
	if ev != nil {
		ev.DedupeKey = fmt.Sprintf("backfill:%s:%d", x.Identity, line)
		ev.ReceivedAt = x.now
	}
	return line, ev, err
}

func (x *File) nextJSONL() (int, *synclayer.Event, error) {
	for x.lines.Scan() {
		x.line++
		b := bytes.TrimSpace(x.lines.Bytes())
		if len(b) == 0 {
			continue
		}
		ev, err := ParseLine(bytes.Clone(b), x.now)
		return x.line, ev, err
	}
	if err := x.lines.Err(); err != nil {
		if errors.Is(err, bufio.ErrTooLong) {
			return x.line + 1, nil, fmt.Errorf("line %d is longer than %d bytes; reading stops there", x.line+1, maxLine)
		}
		return x.line, nil, err
	}
	return x.line, nil, io.EOF
}

// ParseLine reads one JSONL line: a custom-source event, exactly as the
// custom webhook takes it.
func ParseLine(line []byte, now time.Time) (*synclayer.Event, error) {
	return custom.ParseEvent(line, now)
}
