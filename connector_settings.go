package synclayer

import (
	"bytes"
	"encoding/json"
	"errors"
	"strings"
)

// DecodeSettings decodes a connector's config block (or a skill's
// options), given as JSON, into v, refusing a key v does not have with an
// error naming it: "is not a <what>". A type mismatch names its field
// too, and a nested block whose UnmarshalJSON returns an *Error keeps its
// field. Empty or null raw decodes nothing. The program prefixes each
// field with the block's own key (sources.shopify-eu.), so the user sees
// where to look.
func DecodeSettings(raw json.RawMessage, v any, what string) error {
	if t := bytes.TrimSpace(raw); len(t) == 0 || string(t) == "null" {
		return nil
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	err := dec.Decode(v)
	if err == nil {
		return nil
	}
	var se *Error
	if errors.As(err, &se) {
		return se
	}
	var te *json.UnmarshalTypeError
	if errors.As(err, &te) {
		return FieldErrorf(te.Field, "must be a %s, not a %s", te.Type.Kind(), te.Value)
	}
	if key, ok := strings.CutPrefix(err.Error(), "json: unknown field "); ok {
		return FieldErrorf(strings.Trim(key, `"`), "is not a %s", what)
	}
	return Errorf(EINVALID, "%s", err.Error())
}
