package custom

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"time"

	"synclayer"
)

// MaxExportLine caps one line of a JSONL export: an event longer than
// this stops the read, since a line that long is a broken file, not an
// event.
const MaxExportLine = 4 << 20

// Export is the JSONL export backfill reads: one event a line, exactly as
// the custom webhook takes it ({event, timestamp, data}).
var Export = synclayer.ExportFormat{
	Exts: []string{".jsonl", ".ndjson"},
	What: "JSONL of custom events",
	Open: func(r io.Reader, _, now time.Time) (synclayer.ExportReader, error) {
		lines := bufio.NewScanner(r)
		lines.Buffer(make([]byte, 64<<10), MaxExportLine)
		return &exportReader{lines: lines, now: now}, nil
	},
}

type exportReader struct {
	lines *bufio.Scanner
	line  int
	now   time.Time
}

func (x *exportReader) Records() string { return synclayer.ExportEvents }

// Next skips blank lines and parses the next one with ParseEvent.
func (x *exportReader) Next() (int, *synclayer.Event, error) {
	for x.lines.Scan() {
		x.line++
		b := bytes.TrimSpace(x.lines.Bytes())
		if len(b) == 0 {
			continue
		}
		ev, err := ParseEvent(bytes.Clone(b), x.now)
		return x.line, ev, err
	}
	if err := x.lines.Err(); err != nil {
		if errors.Is(err, bufio.ErrTooLong) {
			return x.line + 1, nil, fmt.Errorf("line %d is longer than %d bytes; reading stops there", x.line+1, MaxExportLine)
		}
		return x.line, nil, err
	}
	return x.line, nil, io.EOF
}
