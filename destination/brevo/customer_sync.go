package brevo

import (
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"slices"
	"strings"
	"time"

	"synclayer"
)

// ContactSync is Brevo's side of customer-sync: canonical contacts to
// Brevo contacts, addressed by our contact ID as ext_id. The shared runner
// (package skill) reads the records and writes the outcome; this plans and
// makes the Brevo calls.
type ContactSync struct {
	// Store is read by PlanImport only, the batch path.
	Store        synclayer.Store
	Client       *Client
	FieldMapping map[string]string // canonical field → Brevo attribute; "email" maps to the contact's email
	ListID       int64
	// ImportListID is the batch path's list for contacts without
	// marketing consent; 0 sends them realtime.
	ImportListID int64
	// NoCreate forbids creating missing attributes (create_attributes: false).
	NoCreate bool
	// HardDelete deletes the contact in Brevo; otherwise a delete only
	// unlinks it from ListID and keeps it.
	HardDelete bool
	// ClearUnmapped empties the attributes an earlier mapping filled that
	// this one no longer maps; by default they are left alone.
	ClearUnmapped bool
	// Destination is the account's name in config, under which the batch
	// path reads and records sync state; "" means brevo.
	Destination string
	Logger      *slog.Logger
}

// accountName is the name sync state of a Brevo account is recorded
// under: the destination's name in config, brevo when none is given.
func accountName(name string) string {
	if name == "" {
		return "brevo"
	}
	return name
}

var _ synclayer.ContactSync = (*ContactSync)(nil)

// brevoState is what Brevo is known to hold for a contact after the last
// successful delivery.
type brevoState struct {
	Email      string                     `json:"email,omitempty"`
	Attributes map[string]json.RawMessage `json:"attributes,omitempty"`
	// Kept are the attributes an earlier mapping sent that this one no
	// longer maps: Brevo still holds them, left alone. An import row never
	// carries them.
	Kept             map[string]json.RawMessage `json:"kept,omitempty"`
	InList           bool                       `json:"inList,omitempty"`
	EmailBlacklisted bool                       `json:"emailBlacklisted,omitempty"`
	SMSBlacklisted   bool                       `json:"smsBlacklisted,omitempty"`
	Deleted          bool                       `json:"deleted,omitempty"`

	// EmailBlockedByUs and SMSBlockedByUs record that synclayer set the
	// blocklist flag, written before the call that sets it. Only a block we
	// made may ever be lifted, by an explicit opt-in: Brevo's own
	// unsubscribes are never undone.
	EmailBlockedByUs bool `json:"emailBlockedByUs,omitempty"`
	SMSBlockedByUs   bool `json:"smsBlockedByUs,omitempty"`
}

// Op is one planned Brevo call.
type Op string

const (
	OpNone   Op = "none"
	OpCreate Op = "create" // POST /contacts with updateEnabled
	OpUpdate Op = "update" // PUT /contacts/{ext_id}
	OpDelete Op = "delete" // DELETE /contacts/{ext_id}
)

// Plan is what a delivery will do and what Brevo will hold afterwards.
type Plan struct {
	Op     Op                    `json:"op"`
	Create *CreateContactRequest `json:"create,omitempty"`
	Update *UpdateContactRequest `json:"update,omitempty"`
	Next   brevoState            `json:"-"`
	Reason string                `json:"reason,omitempty"`
	// Unmapped names the attributes left alone or cleared because the
	// mapping no longer sends them.
	Unmapped synclayer.UnmappedAttributes `json:"unmapped,omitzero"`
}

// plan decides the Brevo call for contact c given what Brevo holds (prev is
// nil when the contact was never delivered). Consent flags are sent only on
// a change: an opt-out sends emailBlacklisted true, and false is sent only
// when an explicit opt-in follows a blocklisting we made.
func (s *ContactSync) plan(c *synclayer.Contact, prev *brevoState) (Plan, error) {
	if c.Deleted {
		return s.planDelete(prev), nil
	}
	attrs, email, err := s.attributes(c)
	if err != nil {
		return Plan{}, err
	}
	if email == "" && attrs["SMS"] == nil && c.Phone == "" {
		return Plan{}, synclayer.Permanent(errors.New("the contact has neither an email nor a mapped phone, so Brevo cannot identify it"))
	}
	wantList := s.ListID > 0 && c.Marketable()
	wantEmailBL := c.EmailConsent.State == synclayer.ConsentUnsubscribed
	wantSMSBL := c.SMSConsent.State == synclayer.ConsentUnsubscribed
	next := brevoState{Email: email, Attributes: attrs, InList: wantList}

	if prev == nil || prev.Deleted {
		req := &CreateContactRequest{Email: email, ExtID: c.ID, Attributes: anyMap(attrs), UpdateEnabled: true}
		if wantList {
			req.ListIDs = []int64{s.ListID}
		}
		if prev != nil {
			next.EmailBlockedByUs, next.SMSBlockedByUs = prev.EmailBlockedByUs, prev.SMSBlockedByUs
		}
		// A block this account reported itself (an unsubscribe from one
		// of its campaigns) is Brevo's, not ours, even when we send it.
		self := accountName(s.Destination)
		if wantEmailBL {
			req.EmailBlacklisted, next.EmailBlacklisted, next.EmailBlockedByUs = ptr(true), true, c.EmailConsent.Source != self
		}
		if wantSMSBL {
			req.SMSBlacklisted, next.SMSBlacklisted, next.SMSBlockedByUs = ptr(true), true, c.SMSConsent.Source != self
		}
		return Plan{Op: OpCreate, Create: req, Next: next}, nil
	}

	req := &UpdateContactRequest{}
	changed := map[string]any{}
	d := synclayer.DiffAttributes(synclayer.MergeAttributes(prev.Kept, prev.Attributes), attrs, s.mapped, s.ClearUnmapped)
	held := synclayer.MergeAttributes(prev.Kept, prev.Attributes)
	for name, v := range d.Send {
		changed[name] = v
	}
	keep := maps.Clone(d.Kept)
	// Brevo takes no null for an attribute (its spec allows a string,
	// number, boolean or list): an empty string empties it. Except SMS:
	// Brevo refuses an empty one ("Invalid phone number"), so the number
	// it holds stays.
	for _, name := range d.Clear {
		if name == "SMS" {
			keep[name] = held[name]
			continue
		}
		changed[name] = json.RawMessage(`""`)
	}
	cleared := d.ClearUnmapped[:0:0]
	for _, name := range d.ClearUnmapped {
		if name == "SMS" {
			keep[name], d.Kept[name] = held[name], held[name]
			continue
		}
		changed[name], cleared = json.RawMessage(`""`), append(cleared, name)
	}
	d.ClearUnmapped = cleared
	if len(keep) > 0 {
		next.Kept = keep
	}
	unmapped := d.Unmapped()
	if email != "" && email != prev.Email {
		changed["EMAIL"] = email
	}
	if len(changed) > 0 {
		req.Attributes = changed
	}
	switch {
	case wantList && !prev.InList:
		req.ListIDs = []int64{s.ListID}
	case !wantList && prev.InList:
		req.UnlinkListIDs = []int64{s.ListID}
	}
	self := accountName(s.Destination)
	next.EmailBlacklisted, next.EmailBlockedByUs = blockFlag(&req.EmailBlacklisted, wantEmailBL, prev.EmailBlacklisted, prev.EmailBlockedByUs, c.EmailConsent, self)
	next.SMSBlacklisted, next.SMSBlockedByUs = blockFlag(&req.SMSBlacklisted, wantSMSBL, prev.SMSBlacklisted, prev.SMSBlockedByUs, c.SMSConsent, self)
	if req.Attributes == nil && req.ListIDs == nil && req.UnlinkListIDs == nil && req.EmailBlacklisted == nil && req.SMSBlacklisted == nil {
		same := *prev // the same, with what is no longer mapped kept apart
		same.Attributes, same.Kept = attrs, next.Kept
		return Plan{Op: OpNone, Next: same, Reason: "nothing the mapping sends has changed", Unmapped: unmapped}, nil
	}
	return Plan{Op: OpUpdate, Update: req, Next: next, Unmapped: unmapped}, nil
}

// blockFlag decides one channel's blocklist flag: set it on an opt-out, and
// lift it only when synclayer set it and an explicit opt-in (from the
// consent owner, as Merge enforces) now stands. A block this account
// reported itself (consent's source is self: an unsubscribe from one of
// its campaigns, through its webhook or the reconciliation) is Brevo's,
// even when synclayer sent it too or had set it before, and is never
// lifted. It returns the flag and the by-us mark Brevo will hold
// afterwards.
func blockFlag(send **bool, want, blocked, byUs bool, consent synclayer.Consent, self string) (bool, bool) {
	reported := consent.State == synclayer.ConsentUnsubscribed && consent.Source == self
	switch {
	case want && !blocked:
		*send = ptr(true)
		return true, !reported
	case blocked && byUs && reported:
		return true, false // Brevo has since reported its own opt-out
	case blocked && byUs && consent.State == synclayer.ConsentSubscribed:
		*send = ptr(false)
		return false, false
	}
	return blocked, byUs
}

func (s *ContactSync) planDelete(prev *brevoState) Plan {
	if prev == nil || prev.Deleted {
		return Plan{Op: OpNone, Next: brevoState{Deleted: true}, Reason: "not in Brevo"}
	}
	if s.HardDelete {
		return Plan{Op: OpDelete, Next: brevoState{Deleted: true}}
	}
	next := *prev
	next.Deleted, next.InList = true, false
	if !prev.InList || s.ListID == 0 {
		return Plan{Op: OpNone, Next: next, Reason: "soft delete: the contact is kept and is in no synced list"}
	}
	return Plan{Op: OpUpdate, Update: &UpdateContactRequest{UnlinkListIDs: []int64{s.ListID}}, Next: next}
}

// mapped reports whether attr is a target of the mapping in effect.
func (s *ContactSync) mapped(attr string) bool {
	for _, a := range s.FieldMapping {
		if a == attr {
			return true
		}
	}
	return false
}

// attributes converts the mapped canonical fields to Brevo attribute values.
// Only mapped fields leave synclayer.
func (s *ContactSync) attributes(c *synclayer.Contact) (map[string]json.RawMessage, string, error) {
	attrs := map[string]json.RawMessage{}
	var email string
	for _, field := range slices.Sorted(maps.Keys(s.FieldMapping)) {
		attr := s.FieldMapping[field]
		raw := c.Value(field)
		if field == synclayer.FieldTags && c.Value(synclayer.FieldWorkflowTags) != nil {
			raw, _ = json.Marshal(c.AllTags()) // the sources' tags with the workflows' (add_tag)
		}
		if raw == nil {
			continue
		}
		if strings.EqualFold(attr, "email") {
			_ = json.Unmarshal(raw, &email)
			continue
		}
		v, err := ConvertValue(synclayer.KindOf(field), raw)
		if err != nil {
			return nil, "", synclayer.Permanent(fmt.Errorf("field %s (Brevo attribute %s): %w", field, attr, err))
		}
		if v != nil {
			attrs[attr] = v
		}
	}
	return attrs, email, nil
}

// ConvertValue turns a canonical value into the form Brevo expects for its
// kind: dates as YYYY-MM-DD, numbers as JSON numbers, tags joined with ", ".
// It returns nil for a value that has nothing to send.
func ConvertValue(kind synclayer.FieldKind, raw json.RawMessage) (json.RawMessage, error) {
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
		if y := t.UTC().Year(); y < 1 || y > 9999 {
			return nil, fmt.Errorf("date %q is outside the years 1 to 9999", s)
		}
		return mustJSON(t.UTC().Format("2006-01-02")), nil
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
		return mustJSON(strings.Join(tags, ", ")), nil
	case synclayer.KindText, synclayer.KindPhone:
		var s string
		if err := json.Unmarshal(raw, &s); err != nil {
			return nil, fmt.Errorf("%s is not a string", raw)
		}
		return mustJSON(s), nil
	}
	return raw, nil
}

// AttributeType is the Brevo attribute type to create for a canonical field.
func AttributeType(field string) string {
	switch synclayer.KindOf(field) {
	case synclayer.KindNumber:
		return "float"
	case synclayer.KindDate:
		return "date"
	}
	return "text"
}

func anyMap(m map[string]json.RawMessage) map[string]any {
	if len(m) == 0 {
		return nil
	}
	out := make(map[string]any, len(m))
	for k, v := range m {
		out[k] = v
	}
	return out
}

func mustJSON(v any) json.RawMessage {
	b, _ := json.Marshal(v)
	return b
}

func ptr[T any](v T) *T { return &v }
