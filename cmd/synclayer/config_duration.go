package main

import (
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/goccy/go-yaml"
	"github.com/goccy/go-yaml/ast"
	"github.com/goccy/go-yaml/parser"
)

// durationError is a duration that does not parse. The YAML decoder
// hands unmarshalers bytes without a position, so durationIn finds the
// key and line afterwards.
type durationError struct{ value string }

func (e *durationError) Error() string {
	return fmt.Sprintf("%q is not a duration; write it like 30s, 5m, 1h or 7d", e.value)
}

// parseDuration reads a YAML scalar such as 5m or 90d, refusing anything
// else with a durationError.
func parseDuration(b []byte) (time.Duration, error) {
	var s string
	if err := yaml.Unmarshal(b, &s); err != nil {
		return 0, &durationError{strings.TrimSpace(string(b))}
	}
	d, err := parseDurationText(s)
	if err != nil {
		return 0, &durationError{s}
	}
	return d, nil
}

// day is a duration's d: 24 hours, whatever the clock's changes.
const day = 24 * time.Hour

// parseDurationText reads a Go duration (30s, 1h30m) that may begin with
// a whole number of days (90d, 1d12h), for every duration in the config.
func parseDurationText(s string) (time.Duration, error) {
	i := 0
	if i < len(s) && (s[i] == '-' || s[i] == '+') {
		i++
	}
	j := i
	for j < len(s) && s[j] >= '0' && s[j] <= '9' {
		j++
	}
	if j == i || j == len(s) || s[j] != 'd' {
		return time.ParseDuration(s)
	}
	n, err := strconv.ParseInt(s[i:j], 10, 64)
	if err != nil || n > int64(math.MaxInt64/day) {
		return 0, fmt.Errorf("time: invalid duration %q", s)
	}
	d := time.Duration(n) * day
	if rest := s[j+1:]; rest != "" {
		r, err := time.ParseDuration(rest)
		if err != nil || rest[0] == '-' || rest[0] == '+' || r > math.MaxInt64-d {
			return 0, fmt.Errorf("time: invalid duration %q", s)
		}
		d += r
	}
	if s[0] == '-' {
		d = -d
	}
	return d, nil
}

// durationOption makes every time.Duration in the config decode through
// parseDuration.
var durationOption = yaml.CustomUnmarshaler[time.Duration](func(d *time.Duration, b []byte) error {
	v, err := parseDuration(b)
	*d = v
	return err
})

// durationIn turns an error from decoding data into the message the
// user sees: a durationError names the key and line of the value (the
// first scalar that holds it), and a YAML error is formatted with its
// position.
func durationIn(data []byte, err error) error {
	plain := errors.New(yaml.FormatError(err, false, true))
	var de *durationError
	if !errors.As(err, &de) {
		return plain
	}
	file, perr := parser.ParseBytes(data, 0)
	if perr != nil {
		return plain
	}
	var found ast.Node
	for _, doc := range file.Docs {
		ast.Walk(visitFunc(func(n ast.Node) bool {
			if found != nil {
				return false
			}
			if mv, ok := n.(*ast.MappingValueNode); ok {
				if s, ok := mv.Value.(ast.ScalarNode); ok && fmt.Sprint(s.GetValue()) == de.value {
					found = mv.Value
					return false
				}
			}
			return true
		}), doc)
	}
	if found == nil {
		return plain
	}
	key := strings.TrimPrefix(found.GetPath(), "$.")
	return fmt.Errorf("line %d: %s: %s", found.GetToken().Position.Line, key, de)
}

type visitFunc func(ast.Node) bool

func (f visitFunc) Visit(n ast.Node) ast.Visitor {
	if f(n) {
		return f
	}
	return nil
}
