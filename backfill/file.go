// Package backfill loads a platform export into the canonical store
// through the ingest pipeline (identity, consent, newer-wins), streaming,
// in large transactions, with a checkpoint so an interrupted run resumes.
// Its jobs go to the skills' batch queues, for the batch flusher to push.
package backfill

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"synclayer"
)

// File streams the events of an export file.
type File struct {
	Path     string
	Source   string // the platform whose export it is: its source type ("shopify")
	Size     int64
	Identity string // a hash of the file's content and its size, for checkpoints and dedupe keys

	f      *os.File
	count  *countingReader
	reader synclayer.ExportReader
	now    time.Time
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

// Open opens an export with the format of the first source type whose
// exports take its file name's ending (.csv: a Shopify export, .jsonl:
// custom events). asOf dates what the export does not date itself (zero:
// the file's modification time), so a webhook newer than the export wins
// over it.
func Open(path string, asOf time.Time, types []synclayer.SourceType) (*File, error) {
	ext := strings.ToLower(filepath.Ext(path))
	var format *synclayer.ExportFormat
	var source string
	var known []string
	for _, t := range types {
		for i, x := range t.Exports {
			known = append(known, fmt.Sprintf("%s (%s)", strings.Join(x.Exts, " or "), x.What))
			if format == nil && slices.Contains(x.Exts, ext) {
				format, source = &t.Exports[i], t.Type
			}
		}
	}
	if format == nil {
		return nil, synclayer.FieldErrorf("file", "%q: the export must be %s", filepath.Base(path), strings.Join(known, ", or "))
	}
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
	x := &File{Path: path, Source: source, Size: st.Size(), f: f, now: time.Now().UTC(),
		Identity: hex.EncodeToString(h.Sum(nil)[:8]) + fmt.Sprintf("-%d", st.Size())}
	x.count = &countingReader{r: f}
	if x.reader, err = format.Open(x.count, asOf, x.now); err != nil {
		f.Close()
		return nil, fmt.Errorf("--file %s: %w", filepath.Base(path), err)
	}
	return x, nil
}

// Close closes the file.
func (x *File) Close() error { return x.f.Close() }

// Read returns how many bytes were read so far, for progress.
func (x *File) Read() int64 { return x.count.n }

// Records is what the file holds: synclayer.ExportContacts,
// ExportOrders or ExportEvents (events of any kind).
func (x *File) Records() string { return x.reader.Records() }

// Next returns the next event, with the line it starts on and its dedupe
// key set from the file's identity and that line, so loading the same file
// again changes nothing. A record that cannot be read returns its line and
// the error; reading goes on after it. The end is io.EOF.
func (x *File) Next() (int, *synclayer.Event, error) {
	line, ev, err := x.reader.Next()
	if ev != nil {
		ev.DedupeKey = fmt.Sprintf("backfill:%s:%d", x.Identity, line)
		ev.ReceivedAt = x.now
	}
	return line, ev, err
}
