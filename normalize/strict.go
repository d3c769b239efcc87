package normalize

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"reflect"
	"slices"
	"strings"

	"synclayer"
)

// Strict decodes one JSON value from raw into v, refusing keys v has no
// field for, so a misspelt key is reported instead of silently ignored.
// Every error is EINVALID naming where the fault is: the dotted path of an
// unknown key or a value of the wrong type ("options.list_id",
// "source[1]"), or body for JSON that does not parse. Keys match json tags
// exactly, as YAML keys do, not case-insensitively as encoding/json does.
func Strict(body string, raw []byte, v any) error {
	if len(bytes.TrimSpace(raw)) == 0 {
		return synclayer.FieldErrorf(body, "is empty; send a JSON object")
	}
	if !json.Valid(raw) {
		var x any
		err := json.Unmarshal(raw, &x)
		var se *json.SyntaxError
		if errors.As(err, &se) {
			return synclayer.FieldErrorf(body, "malformed JSON at byte offset %d: %s", se.Offset, se.Error())
		}
		return synclayer.FieldErrorf(body, "is not one JSON value")
	}
	if err := unknownKeys(raw, reflect.TypeOf(v), ""); err != nil {
		return err
	}
	err := json.Unmarshal(raw, v)
	var te *json.UnmarshalTypeError
	switch {
	case err == nil:
		return nil
	case errors.As(err, &te):
		field := te.Field
		if field == "" {
			field = body
		}
		return synclayer.FieldErrorf(field, "must be %s, not %s", kindOfType(te.Type), valueWords(te.Value))
	}
	var fe *synclayer.Error
	if errors.As(err, &fe) {
		return fe
	}
	return synclayer.FieldErrorf(body, "%s", strings.TrimPrefix(err.Error(), "json: "))
}

var unmarshaler = reflect.TypeFor[json.Unmarshaler]()

// unknownKeys walks raw along t and returns an error naming the first key,
// in sorted order, that t has no field for.
func unknownKeys(raw json.RawMessage, t reflect.Type, path string) error {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if reflect.PointerTo(t).Implements(unmarshaler) {
		return nil
	}
	switch t.Kind() {
	case reflect.Struct:
		var m map[string]json.RawMessage
		if json.Unmarshal(raw, &m) != nil {
			return nil // not an object: the decoder names the type error
		}
		fields := jsonFields(t)
		for _, k := range slices.Sorted(maps.Keys(m)) {
			f, ok := fields[k]
			if !ok {
				return synclayer.FieldErrorf(join(path, k), "unknown key; known keys here are %s", strings.Join(slices.Sorted(maps.Keys(fields)), ", "))
			}
			if err := unknownKeys(m[k], f.Type, join(path, k)); err != nil {
				return err
			}
		}
	case reflect.Map:
		var m map[string]json.RawMessage
		if json.Unmarshal(raw, &m) != nil {
			return nil
		}
		for _, k := range slices.Sorted(maps.Keys(m)) {
			if err := unknownKeys(m[k], t.Elem(), join(path, k)); err != nil {
				return err
			}
		}
	case reflect.Slice, reflect.Array:
		var items []json.RawMessage
		if json.Unmarshal(raw, &items) != nil {
			return nil
		}
		for i, item := range items {
			if err := unknownKeys(item, t.Elem(), fmt.Sprintf("%s[%d]", path, i)); err != nil {
				return err
			}
		}
	}
	return nil
}

func jsonFields(t reflect.Type) map[string]reflect.StructField {
	out := map[string]reflect.StructField{}
	for f := range t.Fields() {
		if !f.IsExported() {
			continue
		}
		name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
		switch name {
		case "-":
			continue
		case "":
			name = f.Name
		}
		out[name] = f
	}
	return out
}

func join(path, key string) string {
	if key == "" {
		key = `""` // an empty key must still name a field
	}
	if path == "" {
		return key
	}
	return path + "." + key
}

// Shaper is implemented by a type whose UnmarshalJSON accepts more than one
// JSON shape, to say which in errors: "a source name or a list of them".
type Shaper interface{ JSONShape() string }

func kindOfType(t reflect.Type) string {
	if s, ok := reflect.Zero(t).Interface().(Shaper); ok {
		return s.JSONShape()
	}
	switch t.Kind() {
	case reflect.String:
		return "a string"
	case reflect.Bool:
		return "true or false"
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return "a whole number"
	case reflect.Float32, reflect.Float64:
		return "a number"
	case reflect.Slice, reflect.Array:
		return "a list"
	}
	return "an object"
}

// valueWords turns encoding/json's "number", "string", "bool" into words.
func valueWords(v string) string {
	kind, _, _ := strings.Cut(v, " ")
	switch kind {
	case "string", "number":
		return "a " + v
	case "bool":
		return "a boolean"
	case "array", "object":
		return "an " + kind
	}
	return v
}
