package workflow

import (
	"bytes"
	"encoding/json"
	"fmt"
	"maps"
	"strconv"
	"time"

	"synclayer"
)

// ContactView is the contact as filters and templates see it: the
// canonical fields under short names (orders is totalOrders), consent as
// marketable, tags as the sources' and the workflows' together, the
// lifecycle stage and owner (a CRM owner ID; ownerName and ownerEmail
// are filled when an action runs, from the CRM's owners), and every
// other field under fields. Every standard key is present, empty when
// unknown, so "contact.orders == 1" is false rather than an error for a
// contact without orders.
func ContactView(c *synclayer.Contact) map[string]any {
	v := map[string]any{
		"id": "", "email": "", "phone": "", "firstName": "", "lastName": "",
		"orders": 0.0, "totalSpent": 0.0, "tier": "", "tags": []any{},
		"marketable": false, "emailConsent": "", "smsConsent": "",
		"lastOrderDate": "", "firstOrderDate": "", "createdAt": "", "fields": map[string]any{},
		"lifecycleStage": "", "owner": "", "ownerName": "", "ownerEmail": "",
	}
	if c == nil {
		return v
	}
	text := func(f string) string {
		var s string
		_ = json.Unmarshal(c.Value(f), &s)
		return s
	}
	tags := []any{}
	for _, t := range c.AllTags() {
		tags = append(tags, t)
	}
	fields := map[string]any{}
	for name, f := range c.Fields {
		if synclayer.KindOf(name) == synclayer.KindAny && name != synclayer.FieldWorkflowTags {
			var x any
			if json.Unmarshal(f.Value, &x) == nil {
				fields[name] = x
			}
		}
	}
	maps.Copy(v, map[string]any{
		"id": c.ID, "email": c.Email, "phone": c.Phone,
		"firstName": text(synclayer.FieldFirstName), "lastName": text(synclayer.FieldLastName),
		"orders": number(c.Value(synclayer.FieldTotalOrders)), "totalSpent": number(c.Value(synclayer.FieldTotalSpent)),
		"tier": text(synclayer.FieldCustomerTier), "tags": tags, "marketable": c.Marketable(),
		"emailConsent": string(c.EmailConsent.State), "smsConsent": string(c.SMSConsent.State),
		"lastOrderDate": text(synclayer.FieldLastOrderDate), "firstOrderDate": text(synclayer.FieldFirstOrderDate),
		"createdAt": c.CreatedAt.UTC().Format(time.RFC3339), "fields": fields,
		"lifecycleStage": text(synclayer.FieldLifecycleStage), "owner": text(synclayer.FieldOwner),
	})
	return v
}

// number reads a JSON number or a decimal string; 0 when it is neither.
func number(raw json.RawMessage) float64 {
	var n json.Number
	if json.Unmarshal(raw, &n) == nil {
		f, _ := n.Float64()
		return f
	}
	var s string
	if json.Unmarshal(raw, &s) == nil {
		f, _ := strconv.ParseFloat(s, 64)
		return f
	}
	return 0
}

// View is what a rule sees of a trigger: its data under the trigger's
// noun, the contact and the event. It returns the view in JSON types for
// filters (numbers are doubles) and as JSON for the action rows, whose
// numbers keep their exact text ("129.90"), so a template prints an
// amount as the source sent it.
func View(t synclayer.Trigger, c *synclayer.Contact) (map[string]any, []byte, error) {
	v := map[string]any{
		"contact": ContactView(c),
		"event": map[string]any{
			"id": t.EventID, "type": string(t.Type), "source": t.Source, "key": t.Key, "at": t.At.UTC().Format(time.RFC3339Nano),
		},
	}
	if n := nouns[t.Type]; n != "" {
		data := t.Data
		if data == nil {
			data = map[string]any{}
		}
		v[n] = data
	}
	b, err := json.Marshal(v)
	if err != nil {
		return nil, nil, fmt.Errorf("workflow view of %s %s: %w", t.Type, t.Key, err)
	}
	var out map[string]any
	if err := json.Unmarshal(b, &out); err != nil {
		return nil, nil, fmt.Errorf("workflow view of %s %s: %w", t.Type, t.Key, err)
	}
	return out, b, nil
}

// decodeView reads a stored view for templates, numbers as json.Number.
func decodeView(b []byte) (map[string]any, error) {
	d := json.NewDecoder(bytes.NewReader(b))
	d.UseNumber()
	var v map[string]any
	err := d.Decode(&v)
	return v, err
}
