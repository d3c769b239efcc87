package klaviyo

import (
	"bytes"
	"encoding/json"
	"fmt"
	"time"

	"synclayer"
)

// convert turns a canonical value into what Klaviyo stores for its kind:
// dates as RFC 3339 strings in UTC (Klaviyo reads ISO 8601 strings in
// properties as dates), numbers as JSON numbers, tags as a list property.
// It returns nil for nothing to send.
func convert(kind synclayer.FieldKind, raw json.RawMessage) (json.RawMessage, error) {
	switch kind {
	case synclayer.KindDate:
		var s string
		if err := json.Unmarshal(raw, &s); err != nil {
			return nil, fmt.Errorf("date is not a string")
		}
		t, err := time.Parse(time.RFC3339Nano, s)
		if err != nil {
			return nil, fmt.Errorf("date %q is not RFC 3339", s)
		}
		return mustJSON(t.UTC().Format(time.RFC3339)), nil
	case synclayer.KindNumber:
		var n json.Number
		if err := json.Unmarshal(raw, &n); err != nil {
			return nil, fmt.Errorf("%s is not a number", raw)
		}
		if _, err := n.Float64(); err != nil {
			return nil, fmt.Errorf("%s is not a number", raw)
		}
		return json.RawMessage(n.String()), nil
	case synclayer.KindList:
		var tags []string
		if err := json.Unmarshal(raw, &tags); err != nil {
			return nil, fmt.Errorf("tags are not a list of strings")
		}
		if len(tags) == 0 {
			return nil, nil
		}
		return mustJSON(tags), nil
	case synclayer.KindText, synclayer.KindPhone:
		var s string
		if err := json.Unmarshal(raw, &s); err != nil {
			return nil, fmt.Errorf("%s is not a string", raw)
		}
		if s == "" {
			return nil, nil
		}
		return mustJSON(s), nil
	}
	if isNull(raw) {
		return nil, nil
	}
	return canon(raw), nil
}

// canon re-encodes raw so that equal values compare equal as bytes.
func canon(raw json.RawMessage) json.RawMessage {
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	var v any
	if dec.Decode(&v) != nil {
		return raw
	}
	return mustJSON(v)
}

func isNull(raw json.RawMessage) bool {
	s := string(raw)
	return len(raw) == 0 || s == "null"
}

func mustJSON(v any) json.RawMessage {
	b, _ := json.Marshal(v)
	return b
}
