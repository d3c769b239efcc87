package shopifysim

import (
	"encoding/json"
	"fmt"
	"regexp"
	"strconv"
	"strings"
)

// The simulator reads the GraphQL it is sent just far enough to answer
// it: one operation, its fields with their arguments (variables or
// literals) and selections. The answer is built whole and then cut to
// the selection (project), so a field the client forgot to select is
// missing from the answer as it would be from Shopify's, and the cost is
// computed from the selection as Shopify documents it (cost).

type operation struct {
	kind string // query or mutation
	sel  []field
}

type field struct {
	name string
	args map[string]value
	sel  []field
}

// value is an argument: a variable's name, or a literal.
type value struct {
	variable string
	literal  any
}

var tokenPattern = regexp.MustCompile(`#[^\n]*|"(?:[^"\\]|\\.)*"|-?[0-9]+(?:\.[0-9]+)?|[A-Za-z_][A-Za-z0-9_]*|\.\.\.|[{}()\[\]:!$=@,]|\S`)

type parser struct {
	toks []string
	i    int
}

func parseOperation(q string) (*operation, error) {
	p := &parser{}
	for _, t := range tokenPattern.FindAllString(q, -1) {
		if !strings.HasPrefix(t, "#") && t != "," {
			p.toks = append(p.toks, t)
		}
	}
	op := &operation{kind: "query"}
	if t := p.peek(); t == "query" || t == "mutation" {
		op.kind = p.next()
		if p.peek() != "{" && p.peek() != "(" {
			p.next() // the operation's name
		}
		if p.peek() == "(" {
			for depth := 0; ; {
				t := p.next()
				if t == "" {
					return nil, fmt.Errorf("unclosed variable definitions")
				}
				if t == "(" {
					depth++
				} else if t == ")" {
					if depth--; depth == 0 {
						break
					}
				}
			}
		}
	}
	sel, err := p.selection()
	if err != nil {
		return nil, err
	}
	if p.peek() != "" {
		return nil, fmt.Errorf("unexpected %q after the operation", p.peek())
	}
	op.sel = sel
	return op, nil
}

func (p *parser) peek() string {
	if p.i < len(p.toks) {
		return p.toks[p.i]
	}
	return ""
}

func (p *parser) next() string { t := p.peek(); p.i++; return t }

func (p *parser) selection() ([]field, error) {
	if t := p.next(); t != "{" {
		return nil, fmt.Errorf("expected {, found %q", t)
	}
	var out []field
	for p.peek() != "}" {
		name := p.next()
		if name == "" {
			return nil, fmt.Errorf("unclosed selection")
		}
		if p.peek() == ":" { // an alias: the simulator answers under the field's name
			p.next()
			name = p.next()
		}
		f := field{name: name, args: map[string]value{}}
		if p.peek() == "(" {
			p.next()
			for p.peek() != ")" {
				arg := p.next()
				if p.next() != ":" {
					return nil, fmt.Errorf("argument %s: expected :", arg)
				}
				v, err := p.value()
				if err != nil {
					return nil, fmt.Errorf("argument %s: %w", arg, err)
				}
				f.args[arg] = v
			}
			p.next()
		}
		if p.peek() == "{" {
			sel, err := p.selection()
			if err != nil {
				return nil, err
			}
			f.sel = sel
		}
		out = append(out, f)
	}
	p.next()
	return out, nil
}

func (p *parser) value() (value, error) {
	t := p.next()
	switch {
	case t == "$":
		return value{variable: p.next()}, nil
	case strings.HasPrefix(t, `"`):
		s, err := strconv.Unquote(t)
		return value{literal: s}, err
	case t == "true" || t == "false":
		return value{literal: t == "true"}, nil
	case t == "null":
		return value{}, nil
	case t == "[":
		var list []any
		for p.peek() != "]" {
			v, err := p.value()
			if err != nil {
				return value{}, err
			}
			list = append(list, v.literal)
		}
		p.next()
		return value{literal: list}, nil
	case t != "" && (t[0] == '-' || t[0] >= '0' && t[0] <= '9'):
		n, err := strconv.ParseFloat(t, 64)
		return value{literal: n}, err
	case t != "" && (t[0] == '_' || t[0] >= 'A' && t[0] <= 'Z' || t[0] >= 'a' && t[0] <= 'z'):
		return value{literal: t}, nil // an enum value
	}
	return value{}, fmt.Errorf("unexpected %q", t)
}

// args resolves a field's arguments against the request's variables.
func (f field) arg(name string, vars map[string]json.RawMessage) any {
	v, ok := f.args[name]
	if !ok {
		return nil
	}
	if v.variable == "" {
		return v.literal
	}
	var out any
	if raw, ok := vars[v.variable]; ok {
		json.Unmarshal(raw, &out)
	}
	return out
}

func (f field) intArg(name string, vars map[string]json.RawMessage) (int, bool) {
	n, ok := f.arg(name, vars).(float64)
	return int(n), ok
}

func (f field) stringArg(name string, vars map[string]json.RawMessage) string {
	s, _ := f.arg(name, vars).(string)
	return s
}

func (f field) child(name string) *field {
	for i := range f.sel {
		if f.sel[i].name == name {
			return &f.sel[i]
		}
	}
	return nil
}

// project cuts v, an answer built with every field, down to sel.
func project(v any, sel []field) any {
	switch v := v.(type) {
	case map[string]any:
		out := make(map[string]any, len(sel))
		for _, f := range sel {
			x, ok := v[f.name]
			if !ok {
				continue
			}
			if len(f.sel) > 0 && x != nil {
				x = project(x, f.sel)
			}
			out[f.name] = x
		}
		return out
	case []any:
		out := make([]any, len(v))
		for i, x := range v {
			out[i] = project(x, sel)
		}
		return out
	case []map[string]any:
		out := make([]any, len(v))
		for i, x := range v {
			out[i] = project(x, sel)
		}
		return out
	}
	return v
}

// cost is a selection's requested cost as Shopify documents it: an
// object costs 1, a scalar 0, and a connection or list whose size is
// set by first costs 2 plus first times what one of its elements costs;
// edges and pageInfo, the connection's own wrapping, cost nothing but
// what they hold.
func cost(sel []field, vars map[string]json.RawMessage) float64 {
	total := 0.0
	for _, f := range sel {
		if len(f.sel) == 0 {
			continue
		}
		inner := cost(f.sel, vars)
		switch {
		case f.name == "edges" || f.name == "pageInfo":
			total += inner
		case f.child("edges") != nil:
			n, _ := f.intArg("first", vars)
			total += 2 + float64(n)*inner
		default:
			if n, ok := f.intArg("first", vars); ok {
				total += 2 + float64(n)*(1+inner)
			} else {
				total += 1 + inner
			}
		}
	}
	return total
}
