package klaviyosim

import (
	"net/http"
	"regexp"
)

// filterPattern is the one filter form the simulator reads: equals(field,
// "value") or with single quotes, for the identifiers get_profiles allows.
var filterPattern = regexp.MustCompile(`^equals\((id|email|phone_number|external_id),\s*(?:"([^"]*)"|'([^']*)')\)$`)

// parseFilter reads a filter parameter. Other operators and fields, which
// Klaviyo allows for other uses, are answered 400 so that a client relying
// on them notices the simulator does not model them.
func parseFilter(f string) (field, value string, e *apiError) {
	m := filterPattern.FindStringSubmatch(f)
	if m == nil {
		return "", "", &apiError{status: http.StatusBadRequest, code: "invalid",
			detail: "The simulator supports only equals(id|email|phone_number|external_id,\"value\") filters.", parameter: "filter"}
	}
	value = m[2]
	if value == "" {
		value = m[3]
	}
	return m[1], value, nil
}
