package normalize

import (
	"bytes"
	"encoding/json"
	"errors"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"synclayer"
)

// null is the canonical JSON for "the source cleared this field".
var null = json.RawMessage("null")

// Object decodes raw as a JSON object and returns its members, each still
// raw. Malformed JSON is an EINVALID error naming field and the byte offset
// of the fault; any other JSON value, null included, is an EINVALID error
// saying what was found instead.
func Object(field string, raw []byte) (map[string]json.RawMessage, error) {
	if len(bytes.TrimSpace(raw)) == 0 {
		return nil, synclayer.FieldErrorf(field, "is empty; expected a JSON object")
	}
	// json.Unmarshal would quietly turn invalid bytes into U+FFFD, and the
	// mangled value would be synced as if the sender had meant it.
	if !utf8.Valid(raw) {
		return nil, synclayer.FieldErrorf(field, "is not valid UTF-8 (first bad byte at offset %d)", firstInvalidUTF8(raw))
	}
	var m map[string]json.RawMessage
	if err := json.Unmarshal(raw, &m); err != nil {
		var se *json.SyntaxError
		if errors.As(err, &se) {
			return nil, synclayer.FieldErrorf(field, "malformed JSON at byte offset %d: %s", se.Offset, se.Error())
		}
		return nil, synclayer.FieldErrorf(field, "must be a JSON object, not %s", kind(raw))
	}
	if m == nil {
		return nil, synclayer.FieldErrorf(field, "must be a JSON object, not null")
	}
	if dup := duplicateKey(raw); dup != "" {
		// json.Unmarshal keeps the last value; another parser may keep the
		// first, so the sender and we could read different records.
		return nil, synclayer.FieldErrorf(joinPath(field, dup), "is a duplicate key with another value; send each key once")
	}
	return m, nil
}

// duplicateKey returns a key that appears twice, with different values,
// among the members of the well-formed JSON object raw, or "". A repeat with
// the same value is harmless. Nested objects are checked when they are read
// in turn.
func duplicateKey(raw []byte) string {
	dec := json.NewDecoder(bytes.NewReader(raw))
	if _, err := dec.Token(); err != nil { // {
		return ""
	}
	seen := map[string]json.RawMessage{}
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return ""
		}
		key, _ := tok.(string)
		var v json.RawMessage
		if err := dec.Decode(&v); err != nil {
			return ""
		}
		if prev, ok := seen[key]; ok && !bytes.Equal(prev, v) {
			return clip(key)
		}
		seen[key] = v
	}
	return ""
}

func joinPath(field, key string) string {
	if field == "" || field == "body" {
		return key
	}
	return field + "." + key
}

// String returns the JSON string raw, trimmed, or "" for null. Any other
// JSON value is an EINVALID error naming field.
func String(field string, raw json.RawMessage) (string, error) {
	if IsNull(raw) {
		return "", nil
	}
	var s string
	if err := json.Unmarshal(raw, &s); err != nil {
		return "", synclayer.FieldErrorf(field, "must be a string or null, not %s", kind(raw))
	}
	return strings.TrimSpace(s), nil
}

// Text returns the canonical JSON of a text field: the string trimmed, or
// null when raw is null or blank, since platforms send "" for "no value".
func Text(field string, raw json.RawMessage) (json.RawMessage, error) {
	s, err := String(field, raw)
	if err != nil || s == "" {
		return null, err
	}
	return jsonString(s), nil
}

// Bool returns the JSON boolean raw; ok is false for null. Any other JSON
// value is an EINVALID error naming field.
func Bool(field string, raw json.RawMessage) (b, ok bool, err error) {
	if IsNull(raw) {
		return false, false, nil
	}
	if err := json.Unmarshal(raw, &b); err != nil {
		return false, false, synclayer.FieldErrorf(field, "must be true, false or null, not %s", kind(raw))
	}
	return b, true, nil
}

// Integer returns a whole number, given as a JSON number or a string of
// digits, as a JSON number; null or "" is null.
func Integer(field string, raw json.RawMessage) (json.RawMessage, error) {
	raw = bytes.TrimSpace(raw)
	if IsNull(raw) {
		return null, nil
	}
	if isNumber(raw) {
		if !isInteger(string(raw)) {
			return nil, synclayer.FieldErrorf(field, "must be a whole number, not %s", clip(string(raw)))
		}
		if _, err := strconv.ParseInt(string(raw), 10, 64); err != nil {
			return nil, synclayer.FieldErrorf(field, "%s is out of range for a whole number", clip(string(raw)))
		}
		return raw, nil
	}
	s, err := String(field, raw)
	if err != nil {
		return nil, synclayer.FieldErrorf(field, "must be a whole number or null, not %s", kind(raw))
	}
	if s == "" {
		return null, nil
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		return nil, synclayer.FieldErrorf(field, "%q is not a whole number", clip(s))
	}
	return json.RawMessage(strconv.FormatInt(n, 10)), nil
}

// Count is Integer for a count, such as a customer's number of orders,
// which cannot be negative.
func Count(field string, raw json.RawMessage) (json.RawMessage, error) {
	v, err := Integer(field, raw)
	if err == nil && len(v) > 0 && v[0] == '-' {
		return nil, synclayer.FieldErrorf(field, "%s is negative; a count cannot be", clip(string(v)))
	}
	return v, err
}

// Decimal returns a decimal amount, given as a JSON number or a decimal
// string such as "199.65", as the JSON number literal written exactly as
// sent (199.65), never rounded through float64; null or "" is null.
func Decimal(field string, raw json.RawMessage) (json.RawMessage, error) {
	raw = bytes.TrimSpace(raw)
	if IsNull(raw) {
		return null, nil
	}
	if isNumber(raw) {
		return raw, inRange(field, string(raw))
	}
	s, err := String(field, raw)
	if err != nil {
		return nil, synclayer.FieldErrorf(field, "must be a decimal number or null, not %s", kind(raw))
	}
	if s == "" {
		return null, nil
	}
	if !isNumber([]byte(s)) {
		return nil, synclayer.FieldErrorf(field, "%q is not a decimal number: write it like 199.65", clip(s))
	}
	return json.RawMessage(s), inRange(field, s)
}

// inRange refuses a decimal no destination can take (1e400), which would
// otherwise be accepted here and then fail every delivery of its record.
func inRange(field, s string) error {
	if _, err := strconv.ParseFloat(s, 64); err != nil {
		return synclayer.FieldErrorf(field, "%s is out of range for a number", clip(s))
	}
	return nil
}

// Tags returns a list of tags, given as one comma-separated string
// ("vip, wholesale", as Shopify sends it) or as an array of strings, as a
// JSON array of the trimmed, non-empty tags; null is null.
func Tags(field string, raw json.RawMessage) (json.RawMessage, error) {
	if IsNull(raw) {
		return null, nil
	}
	var parts []string
	switch kind(raw) {
	case "a string":
		s, err := String(field, raw)
		if err != nil {
			return nil, err
		}
		parts = strings.Split(s, ",")
	case "an array":
		var items []json.RawMessage
		if err := json.Unmarshal(raw, &items); err != nil {
			return nil, synclayer.FieldErrorf(field, "must be an array of strings")
		}
		for i, item := range items {
			var s string
			if err := json.Unmarshal(item, &s); err != nil {
				return nil, synclayer.FieldErrorf(field+"["+strconv.Itoa(i)+"]", "must be a string, not %s", kind(item))
			}
			parts = append(parts, s)
		}
	default:
		return nil, synclayer.FieldErrorf(field, "must be a comma-separated string or an array of strings, not %s", kind(raw))
	}
	tags := make([]string, 0, len(parts))
	for _, p := range parts {
		if p = strings.TrimSpace(p); p != "" {
			tags = append(tags, p)
		}
	}
	b, _ := json.Marshal(tags)
	return b, nil
}

// Date returns a timestamp string (see Time) as a JSON string in RFC 3339,
// UTC, and the time itself; null or "" is null and the zero time.
func Date(field string, raw json.RawMessage) (json.RawMessage, time.Time, error) {
	s, err := String(field, raw)
	if err != nil {
		return nil, time.Time{}, synclayer.FieldErrorf(field, "must be an RFC 3339 timestamp string or null, not %s", kind(raw))
	}
	if s == "" {
		return null, time.Time{}, nil
	}
	t, err := Time(s)
	if err != nil {
		return nil, time.Time{}, synclayer.FieldErrorf(field, "%s", synclayer.ErrorMessage(err))
	}
	return jsonString(t.Format(time.RFC3339Nano)), t, nil
}

// ID returns a source's record ID, given as a string or a whole JSON number,
// as a string. Numbers are copied digit for digit, so 64-bit IDs such as
// Shopify's stay exact. null or "" is "".
func ID(field string, raw json.RawMessage) (string, error) {
	raw = bytes.TrimSpace(raw)
	if isNumber(raw) {
		if !isInteger(string(raw)) {
			return "", synclayer.FieldErrorf(field, "must be a string or a whole number, not %s", clip(string(raw)))
		}
		return string(raw), nil
	}
	s, err := String(field, raw)
	if err != nil {
		return "", synclayer.FieldErrorf(field, "must be a string or a whole number, not %s", kind(raw))
	}
	if strings.IndexFunc(s, unicode.IsControl) >= 0 {
		return "", synclayer.FieldErrorf(field, "%q contains a control character", clip(s))
	}
	return s, nil
}

// Raw returns a JSON value of any kind compacted, as a custom attribute is
// kept. It fails only on malformed JSON.
func Raw(field string, raw json.RawMessage) (json.RawMessage, error) {
	var buf bytes.Buffer
	if err := json.Compact(&buf, raw); err != nil {
		return nil, synclayer.FieldErrorf(field, "is not valid JSON")
	}
	return buf.Bytes(), nil
}

// IsNull reports whether raw is JSON null (or empty).
func firstInvalidUTF8(b []byte) int {
	for i := 0; i < len(b); {
		r, n := utf8.DecodeRune(b[i:])
		if r == utf8.RuneError && n <= 1 {
			return i
		}
		i += n
	}
	return len(b)
}

func IsNull(raw json.RawMessage) bool {
	raw = bytes.TrimSpace(raw)
	return len(raw) == 0 || string(raw) == "null"
}

// kind names the JSON type of raw for error messages.
func kind(raw []byte) string {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 {
		return "nothing"
	}
	switch raw[0] {
	case '{':
		return "an object"
	case '[':
		return "an array"
	case '"':
		return "a string"
	case 't', 'f':
		return "a boolean"
	case 'n':
		return "null"
	}
	return "a number"
}

// isNumber reports whether b is exactly one JSON number literal.
func isNumber(b []byte) bool {
	b = bytes.TrimSpace(b)
	return len(b) > 0 && (b[0] == '-' || '0' <= b[0] && b[0] <= '9') && json.Valid(b)
}

// isInteger reports whether a JSON number literal has no fraction or
// exponent.
func isInteger(s string) bool {
	s = strings.TrimSpace(s)
	return !strings.ContainsAny(s, ".eE")
}

func jsonString(s string) json.RawMessage {
	b, _ := json.Marshal(s)
	return b
}
