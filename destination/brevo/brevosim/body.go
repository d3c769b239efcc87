package brevosim

import (
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/mail"
	"regexp"
	"strconv"
	"strings"
)

// Brevo's own messages where they are known (its docs, integrators' reports);
// the rest are plain descriptions in the same style.
const (
	msgContactExists = "Contact already exist"
	msgNotFound      = "Contact does not exist"
	msgMissingID     = "An email, ext_id or SMS phone number is mandatory to create a new contact"
	msgBadSMS        = "Invalid phone number, SMS phone number should be in format: 91xxxxxxxxxx or +91xxxxxxxxxx"
	msgDupSMS        = "SMS phone number is already associated with another contact"
	msgDupEmail      = "email is already associated with another Contact"
	msgDupExtID      = "ext_id is already associated with another Contact"
	msgBadEmail      = "Invalid email address"
)

// smsPattern is the accepted SMS form: an optional + or 00, then 6 to 15
// digits, country code first. The digits are what is stored.
var smsPattern = regexp.MustCompile(`^(?:\+|00)?([0-9]{6,15})$`)

// apiError is an error answer a handler decided on.
type apiError struct {
	status int
	body   errorBody
}

func badRequest(code, msg string, duplicates ...string) *apiError {
	e := &apiError{status: http.StatusBadRequest, body: errorBody{Code: code, Message: msg}}
	if len(duplicates) > 0 {
		e.body.Metadata = map[string]any{"duplicate_identifiers": duplicates}
	}
	return e
}

var errNotFound = &apiError{status: http.StatusNotFound, body: errorBody{Code: "document_not_found", Message: msgNotFound}}

func (e *apiError) write(w http.ResponseWriter) { writeJSON(w, e.status, e.body) }

// contactBody is the body of POST /contacts and PUT /contacts/{identifier}.
type contactBody struct {
	Email            string         `json:"email"`
	ExtID            *string        `json:"ext_id"`
	Attributes       map[string]any `json:"attributes"`
	EmailBlacklisted *bool          `json:"emailBlacklisted"`
	SMSBlacklisted   *bool          `json:"smsBlacklisted"`
	ListIDs          []int64        `json:"listIds"`
	UnlinkListIDs    []int64        `json:"unlinkListIds"`
	UpdateEnabled    bool           `json:"updateEnabled"`

	// Filled by parse: the identifiers asked for, normalized, and the
	// attributes that exist in the account with a value of the right type.
	email, extID, sms string
	hasSMS            bool
	attrs             map[string]any
}

// parse decodes and checks r's body; s.mu must be held. For an update,
// attributes.EMAIL is the new email.
func (s *Server) parse(r *http.Request, update bool) (*contactBody, *apiError) {
	data, _ := io.ReadAll(r.Body)
	var b contactBody
	if err := json.Unmarshal(data, &b); err != nil {
		var te *json.UnmarshalTypeError
		if errors.As(err, &te) && te.Field != "" {
			return nil, badRequest("invalid_parameter", "Invalid value for "+te.Field)
		}
		return nil, badRequest("invalid_parameter", "Input must be a valid JSON object")
	}
	b.email = b.Email
	if update {
		b.email = ""
		if v, ok := b.Attributes["EMAIL"].(string); ok {
			b.email = v
		}
	}
	b.email = strings.ToLower(strings.TrimSpace(b.email))
	if b.email != "" && !validEmail(b.email) {
		return nil, badRequest("invalid_parameter", msgBadEmail)
	}
	if b.ExtID != nil {
		b.extID = *b.ExtID
	} else if v, ok := b.Attributes["EXT_ID"].(string); ok {
		b.extID = v
	}
	b.attrs = map[string]any{}
	for k, v := range b.Attributes {
		typ, ok := s.attrType(k)
		switch {
		case k == "EMAIL" || k == "EXT_ID" || !ok:
			// identifiers have their own fields; unknown attributes are dropped
		case k == "SMS":
			sms, ok := normalizeSMS(v)
			if !ok {
				return nil, badRequest("invalid_parameter", msgBadSMS)
			}
			b.sms, b.hasSMS = sms, true
		case validValue(typ, v):
			b.attrs[k] = v
		}
	}
	return &b, nil
}

func validEmail(s string) bool {
	a, err := mail.ParseAddress(s)
	if err != nil || a.Address != s {
		return false
	}
	_, domain, _ := strings.Cut(s, "@")
	return strings.Contains(domain, ".") && !strings.HasSuffix(domain, ".")
}

func normalizeSMS(v any) (string, bool) {
	var s string
	switch v := v.(type) {
	case string:
		s = strings.TrimSpace(v)
	case float64:
		s = strconv.FormatFloat(v, 'f', -1, 64)
	default:
		return "", false
	}
	m := smsPattern.FindStringSubmatch(s)
	if m == nil {
		return "", false
	}
	return m[1], true
}
