package main

import (
	"errors"
	"fmt"
	"maps"
	"reflect"
	"slices"
	"strings"
	"time"

	"github.com/goccy/go-yaml"
	"github.com/goccy/go-yaml/ast"
)

// checkShape walks a config document against the Config type before it is
// decoded, and reports every unknown key and every value of the wrong kind,
// each with its key and line. The decoder stops at the first problem and
// says it in Go's words ("cannot unmarshal string into Go struct field
// Config.Server of type int64"); a user fixing a file wants all of them, in
// the file's own terms.
//
// It returns the key-value pairs that hold a problem, for pruneShape to
// take out, so the rest of the file can still be decoded and checked and
// every problem reported in one go.
func checkShape(e *configErrors, file *ast.File) map[*ast.MappingValueNode]bool {
	w := &shapeWalk{e: e, bad: map[*ast.MappingValueNode]bool{}}
	for _, doc := range file.Docs {
		if doc.Body != nil {
			shapeOf(w, doc.Body, reflect.TypeFor[Config](), "", nil)
		}
	}
	return w.bad
}

// pruneShape takes the pairs checkShape found bad out of file, in place.
func pruneShape(file *ast.File, bad map[*ast.MappingValueNode]bool) {
	for _, doc := range file.Docs {
		if mv, ok := doc.Body.(*ast.MappingValueNode); ok && bad[mv] {
			doc.Body = nil
			continue
		}
		ast.Walk(visitFunc(func(n ast.Node) bool {
			if m, ok := n.(*ast.MappingNode); ok {
				kept := m.Values[:0]
				for _, v := range m.Values {
					if !bad[v] {
						kept = append(kept, v)
					}
				}
				m.Values = kept
			}
			return true
		}), doc)
	}
}

// shapeWalk is one checkShape pass.
type shapeWalk struct {
	e   *configErrors
	bad map[*ast.MappingValueNode]bool
}

// addAt reports a problem and marks the pair that holds it.
func (w *shapeWalk) addAt(pair *ast.MappingValueNode, line int, key, format string, args ...any) {
	w.e.addAt(line, key, format, args...)
	if pair != nil {
		w.bad[pair] = true
	}
}

// optionShapes are the options blocks whose shared keys are fields of a
// shape type, decoded by their own UnmarshalYAML with the rest kept for
// the destination.
var optionShapes = map[reflect.Type]reflect.Type{
	reflect.TypeFor[CustomerSyncOptions](): reflect.TypeFor[optionsShape](),
	reflect.TypeFor[CommerceOptions]():     reflect.TypeFor[commerceShape](),
	reflect.TypeFor[CartEventsOptions]():   reflect.TypeFor[cartShape](),
}

var (
	bytesUnmarshaler = reflect.TypeFor[yaml.BytesUnmarshaler]()
	durationType     = reflect.TypeFor[time.Duration]()
)

func shapeOf(w *shapeWalk, n ast.Node, t reflect.Type, key string, pair *ast.MappingValueNode) {
	n = unwrap(n)
	if n == nil || n.Type() == ast.NullType || n.Type() == ast.AliasType {
		return
	}
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	line := n.GetToken().Position.Line
	// An options block: the keys the skill shares are checked as fields,
	// the rest are the destination's, which it checks itself.
	if shared, ok := optionShapes[t]; ok {
		mapping, isMap := pairs(n)
		if !isMap {
			w.addAt(pair, line, key, "must be a block of keys, not %s", describeNode(n))
			return
		}
		fields := yamlFields(shared)
		for _, mv := range mapping {
			k := mv.Key.GetToken().Value
			if f, ok := fields[k]; ok {
				shapeOf(w, mv.Value, f.Type, join(key, k), mv)
			}
		}
		return
	}
	// Types that read themselves (a source list, an options block, a
	// duration) say what is wrong in their own words.
	if reflect.PointerTo(t).Implements(bytesUnmarshaler) || t == durationType {
		v := reflect.New(t)
		if err := yaml.NodeToValue(n, v.Interface(), yaml.Strict(), durationOption); err != nil {
			var de *durationError
			if errors.As(err, &de) {
				if at := findScalar(n, de.value); at != nil {
					line, key = at.GetToken().Position.Line, strings.TrimPrefix(at.GetPath(), "$.")
				}
			}
			w.addAt(pair, line, key, "%s", plainYAMLError(err))
		}
		return
	}
	switch t.Kind() {
	case reflect.Struct:
		mapping, ok := pairs(n)
		if !ok {
			w.addAt(pair, line, key, "must be a block of keys, not %s", describeNode(n))
			return
		}
		fields := yamlFields(t)
		for _, mv := range mapping {
			k := mv.Key.GetToken().Value
			f, ok := fields[k]
			if !ok {
				w.addAt(mv, mv.Key.GetToken().Position.Line, join(key, k), "is not a key synclayer knows%s", suggest(k, slices.Sorted(maps.Keys(fields))))
				continue
			}
			shapeOf(w, mv.Value, f.Type, join(key, k), mv)
		}
	case reflect.Map:
		mapping, ok := pairs(n)
		if !ok {
			w.addAt(pair, line, key, "must be a block of names and values, not %s", describeNode(n))
			return
		}
		for _, mv := range mapping {
			shapeOf(w, mv.Value, t.Elem(), join(key, mv.Key.GetToken().Value), mv)
		}
	case reflect.Slice:
		seq, ok := n.(*ast.SequenceNode)
		if !ok {
			w.addAt(pair, line, key, "must be a list, such as [a, b], not %s", describeNode(n))
			return
		}
		for i, item := range seq.Values {
			shapeOf(w, item, t.Elem(), fmt.Sprintf("%s[%d]", key, i), pair)
		}
	case reflect.String:
		if !isScalar(n) {
			w.addAt(pair, line, key, "must be text, not %s", describeNode(n))
		}
	case reflect.Bool:
		if n.Type() != ast.BoolType {
			w.addAt(pair, line, key, "must be true or false, not %s", describeNode(n))
		}
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64, reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		if n.Type() != ast.IntegerType {
			w.addAt(pair, line, key, "must be a whole number, not %s", describeNode(n))
		}
	case reflect.Float32, reflect.Float64:
		if n.Type() != ast.IntegerType && n.Type() != ast.FloatType {
			w.addAt(pair, line, key, "must be a number, not %s", describeNode(n))
		}
	}
}

// unwrap looks through anchors and tags to the value.
func unwrap(n ast.Node) ast.Node {
	for {
		switch v := n.(type) {
		case *ast.AnchorNode:
			n = v.Value
		case *ast.TagNode:
			n = v.Value
		default:
			return n
		}
	}
}

// pairs returns a mapping's key-value pairs.
func pairs(n ast.Node) ([]*ast.MappingValueNode, bool) {
	switch v := n.(type) {
	case *ast.MappingNode:
		return v.Values, true
	case *ast.MappingValueNode:
		return []*ast.MappingValueNode{v}, true
	}
	return nil, false
}

func isScalar(n ast.Node) bool {
	_, ok := n.(ast.ScalarNode)
	return ok
}

// describeNode says what a value is, in YAML's terms.
func describeNode(n ast.Node) string {
	switch n.Type() {
	case ast.MappingType, ast.MappingValueType:
		return "a block of keys"
	case ast.SequenceType:
		return "a list"
	case ast.StringType, ast.LiteralType:
		return fmt.Sprintf("the text %q", n.GetToken().Value)
	case ast.IntegerType, ast.FloatType:
		return "the number " + n.GetToken().Value
	case ast.BoolType:
		return n.GetToken().Value
	}
	return n.GetToken().Value
}

// yamlFields maps a struct's YAML keys to its fields.
func yamlFields(t reflect.Type) map[string]reflect.StructField {
	out := map[string]reflect.StructField{}
	for i := range t.NumField() {
		f := t.Field(i)
		if !f.IsExported() {
			continue
		}
		name, _, _ := strings.Cut(f.Tag.Get("yaml"), ",")
		switch name {
		case "-":
			continue
		case "":
			name = strings.ToLower(f.Name)
		}
		out[name] = f
	}
	return out
}

func join(prefix, k string) string {
	if prefix == "" {
		return k
	}
	return prefix + "." + k
}

// suggest names the closest known key, or lists them when none is close.
func suggest(k string, known []string) string {
	best, dist := "", 3
	for _, c := range known {
		if d := editDistance(fold(k), fold(c)); d < dist {
			best, dist = c, d
		}
	}
	if best != "" {
		return "; did you mean " + best + "?"
	}
	return "; the keys here are " + strings.Join(known, ", ")
}

// editDistance is the Levenshtein distance between two short names.
func editDistance(a, b string) int {
	prev := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur := make([]int, len(b)+1)
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev = cur
	}
	return prev[len(b)]
}

// plainYAMLError is a decoder error without its position and source
// excerpt, which the caller gives as key and line.
func plainYAMLError(err error) string {
	msg := err.Error()
	if i := strings.Index(msg, "] "); strings.HasPrefix(msg, "[") && i > 0 {
		msg = msg[i+2:]
	}
	msg, _, _ = strings.Cut(msg, "\n")
	return strings.TrimSpace(msg)
}

// findScalar finds the value under n that is written as value, to name
// the key of a problem a type that reads itself found inside its block.
func findScalar(n ast.Node, value string) ast.Node {
	var found ast.Node
	ast.Walk(visitFunc(func(x ast.Node) bool {
		if found != nil {
			return false
		}
		if mv, ok := x.(*ast.MappingValueNode); ok {
			if s, ok := mv.Value.(ast.ScalarNode); ok && fmt.Sprint(s.GetValue()) == value {
				found = mv.Value
				return false
			}
		}
		return true
	}), n)
	return found
}

// fold is a name without case or separators, to catch near misses
// ("FirstName", "first-name", "FIRST_NAME").
func fold(s string) string {
	return strings.ToLower(strings.NewReplacer("_", "", "-", "", " ", "", ".", "").Replace(s))
}
