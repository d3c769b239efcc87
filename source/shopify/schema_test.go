package shopify_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"mime"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"
)

// adminSchema is the part of Shopify's Admin GraphQL schema vendored in
// testdata/admin-graphql (SOURCE.md says where it comes from). It checks
// the requests the client sends: the mutation exists, its argument has the
// declared type, the selection names fields the payload has, and
// variables.input holds only the input type's fields, every required one,
// and valid enum values and DateTimes.
type adminSchema struct {
	types map[string]*schemaType
}

type schemaType struct {
	kind   string // scalar, type, input, enum
	fields map[string]schemaField
	values []string // an enum's
}

type schemaField struct {
	typ  string            // as written: ID!, [String!], Customer
	args map[string]string // argument name → type
}

var (
	defPattern   = regexp.MustCompile(`(?ms)^(type|input|enum)\s+(\w+)\s*\{(.*?)^\}`)
	fieldPattern = regexp.MustCompile(`(?m)^\s*(\w+)\s*(?:\(([^)]*)\))?\s*:\s*([\w\[\]!]+)\s*$`)
	argPattern   = regexp.MustCompile(`(\w+)\s*:\s*([\w\[\]!]+)`)
	scalarDef    = regexp.MustCompile(`(?m)^scalar\s+(\w+)`)
	commentLine  = regexp.MustCompile(`(?m)#.*$`)
)

func mustLoadSchema(tb testing.TB) *adminSchema {
	tb.Helper()
	files, err := filepath.Glob("testdata/admin-graphql/*.graphql")
	if err != nil || len(files) == 0 {
		tb.Fatalf("no vendored schema: %v", err)
	}
	s := &adminSchema{types: map[string]*schemaType{}}
	for _, file := range files {
		raw, err := os.ReadFile(file)
		if err != nil {
			tb.Fatal(err)
		}
		s.read(tb, file, commentLine.ReplaceAllString(string(raw), ""))
	}
	if s.types["Mutation"] == nil || s.types["QueryRoot"] == nil || len(s.types) < 10 {
		tb.Fatalf("schema: read only %d types", len(s.types))
	}
	return s
}

// read adds one file's definitions. A type defined in two files (the
// Customer of consent.graphql and of list.graphql, each with the fields
// its requests select) has the fields of both, which must agree.
func (s *adminSchema) read(tb testing.TB, file, text string) {
	tb.Helper()
	for _, m := range scalarDef.FindAllStringSubmatch(text, -1) {
		s.types[m[1]] = &schemaType{kind: "scalar"}
	}
	for _, m := range defPattern.FindAllStringSubmatch(text, -1) {
		t := s.types[m[2]]
		if t == nil {
			t = &schemaType{kind: m[1], fields: map[string]schemaField{}}
			s.types[m[2]] = t
		} else if t.kind != m[1] {
			tb.Fatalf("%s: %s is a %s here and a %s elsewhere", file, m[2], m[1], t.kind)
		}
		if m[1] == "enum" {
			for _, v := range strings.Fields(m[3]) {
				if !slices.Contains(t.values, v) {
					t.values = append(t.values, v)
				}
			}
			continue
		}
		for _, f := range fieldPattern.FindAllStringSubmatch(m[3], -1) {
			sf := schemaField{typ: f[3], args: map[string]string{}}
			for _, a := range argPattern.FindAllStringSubmatch(f[2], -1) {
				sf.args[a[1]] = a[2]
			}
			if old, ok := t.fields[f[1]]; ok && old.typ != sf.typ {
				tb.Fatalf("%s: %s.%s is %s here and %s elsewhere", file, m[2], f[1], sf.typ, old.typ)
			}
			t.fields[f[1]] = sf
		}
	}
}

// validate is the simulator's Options.Validate: the HTTP side (JSON
// content type, an access token) and then the GraphQL request.
func (s *adminSchema) validate(r *http.Request, body []byte) error {
	if mt, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type")); mt != "application/json" {
		return fmt.Errorf("Content-Type is %q; Shopify answers 400 unless it is application/json", r.Header.Get("Content-Type"))
	}
	if r.Header.Get("X-Shopify-Access-Token") == "" {
		return errors.New("no X-Shopify-Access-Token header")
	}
	return s.checkRequest(body)
}

func (s *adminSchema) checkRequest(body []byte) error {
	var req struct {
		Query         string                     `json:"query"`
		Variables     map[string]json.RawMessage `json:"variables"`
		OperationName string                     `json:"operationName"`
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&req); err != nil {
		return fmt.Errorf("body: %w", err)
	}
	p := &gqlParser{toks: tokenize(req.Query)}
	op, err := p.operation()
	if err != nil {
		return fmt.Errorf("query: %w", err)
	}
	root := "Mutation"
	if op.kind == "query" {
		root = "QueryRoot"
	}
	if req.OperationName != "" && req.OperationName != op.name {
		return fmt.Errorf("operationName %q names no operation of the query (%q)", req.OperationName, op.name)
	}
	if err := s.checkSelection(root, op.selection, op.vars); err != nil {
		return err
	}
	if len(op.selection) == 1 && op.selection[0].name == "bulkOperationRunQuery" {
		if err := s.checkBulkQuery(req.Variables[op.selection[0].args["query"]]); err != nil {
			return err
		}
	}
	for name, typ := range op.vars {
		raw, ok := req.Variables[name]
		if !ok || string(bytes.TrimSpace(raw)) == "null" {
			if strings.HasSuffix(typ, "!") {
				return fmt.Errorf("variables.%s: missing, but $%s is %s", name, name, typ)
			}
			continue
		}
		if err := s.checkValue("variables."+name, typ, raw); err != nil {
			return err
		}
	}
	for name := range req.Variables {
		if _, ok := op.vars[name]; !ok {
			return fmt.Errorf("variables.%s: the query declares no $%s", name, name)
		}
	}
	return nil
}

// checkBulkQuery checks the query a bulk operation runs: a query of
// QueryRoot with no variables, whose connections, as Shopify's bulk
// operations require, are selected through edges { node }.
func (s *adminSchema) checkBulkQuery(raw json.RawMessage) error {
	var q string
	if err := json.Unmarshal(raw, &q); err != nil {
		return fmt.Errorf("bulkOperationRunQuery: variables.query is not a string")
	}
	p := &gqlParser{toks: tokenize(q)}
	op, err := p.operation()
	if err != nil {
		return fmt.Errorf("bulk query: %w", err)
	}
	if op.kind != "query" || len(op.vars) > 0 {
		return fmt.Errorf("bulk query: must be a query without variables")
	}
	if err := s.checkSelection("QueryRoot", op.selection, nil); err != nil {
		return fmt.Errorf("bulk query: %w", err)
	}
	return nil
}

// checkSelection checks fields selected on the named output type.
func (s *adminSchema) checkSelection(on string, sel []gqlField, vars map[string]string) error {
	t := s.types[on]
	for _, f := range sel {
		sf, ok := t.fields[f.name]
		if !ok {
			return fmt.Errorf("field %q does not exist on type %s", f.name, on)
		}
		for arg, v := range f.args {
			want, ok := sf.args[arg]
			if !ok {
				return fmt.Errorf("%s.%s has no argument %q", on, f.name, arg)
			}
			if got := vars[v]; got != want {
				return fmt.Errorf("%s.%s(%s:) is %s, but $%s is declared %q", on, f.name, arg, want, v, got)
			}
		}
		for arg, typ := range sf.args {
			if _, ok := f.args[arg]; !ok && strings.HasSuffix(typ, "!") {
				return fmt.Errorf("%s.%s: required argument %s missing", on, f.name, arg)
			}
		}
		inner := s.types[baseType(sf.typ)]
		switch {
		case inner == nil:
			return fmt.Errorf("schema: type %s of %s.%s not vendored", sf.typ, on, f.name)
		case inner.kind == "type" && len(f.sel) == 0:
			return fmt.Errorf("%s.%s is an object (%s) and needs a selection", on, f.name, sf.typ)
		case inner.kind != "type" && len(f.sel) > 0:
			return fmt.Errorf("%s.%s is a %s and takes no selection", on, f.name, inner.kind)
		case len(f.sel) > 0:
			if err := s.checkSelection(baseType(sf.typ), f.sel, vars); err != nil {
				return err
			}
		}
	}
	return nil
}

// checkValue checks a JSON value against an input type.
func (s *adminSchema) checkValue(path, typ string, raw json.RawMessage) error {
	nonNull := strings.HasSuffix(typ, "!")
	typ = strings.TrimSuffix(typ, "!")
	if string(bytes.TrimSpace(raw)) == "null" {
		if nonNull {
			return fmt.Errorf("%s: null, but the type is %s!", path, typ)
		}
		return nil
	}
	if strings.HasPrefix(typ, "[") {
		var list []json.RawMessage
		if err := json.Unmarshal(raw, &list); err != nil {
			return fmt.Errorf("%s: not a list (%s)", path, typ)
		}
		for i, v := range list {
			if err := s.checkValue(fmt.Sprintf("%s[%d]", path, i), typ[1:len(typ)-1], v); err != nil {
				return err
			}
		}
		return nil
	}
	t := s.types[typ]
	if t == nil {
		return fmt.Errorf("%s: type %s not in the vendored schema", path, typ)
	}
	switch t.kind {
	case "input":
		var obj map[string]json.RawMessage
		if err := json.Unmarshal(raw, &obj); err != nil || obj == nil {
			return fmt.Errorf("%s: not an object (%s)", path, typ)
		}
		for k, v := range obj {
			f, ok := t.fields[k]
			if !ok {
				return fmt.Errorf("%s.%s: %s has no field %q", path, k, typ, k)
			}
			if err := s.checkValue(path+"."+k, f.typ, v); err != nil {
				return err
			}
		}
		for k, f := range t.fields {
			if _, ok := obj[k]; !ok && strings.HasSuffix(f.typ, "!") {
				return fmt.Errorf("%s.%s: required by %s (%s), missing", path, k, typ, f.typ)
			}
		}
	case "enum":
		var v string
		if json.Unmarshal(raw, &v) != nil || !slices.Contains(t.values, v) {
			return fmt.Errorf("%s: %s is not a %s (one of %s)", path, raw, typ, strings.Join(t.values, ", "))
		}
	case "scalar":
		switch typ {
		case "Int":
			var n int32
			if json.Unmarshal(raw, &n) != nil {
				return fmt.Errorf("%s: %s is not an Int", path, raw)
			}
			return nil
		case "Boolean":
			var b bool
			if json.Unmarshal(raw, &b) != nil {
				return fmt.Errorf("%s: %s is not a Boolean", path, raw)
			}
			return nil
		}
		var v string
		if json.Unmarshal(raw, &v) != nil {
			return fmt.Errorf("%s: %s is not a %s string", path, raw, typ)
		}
		if typ == "URL" {
			if u, err := url.Parse(v); err != nil || !u.IsAbs() {
				return fmt.Errorf("%s: %q is not an absolute URL", path, v)
			}
		}
		if typ == "DateTime" {
			if _, err := time.Parse(time.RFC3339, v); err != nil {
				return fmt.Errorf("%s: %q is not an ISO 8601 DateTime", path, v)
			}
		}
	default:
		return fmt.Errorf("%s: %s is an output type", path, typ)
	}
	return nil
}

func baseType(t string) string { return strings.Trim(t, "[]!") }

// A small GraphQL reader: one operation with variable definitions and
// selections whose arguments are variables, which is all the client
// writes.
type gqlOperation struct {
	kind, name string
	vars       map[string]string // name → type
	selection  []gqlField
}

type gqlField struct {
	name string
	args map[string]string // argument → variable name
	sel  []gqlField
}

var tokenPattern = regexp.MustCompile(`#[^\n]*|[A-Za-z_][A-Za-z0-9_]*|[{}()\[\]:!$]|\S`)

func tokenize(q string) []string {
	var out []string
	for _, t := range tokenPattern.FindAllString(q, -1) {
		if !strings.HasPrefix(t, "#") && t != "," {
			out = append(out, t)
		}
	}
	return out
}

type gqlParser struct {
	toks []string
	i    int
}

func (p *gqlParser) peek() string {
	if p.i < len(p.toks) {
		return p.toks[p.i]
	}
	return ""
}

func (p *gqlParser) next() string { t := p.peek(); p.i++; return t }

func (p *gqlParser) expect(t string) error {
	if got := p.next(); got != t {
		return fmt.Errorf("expected %q, found %q", t, got)
	}
	return nil
}

var namePattern = regexp.MustCompile(`^[A-Za-z_]\w*$`)

func isName(t string) bool { return namePattern.MatchString(t) }

func (p *gqlParser) operation() (*gqlOperation, error) {
	if p.peek() == "{" { // the query shorthand: { customers { ... } }
		sel, err := p.selectionSet()
		if err != nil {
			return nil, err
		}
		if p.i != len(p.toks) {
			return nil, fmt.Errorf("text after the operation: %q", p.peek())
		}
		return &gqlOperation{kind: "query", vars: map[string]string{}, selection: sel}, nil
	}
	op := &gqlOperation{kind: p.next(), vars: map[string]string{}}
	if op.kind != "mutation" && op.kind != "query" {
		return nil, fmt.Errorf("does not start with an operation type: %q", op.kind)
	}
	if isName(p.peek()) {
		op.name = p.next()
	}
	if p.peek() == "(" {
		p.next()
		for p.peek() != ")" {
			if err := p.expect("$"); err != nil {
				return nil, err
			}
			name := p.next()
			if err := p.expect(":"); err != nil {
				return nil, err
			}
			typ, err := p.typeRef()
			if err != nil {
				return nil, err
			}
			op.vars[name] = typ
		}
		p.next()
	}
	sel, err := p.selectionSet()
	if err != nil {
		return nil, err
	}
	op.selection = sel
	if p.i != len(p.toks) {
		return nil, fmt.Errorf("text after the operation: %q", p.peek())
	}
	return op, nil
}

func (p *gqlParser) typeRef() (string, error) {
	var t string
	if p.peek() == "[" {
		p.next()
		inner, err := p.typeRef()
		if err != nil {
			return "", err
		}
		if err := p.expect("]"); err != nil {
			return "", err
		}
		t = "[" + inner + "]"
	} else if name := p.next(); isName(name) {
		t = name
	} else {
		return "", fmt.Errorf("expected a type, found %q", name)
	}
	if p.peek() == "!" {
		p.next()
		t += "!"
	}
	return t, nil
}

func (p *gqlParser) selectionSet() ([]gqlField, error) {
	if err := p.expect("{"); err != nil {
		return nil, err
	}
	var out []gqlField
	for p.peek() != "}" {
		name := p.next()
		if !isName(name) {
			return nil, fmt.Errorf("expected a field, found %q", name)
		}
		f := gqlField{name: name, args: map[string]string{}}
		if p.peek() == "(" {
			p.next()
			for p.peek() != ")" {
				arg := p.next()
				if err := p.expect(":"); err != nil {
					return nil, err
				}
				if err := p.expect("$"); err != nil {
					return nil, fmt.Errorf("argument %s: only variables are checked: %w", arg, err)
				}
				f.args[arg] = p.next()
			}
			p.next()
		}
		if p.peek() == "{" {
			sel, err := p.selectionSet()
			if err != nil {
				return nil, err
			}
			f.sel = sel
		}
		out = append(out, f)
		if p.peek() == "" {
			return nil, errors.New("unclosed selection")
		}
	}
	p.next()
	return out, nil
}

// TestAdminSchema_RefusesMistakes shows the check can fail: each request
// is the client's own with one mistake a client could make.
func TestAdminSchema_RefusesMistakes(t *testing.T) {
	s := mustLoadSchema(t)
	const q = `mutation m($input: CustomerEmailMarketingConsentUpdateInput!) { customerEmailMarketingConsentUpdate(input: $input) { customer { id } userErrors { field message code } } }`
	good := `{"customerId":"gid://shopify/Customer/1","emailMarketingConsent":{"marketingState":"UNSUBSCRIBED","consentUpdatedAt":"2024-10-02T15:00:00Z"}}`
	body := func(query, input string) []byte {
		b, _ := json.Marshal(map[string]any{"query": query, "variables": map[string]json.RawMessage{"input": json.RawMessage(input)}})
		return b
	}
	if err := s.checkRequest(body(q, good)); err != nil {
		t.Fatalf("a valid request is refused: %v", err)
	}
	for name, b := range map[string][]byte{
		"unknown mutation":    body(strings.Replace(q, "customerEmailMarketingConsentUpdate(", "customerEmailConsentUpdate(", 1), good),
		"wrong input type":    body(strings.Replace(q, "CustomerEmailMarketingConsentUpdateInput!", "CustomerSmsMarketingConsentUpdateInput!", 1), good),
		"unknown field":       body(q, strings.Replace(good, `"marketingState"`, `"state"`, 1)),
		"bad enum value":      body(q, strings.Replace(good, "UNSUBSCRIBED", "unsubscribed", 1)),
		"missing required":    body(q, `{"customerId":"gid://shopify/Customer/1"}`),
		"bad DateTime":        body(q, strings.Replace(good, "2024-10-02T15:00:00Z", "2024-10-02 15:00", 1)),
		"unknown selection":   body(strings.Replace(q, "customer { id }", "customer { id emailConsent }", 1), good),
		"object not selected": body(strings.Replace(q, "customer { id }", "customer", 1), good),
	} {
		if err := s.checkRequest(b); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}

	const lq = `query customers($first: Int, $query: String) { customers(first: $first, query: $query) { edges { node { id updatedAt } } pageInfo { hasNextPage endCursor } } }`
	vars := func(query string, v map[string]any) []byte {
		b, _ := json.Marshal(map[string]any{"query": query, "variables": v})
		return b
	}
	if err := s.checkRequest(vars(lq, map[string]any{"first": 100})); err != nil {
		t.Fatalf("a valid query is refused: %v", err)
	}
	bulk := `mutation b($query: String!) { bulkOperationRunQuery(query: $query) { bulkOperation { id } userErrors { message } } }`
	if err := s.checkRequest(vars(bulk, map[string]any{"query": "{ customers { edges { node { id } } } }"})); err != nil {
		t.Fatalf("a valid bulk query is refused: %v", err)
	}
	for name, b := range map[string][]byte{
		"Int given as a string":     vars(lq, map[string]any{"first": "100"}),
		"field Customer lacks":      vars(strings.Replace(lq, "updatedAt", "updated_at", 1), map[string]any{"first": 1}),
		"wrong variable type":       vars(strings.Replace(lq, "$first: Int", "$first: String", 1), map[string]any{"first": "1"}),
		"enum value Shopify lacks":  vars(strings.Replace(lq, "$query: String) { customers(first: $first, query: $query)", "$query: CustomerSortKeys) { customers(first: $first, sortKey: $query)", 1), map[string]any{"first": 1, "query": "UPDATED"}),
		"bulk query of a bad field": vars(bulk, map[string]any{"query": "{ customers { edges { node { id emailAddress } } } }"}),
		"bulk query with variables": vars(bulk, map[string]any{"query": "query q($n: Int) { customers(first: $n) { edges { node { id } } } }"}),
	} {
		if err := s.checkRequest(b); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}
