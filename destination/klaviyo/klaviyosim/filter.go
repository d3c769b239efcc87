package klaviyosim

import (
	"net/http"
	"regexp"
	"strings"
	"time"
)

// filterPattern is the one identifier filter form the simulator reads:
// equals(field, "value") or with single quotes, for the identifiers
// get_profiles allows.
var filterPattern = regexp.MustCompile(`^equals\((id|email|phone_number|external_id),\s*(?:"([^"]*)"|'([^']*)')\)$`)

// suppressionFilter is get_profiles' filter on the time of a global
// suppression: greater-than or greater-or-equal, an unquoted datetime,
// as Klaviyo's guide writes it.
var suppressionFilter = regexp.MustCompile(`^(greater-than|greater-or-equal)\(subscriptions\.email\.marketing\.suppression\.timestamp,\s*([^,()"']+)\)$`)

// Filter operators on a datetime.
const (
	opGreaterThan    = "greater-than"
	opGreaterOrEqual = "greater-or-equal"
)

// profileFilter is a parsed get_profiles filter: an identifier equality,
// or a lower bound on the suppression time.
type profileFilter struct {
	field, value string
	afterOp      string // greater-than or greater-or-equal; "" for none
	after        time.Time
}

// parseFilter reads a get_profiles filter. Other operators and fields,
// which Klaviyo allows for other uses, are answered 400 so that a client
// relying on them notices the simulator does not model them.
func parseFilter(f string) (profileFilter, *apiError) {
	if m := suppressionFilter.FindStringSubmatch(f); m != nil {
		t, ok := parseDatetime(m[2])
		if !ok {
			return profileFilter{}, badFilter("The datetime " + m[2] + " is not ISO 8601.")
		}
		return profileFilter{afterOp: m[1], after: t}, nil
	}
	m := filterPattern.FindStringSubmatch(f)
	if m == nil {
		return profileFilter{}, badFilter("The simulator supports only equals(id|email|phone_number|external_id,\"value\") " +
			"and greater-than(subscriptions.email.marketing.suppression.timestamp,<datetime>) filters.")
	}
	value := m[2]
	if value == "" {
		value = m[3]
	}
	return profileFilter{field: m[1], value: value}, nil
}

// eventFilterPart is one condition of a get_events filter the simulator
// reads: the metric, or a lower bound on the event's datetime.
var eventFilterPart = regexp.MustCompile(`^(?:equals\(metric_id,\s*(?:"([^"]*)"|'([^']*)')\)|(greater-than|greater-or-equal)\(datetime,\s*([^,()"']+)\))$`)

// eventFilter is a parsed get_events filter.
type eventFilter struct {
	metricID string
	afterOp  string
	after    time.Time
}

// parseEventFilter reads equals(metric_id,"X"), a datetime bound, or
// both, joined by and(…) or by a comma (Klaviyo's implicit and).
func parseEventFilter(f string) (eventFilter, *apiError) {
	var out eventFilter
	if inner, ok := strings.CutPrefix(f, "and("); ok && strings.HasSuffix(inner, ")") {
		f = strings.TrimSuffix(inner, ")")
	}
	for _, part := range splitTop(f) {
		m := eventFilterPart.FindStringSubmatch(strings.TrimSpace(part))
		switch {
		case m == nil:
			return eventFilter{}, badFilter("The simulator supports only equals(metric_id,\"…\") and greater-than(datetime,<datetime>) event filters.")
		case m[3] != "":
			t, ok := parseDatetime(m[4])
			if !ok || out.afterOp != "" {
				return eventFilter{}, badFilter("One datetime bound, in ISO 8601, is allowed.")
			}
			out.afterOp, out.after = m[3], t
		default:
			out.metricID = m[1] + m[2]
		}
	}
	return out, nil
}

// splitTop splits s at the commas outside parentheses and quotes.
func splitTop(s string) []string {
	var parts []string
	depth, quote, start := 0, rune(0), 0
	for i, r := range s {
		switch {
		case quote != 0:
			if r == quote {
				quote = 0
			}
		case r == '"' || r == '\'':
			quote = r
		case r == '(':
			depth++
		case r == ')':
			depth--
		case r == ',' && depth == 0:
			parts = append(parts, s[start:i])
			start = i + 1
		}
	}
	return append(parts, s[start:])
}

// parseDatetime reads the ISO 8601 forms Klaviyo's datetimes guide lists;
// one without an offset is UTC.
func parseDatetime(s string) (time.Time, bool) {
	s = strings.TrimSpace(s)
	for _, layout := range []string{time.RFC3339Nano, "2006-01-02T15:04:05.999999999", "2006-01-02 15:04:05Z07:00", "2006-01-02"} {
		if t, err := time.Parse(layout, s); err == nil {
			return t.UTC(), true
		}
	}
	return time.Time{}, false
}

// passes reports whether t passes the bound op(after).
func passes(t time.Time, op string, after time.Time) bool {
	switch op {
	case opGreaterThan:
		return t.After(after)
	case opGreaterOrEqual:
		return !t.Before(after)
	}
	return true
}

func badFilter(detail string) *apiError {
	return &apiError{status: http.StatusBadRequest, code: "invalid", detail: detail, parameter: "filter"}
}
