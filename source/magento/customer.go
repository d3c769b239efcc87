package magento

import (
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"synclayer"
	"synclayer/normalize"
)

// record is one Magento entity as JSON, with the path its fields are
// named by in errors: "data.customer" in a webhook, "items[3]" in a page.
type record struct {
	path string
	m    map[string]json.RawMessage
}

func (r record) field(name string) string {
	if r.path == "" {
		return name
	}
	return r.path + "." + name
}

func (r record) text(name string) (string, error) {
	s, err := normalize.String(r.field(name), r.m[name])
	return strings.TrimSpace(s), err
}

// id reads the entity's id: "id" in REST answers of customers and
// products, "entity_id" in orders and in every model a webhook carries.
func (r record) id() (string, error) {
	for _, k := range []string{"id", "entity_id"} {
		if raw, ok := r.m[k]; ok && !normalize.IsNull(raw) {
			id, err := normalize.ID(r.field(k), raw)
			if err != nil || id != "" {
				return id, err
			}
		}
	}
	return "", synclayer.FieldErrorf(r.field("id"), "missing; a Magento record carries its id (entity_id)")
}

// timeLayout is how Magento writes dates: UTC, without an offset.
const timeLayout = "2006-01-02 15:04:05"

// date reads a Magento date ("2024-01-15 10:20:30", UTC) or an RFC 3339
// one; missing or "" is the zero time.
func (r record) date(name string) (time.Time, error) {
	s, err := r.text(name)
	if err != nil || s == "" {
		return time.Time{}, err
	}
	if t, err := time.Parse(timeLayout, s); err == nil {
		return t.UTC(), nil
	}
	t, err := normalize.Time(s)
	if err != nil {
		return time.Time{}, synclayer.FieldErrorf(r.field(name), "%q is not a date: Magento writes them like 2024-01-15 10:20:30 (UTC)", normalize.Clip(s))
	}
	return t, nil
}

// updatedAt reads updated_at, which dates the change, decides newer-wins
// and makes the dedupe key; created_at stands in for a record never
// updated.
func (r record) updatedAt() (created, updated time.Time, err error) {
	if created, err = r.date("created_at"); err != nil {
		return
	}
	if updated, err = r.date("updated_at"); err != nil {
		return
	}
	if updated.IsZero() {
		updated = created
	}
	if updated.IsZero() {
		err = synclayer.FieldErrorf(r.field("updated_at"), "missing; a Magento record carries updated_at, which dates the change")
	}
	return
}

func (r record) object(name string) (record, bool, error) {
	raw, ok := r.m[name]
	if !ok || normalize.IsNull(raw) {
		return record{}, false, nil
	}
	m, err := normalize.Object(r.field(name), raw)
	return record{path: r.field(name), m: m}, err == nil, err
}

// flag reads a yes/no field as Magento writes it: a JSON boolean in REST
// answers, but the model's raw column in a webhook, 0 or 1 as a number
// or a string. ok is false when the field is absent or null.
func flag(field string, raw json.RawMessage) (b, ok bool, err error) {
	if normalize.IsNull(raw) {
		return false, false, nil
	}
	switch strings.Trim(strings.TrimSpace(string(raw)), `"`) {
	case "1":
		return true, true, nil
	case "0", "":
		return false, true, nil
	}
	b, ok, err = normalize.Bool(field, raw)
	if err != nil {
		return false, false, synclayer.FieldErrorf(field, "must be true, false, 0 or 1")
	}
	return b, ok, nil
}

func jsonString(s string) json.RawMessage { b, _ := json.Marshal(s); return b }

// dedupeKey is the same for a record read by webhook and by the API, and
// differs for each change of it.
func dedupeKey(kind, id string, at time.Time) string {
	return "magento:" + kind + ":" + id + ":" + at.UTC().Format(time.RFC3339)
}

// parseCustomer reads a customer: the REST CustomerInterface, or the
// customer model a webhook carries. The phone and company come from the
// default billing address (else the first address). Consent comes from
// extension_attributes.is_subscribed (or a top-level is_subscribed):
// true is an opt-in; false is "not subscribed", never an opt-out, since
// Magento says false alike for a customer who never subscribed and one
// who left, and reading every never-subscribed customer as an opt-out
// would block them everywhere. Leaving is read from the newsletter
// subscriber's own status (subscriberEvent, webhook.go).
func parseCustomer(r record) (*synclayer.CustomerChange, time.Time, time.Time, error) {
	id, err := r.id()
	if err != nil {
		return nil, time.Time{}, time.Time{}, err
	}
	created, updated, err := r.updatedAt()
	if err != nil {
		return nil, time.Time{}, time.Time{}, err
	}
	ch := &synclayer.CustomerChange{SourceID: id, Fields: map[string]json.RawMessage{}}
	email, err := r.text("email")
	if err != nil {
		return nil, time.Time{}, time.Time{}, err
	}
	if email != "" {
		// As written: ingest checks and normalizes it, so a customer
		// saved with an address that cannot be synced is kept as a failed
		// event naming the field (and raises sync_failed), the same from a
		// webhook and from a poll, instead of refusing the delivery.
		ch.Fields[synclayer.FieldEmail] = jsonString(email)
	}
	for _, f := range [][2]string{{"firstname", synclayer.FieldFirstName}, {"lastname", synclayer.FieldLastName}} {
		v, err := r.text(f[0])
		if err != nil {
			return nil, time.Time{}, time.Time{}, err
		}
		if v != "" {
			ch.Fields[f[1]] = jsonString(v)
		}
	}
	if err := addressFields(r, ch); err != nil {
		return nil, time.Time{}, time.Time{}, err
	}
	sub, ok, err := subscribed(r)
	if err != nil {
		return nil, time.Time{}, time.Time{}, err
	}
	if ok {
		c := &synclayer.ConsentChange{State: synclayer.ConsentNone, At: updated}
		if sub {
			c.State = synclayer.ConsentSubscribed
		}
		ch.EmailConsent = c
	}
	return ch, created, updated, nil
}

func subscribed(r record) (b, ok bool, err error) {
	ext, has, err := r.object("extension_attributes")
	if err != nil {
		return false, false, err
	}
	if has {
		if b, ok, err = flag(ext.field("is_subscribed"), ext.m["is_subscribed"]); err != nil || ok {
			return b, ok, err
		}
	}
	return flag(r.field("is_subscribed"), r.m["is_subscribed"])
}

// addressFields reads the phone and company of the customer's default
// billing address. An unreadable phone is left out, as other sources do.
func addressFields(r record, ch *synclayer.CustomerChange) error {
	addrs, err := normalize.Array(r.field("addresses"), r.m["addresses"])
	if err != nil || len(addrs) == 0 {
		return err
	}
	var pick record
	for i, raw := range addrs {
		m, err := normalize.Object(fmt.Sprintf("%s[%d]", r.field("addresses"), i), raw)
		if err != nil {
			return err
		}
		a := record{path: fmt.Sprintf("%s[%d]", r.field("addresses"), i), m: m}
		if def, _, _ := flag(a.field("default_billing"), m["default_billing"]); def || i == 0 {
			pick = a
		}
	}
	phone, err := pick.text("telephone")
	if err != nil {
		return err
	}
	if p, err := normalize.Phone(phone, ""); phone != "" && err == nil {
		ch.Fields[synclayer.FieldPhone] = jsonString(p)
	}
	company, err := pick.text("company")
	if err != nil {
		return err
	}
	if company != "" {
		ch.Fields[synclayer.FieldCompany] = jsonString(company)
	}
	return nil
}

// customerEvent makes the event of a customer read by webhook or API.
func (s *Source) customerEvent(r record, topic string, body []byte, now time.Time) (*synclayer.Event, error) {
	ch, created, updated, err := parseCustomer(r)
	if err != nil {
		return nil, err
	}
	typ := synclayer.EventCustomerUpdated
	if created.Equal(updated) {
		typ = synclayer.EventCustomerCreated
	}
	return &synclayer.Event{Source: s.name, DedupeKey: dedupeKey("customer", ch.SourceID, updated), Topic: topic, Type: typ,
		OccurredAt: updated, ReceivedAt: now.UTC(), Payload: body, Customer: ch}, nil
}
