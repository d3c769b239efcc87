package main

import (
	"errors"
	"fmt"
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
	return fmt.Sprintf("%q is not a duration; write it like 30s, 5m or 1h", e.value)
}

// parseDuration reads a YAML scalar such as 5m, refusing anything else
// with a durationError.
func parseDuration(b []byte) (time.Duration, error) {
	var s string
	if err := yaml.Unmarshal(b, &s); err != nil {
		return 0, &durationError{strings.TrimSpace(string(b))}
	}
	d, err := time.ParseDuration(s)
	if err != nil {
		return 0, &durationError{s}
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
