package synclayer

import (
	"bytes"
	"encoding/json"
	"slices"
	"strings"
	"time"
)

// Canonical contact field names. The keys of a customer-sync field_mapping
// are these names; any other key is a custom attribute carried as it is.
const (
	FieldEmail         = "email"
	FieldPhone         = "phone"
	FieldFirstName     = "firstName"
	FieldLastName      = "lastName"
	FieldTotalOrders   = "totalOrders"
	FieldTotalSpent    = "totalSpent"
	FieldLastOrderDate = "lastOrderDate"
	FieldCustomerTier  = "customerTier"
	FieldTags          = "tags"
	// FieldCompany is the name of the company the person buys for (a
	// store's address company, a form's company field); a CRM keeps it
	// as a company record linked to the contact.
	FieldCompany = "company"
	// FieldLifecycleStage and FieldOwner are in lifecycle.go.
)

// CanonicalFields are the contact fields every source fills, in the order
// the documentation lists them.
var CanonicalFields = []string{
	FieldEmail, FieldPhone, FieldFirstName, FieldLastName, FieldTotalOrders, FieldTotalSpent,
	FieldLastOrderDate, FieldFirstOrderDate, FieldCustomerTier, FieldTags, FieldLifecycleStage, FieldOwner,
	FieldOpenTickets, FieldLastTicketAt, FieldSubscriptionStatus, FieldPlan, FieldMRR, FieldCompany,
}

// MisspeltField returns the canonical field name is a spelling of, other
// than its own (first_name, FirstName, first-name for firstName), or "".
// A name like that is never a custom attribute anyone meant: taken for one,
// it would be stored and sent nowhere.
func MisspeltField(name string) string {
	fold := func(s string) string {
		return strings.ToLower(strings.NewReplacer("_", "", "-", "", " ", "", ".", "").Replace(s))
	}
	for _, f := range CanonicalFields {
		if f != name && fold(f) == fold(name) {
			return f
		}
	}
	return ""
}

// FieldKind says how a canonical field's value is typed, which decides how a
// destination converts it.
type FieldKind int

const (
	KindText   FieldKind = iota // JSON string
	KindNumber                  // JSON number, or a decimal string kept exact
	KindDate                    // RFC 3339 timestamp string, in UTC
	KindList                    // JSON array of strings
	KindPhone                   // E.164 string
	KindAny                     // custom attribute: any JSON value
)

// KindOf returns the kind of a canonical field.
func KindOf(field string) FieldKind {
	switch field {
	case FieldEmail, FieldFirstName, FieldLastName, FieldCustomerTier, FieldLifecycleStage, FieldOwner, FieldSubscriptionStatus, FieldPlan, FieldCompany, FieldCompanyID:
		return KindText
	case FieldPhone:
		return KindPhone
	case FieldTotalOrders, FieldTotalSpent, FieldOpenTickets, FieldMRR:
		return KindNumber
	case FieldLastOrderDate, FieldFirstOrderDate, FieldLastTicketAt:
		return KindDate
	case FieldTags:
		return KindList
	}
	return KindAny
}

// Field is one canonical value with its provenance: the source that set it
// and the source's own timestamp for it, which decides newer-wins.
type Field struct {
	Value  json.RawMessage `json:"v"`
	At     time.Time       `json:"at"`
	Source string          `json:"src"`
}

// Contact is the one canonical record of a person across all sources.
type Contact struct {
	ID        string            `json:"id"`
	SourceIDs map[string]string `json:"sourceIds"` // source name → the ID it uses
	Email     string            `json:"email,omitempty"`
	Phone     string            `json:"phone,omitempty"`
	Fields    map[string]Field  `json:"fields"`

	EmailConsent Consent `json:"emailConsent"`
	SMSConsent   Consent `json:"smsConsent"`

	Deleted   bool      `json:"deleted,omitempty"`
	DeletedAt time.Time `json:"deletedAt,omitzero"`

	CreatedAt time.Time `json:"createdAt"`
	UpdatedAt time.Time `json:"updatedAt"`
	Version   int64     `json:"version"` // bumped on every applied change
}

// Value returns the raw value of a field, or nil when it is unset.
func (c *Contact) Value(field string) json.RawMessage {
	if f, ok := c.Fields[field]; ok {
		return f.Value
	}
	return nil
}

// Marketable reports whether the contact may receive email marketing: only
// after an explicit opt-in that no newer opt-out has withdrawn.
func (c *Contact) Marketable() bool {
	return !c.Deleted && c.EmailConsent.State == ConsentSubscribed
}

// CustomerChange is what one event says about a customer. Fields holds only
// the fields the event carries; a JSON null clears a field. Old holds, for
// partial updates, the value the sender believed the field had.
type CustomerChange struct {
	SourceID     string                     `json:"sourceId,omitempty"`
	Fields       map[string]json.RawMessage `json:"fields,omitempty"`
	Old          map[string]json.RawMessage `json:"old,omitempty"`
	EmailConsent *ConsentChange             `json:"emailConsent,omitempty"`
	SMSConsent   *ConsentChange             `json:"smsConsent,omitempty"`
	Delete       bool                       `json:"delete,omitempty"`
}

// Identifies reports whether the change carries anything identity
// resolution can match on.
func (ch *CustomerChange) Identifies() bool {
	return ch.SourceID != "" || ch.text(FieldEmail) != "" || ch.text(FieldPhone) != ""
}

// Email returns the change's email, or "" when it carries none.
func (ch *CustomerChange) Email() string { return ch.text(FieldEmail) }

// Phone returns the change's phone, or "" when it carries none.
func (ch *CustomerChange) Phone() string { return ch.text(FieldPhone) }

func (ch *CustomerChange) text(field string) string {
	var s string
	if raw, ok := ch.Fields[field]; ok {
		_ = json.Unmarshal(raw, &s)
	}
	return s
}

// Rules that decide a field, as recorded in a contact's trace.
const (
	RuleNewerWins        = "newer_wins"
	RuleStale            = "stale_ignored"
	RuleUnchanged        = "unchanged"
	RuleSourceOfTruth    = "source_of_truth"
	RuleOldMismatch      = "old_value_mismatch"
	RuleConsentOptOut    = "consent_opt_out"
	RuleConsentOptIn     = "consent_opt_in"
	RuleConsentProtected = "consent_protected"
	RuleDeleted          = "deleted"
	RuleIgnoredDeleted   = "ignored_contact_deleted"
	RuleRestored         = "restored"
	// RuleIdentityMerged (field "identity") records that an event's record
	// joined an existing contact found by email or phone: two records of
	// one person merged. The health report counts these.
	RuleIdentityMerged = "identity_merged"
)

// Decision records how one field of one event was decided.
type Decision struct {
	Field   string          `json:"field"`
	Rule    string          `json:"rule"`
	Applied bool            `json:"applied"`
	Old     json.RawMessage `json:"old,omitempty"`
	New     json.RawMessage `json:"new,omitempty"`
	Note    string          `json:"note,omitempty"`
}

// MergeContext says who is changing a contact, and when.
type MergeContext struct {
	Source string
	At     time.Time // the source's own timestamp for the change
	// ConsentSources are the sources whose opt-ins count (mergeConsent);
	// none trusts every source.
	ConsentSources []string
	// FieldOwners are, by canonical field, the only systems (sources,
	// destinations reporting back, order-events) that may set it; a field
	// not listed is anyone's.
	FieldOwners map[string][]string
	Create      bool // the event is a creation, which may restore a deleted contact
}

// Merge applies ch to c under the store's rules and returns one Decision per
// field the change touched. It reports whether anything changed.
//
// A value older than the one held (by the sources' own timestamps) never
// overwrites it. A field owned by another source is left alone. Consent
// follows mergeConsent. A deleted contact takes no changes, except a newer
// creation, which restores it.
func Merge(c *Contact, ch *CustomerChange, mc MergeContext) (decisions []Decision, changed bool) {
	if c.Fields == nil {
		c.Fields = map[string]Field{}
	}
	if c.SourceIDs == nil {
		c.SourceIDs = map[string]string{}
	}
	if ch.SourceID != "" && c.SourceIDs[mc.Source] != ch.SourceID {
		c.SourceIDs[mc.Source] = ch.SourceID
		changed = true
	}
	// Consent is about the person, not the record: it is kept even while the
	// contact is deleted, so a restored contact keeps its opt-out.
	if ch.EmailConsent != nil {
		d := applyConsent(&c.EmailConsent, "emailConsent", *ch.EmailConsent, mc)
		decisions = append(decisions, d)
		changed = changed || d.Applied
	}
	if ch.SMSConsent != nil {
		d := applyConsent(&c.SMSConsent, "smsConsent", *ch.SMSConsent, mc)
		decisions = append(decisions, d)
		changed = changed || d.Applied
	}
	if c.Deleted {
		if !mc.Create || !mc.At.After(c.DeletedAt) {
			return append(decisions, Decision{Field: "*", Rule: RuleIgnoredDeleted, Note: "the contact was deleted at " + c.DeletedAt.Format(time.RFC3339)}), changed
		}
		c.Deleted, c.DeletedAt = false, time.Time{}
		decisions = append(decisions, Decision{Field: "*", Rule: RuleRestored, Applied: true})
		changed = true
	}
	if ch.Delete {
		if newest := c.newestFieldTime(); mc.At.Before(newest) {
			return append(decisions, Decision{Field: "*", Rule: RuleStale, Note: "a newer change is held"}), changed
		}
		c.Deleted, c.DeletedAt = true, mc.At
		return append(decisions, Decision{Field: "*", Rule: RuleDeleted, Applied: true}), true
	}
	for _, name := range sortedKeys(ch.Fields) {
		d := mergeField(c, name, ch, mc)
		decisions = append(decisions, d...)
		for _, x := range d {
			changed = changed || x.Applied
		}
	}
	c.Email = textValue(c.Value(FieldEmail))
	c.Phone = textValue(c.Value(FieldPhone))
	return decisions, changed
}

func mergeField(c *Contact, name string, ch *CustomerChange, mc MergeContext) []Decision {
	val := ch.Fields[name]
	cur, held := c.Fields[name]
	var out []Decision
	if old, ok := ch.Old[name]; ok && !sameJSON(old, cur.Value) {
		out = append(out, Decision{Field: name, Rule: RuleOldMismatch, Old: cur.Value, New: old,
			Note: "the sender's old value differs from the one held; the newer timestamp decides"})
	}
	d := Decision{Field: name, Old: cur.Value, New: val}
	var stage *Decision
	if name == FieldLifecycleStage {
		val, stage = checkStage(c, val, mc)
		d.New = val
	}
	switch owners := mc.FieldOwners[name]; {
	case len(owners) > 0 && !slices.Contains(owners, mc.Source):
		d.Rule, d.Note = RuleSourceOfTruth, "owned by "+strings.Join(owners, " and ")+", not "+mc.Source
	case held && mc.At.Before(cur.At):
		d.Rule, d.Note = RuleStale, "held value is from "+cur.At.Format(time.RFC3339)
	case stage != nil:
		d = *stage
	case held && sameJSON(cur.Value, val):
		d.Rule = RuleUnchanged
		if mc.At.After(cur.At) {
			cur.At = mc.At
			c.Fields[name] = cur
		}
	default:
		d.Rule, d.Applied = RuleNewerWins, true
		if isNull(val) {
			delete(c.Fields, name)
		} else {
			c.Fields[name] = Field{Value: val, At: mc.At, Source: mc.Source}
		}
	}
	return append(out, d)
}

func applyConsent(cur *Consent, field string, ch ConsentChange, mc MergeContext) Decision {
	if ch.At.IsZero() {
		ch.At = mc.At
	}
	next, rule, note := mergeConsent(*cur, ch, mc.Source, mc.ConsentSources)
	d := Decision{Field: field, Rule: rule, Old: jsonString(string(cur.State)), New: jsonString(string(ch.State)), Note: note}
	if next != *cur {
		*cur = next
		d.Applied = true
	}
	return d
}

func (c *Contact) newestFieldTime() time.Time {
	var t time.Time
	for _, f := range c.Fields {
		if f.At.After(t) {
			t = f.At
		}
	}
	return t
}

func sameJSON(a, b json.RawMessage) bool {
	if isNull(a) && isNull(b) {
		return true
	}
	return bytes.Equal(bytes.TrimSpace(a), bytes.TrimSpace(b))
}

func isNull(v json.RawMessage) bool {
	v = bytes.TrimSpace(v)
	return len(v) == 0 || string(v) == "null"
}

func textValue(v json.RawMessage) string {
	var s string
	_ = json.Unmarshal(v, &s)
	return s
}

func jsonString(s string) json.RawMessage {
	b, _ := json.Marshal(s)
	return b
}
