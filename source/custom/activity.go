package custom

import (
	"encoding/json"
	"maps"
	"slices"
	"time"

	"synclayer"
	"synclayer/normalize"
)

func init() {
	commerceEvents[string(synclayer.EventTicketCreated)] = parseTicket
	commerceEvents[string(synclayer.EventLoyaltyTierChanged)] = parseLoyalty
	commerceEvents[string(synclayer.EventFormSubmitted)] = parseForm
}

// activityFields keeps every key of data, checked as JSON, for workflows
// to see under the trigger's noun; keys listed in text must be strings.
func activityFields(data map[string]json.RawMessage, text ...string) (map[string]json.RawMessage, error) {
	out := map[string]json.RawMessage{}
	for _, k := range slices.Sorted(maps.Keys(data)) {
		path := join("data", k)
		if k == "" {
			return nil, synclayer.FieldErrorf(path, "a field needs a name")
		}
		var err error
		if slices.Contains(text, k) {
			var s string
			if s, err = normalize.String(path, data[k]); err == nil {
				out[k] = jsonString(s)
			}
		} else {
			out[k], err = normalize.Raw(path, data[k])
		}
		if err != nil {
			return nil, err
		}
	}
	return out, nil
}

func jsonString(s string) json.RawMessage {
	b, _ := json.Marshal(s)
	return b
}

// requiredEmail reads data.email, which identifies the person.
func requiredEmail(data map[string]json.RawMessage, why string) (json.RawMessage, error) {
	v, err := normalize.Text("data.email", data["email"])
	if err != nil {
		return nil, err
	}
	if normalize.IsNull(v) {
		return nil, synclayer.FieldErrorf("data.email", "missing; %s", why)
	}
	return v, nil
}

// parseTicket reads ticket_created: {id, email, subject, text, ...}. The
// ticket's id keys it, so a ticket delivered twice starts workflows once.
func parseTicket(_ synclayer.EventType, data map[string]json.RawMessage, _ time.Time) (*synclayer.Event, error) {
	id, err := requiredID(data, "data", "id", "name the ticket in data.id; a redelivered ticket with the same id counts once")
	if err != nil {
		return nil, err
	}
	email, err := requiredEmail(data, "set it to the email of whoever opened the ticket")
	if err != nil {
		return nil, err
	}
	fields, err := activityFields(data, "email", "subject", "text")
	if err != nil {
		return nil, err
	}
	fields["id"] = jsonString(id)
	for _, k := range []string{"subject", "text"} {
		if _, ok := fields[k]; !ok {
			fields[k] = jsonString("")
		}
	}
	return &synclayer.Event{Activity: &synclayer.Activity{Kind: synclayer.EventTicketCreated, ID: id, Fields: fields,
		Customer: &synclayer.CustomerChange{Fields: map[string]json.RawMessage{synclayer.FieldEmail: email}}}}, nil
}

// parseLoyalty reads loyalty_tier_changed: {email, tier, ...}, or
// customer_id instead of email. The tier is the contact's customerTier.
func parseLoyalty(_ synclayer.EventType, data map[string]json.RawMessage, _ time.Time) (*synclayer.Event, error) {
	tier, err := normalize.Text("data.tier", data["tier"])
	if err != nil {
		return nil, err
	}
	if normalize.IsNull(tier) {
		return nil, synclayer.FieldErrorf("data.tier", "missing; set it to the tier joined, such as \"gold\"")
	}
	ch := &synclayer.CustomerChange{Fields: map[string]json.RawMessage{synclayer.FieldCustomerTier: tier}}
	if ch.SourceID, err = normalize.ID("data.customer_id", data["customer_id"]); err != nil {
		return nil, err
	}
	email, err := normalize.Text("data.email", data["email"])
	if err != nil {
		return nil, err
	}
	if !normalize.IsNull(email) {
		ch.Fields[synclayer.FieldEmail] = email
	}
	if !ch.Identifies() {
		return nil, synclayer.FieldErrorf("data.email", "missing; name the member by data.email or data.customer_id")
	}
	fields, err := activityFields(data, "email", "tier")
	if err != nil {
		return nil, err
	}
	return &synclayer.Event{Activity: &synclayer.Activity{Kind: synclayer.EventLoyaltyTierChanged, Fields: fields, Customer: ch}}, nil
}

// parseForm reads form_submitted: {form, email, firstName, lastName,
// phone, acceptsMarketing or emailConsent, ...}. The lead becomes a customer change;
// acceptsMarketing is read as in a customer event (true an opt-in, false
// "not subscribed", which never lifts an opt-out).
func parseForm(_ synclayer.EventType, data map[string]json.RawMessage, _ time.Time) (*synclayer.Event, error) {
	form, err := normalize.String("data.form", data["form"])
	if err != nil {
		return nil, err
	}
	if form == "" {
		return nil, synclayer.FieldErrorf("data.form", "missing; name the form, such as \"newsletter-footer\"")
	}
	email, err := requiredEmail(data, "set it to the lead's email")
	if err != nil {
		return nil, err
	}
	ch := &synclayer.CustomerChange{Fields: map[string]json.RawMessage{synclayer.FieldEmail: email}}
	for _, k := range []string{synclayer.FieldFirstName, synclayer.FieldLastName, synclayer.FieldPhone} {
		if raw, ok := data[k]; ok {
			v, err := normalize.Text("data."+k, raw)
			if err != nil {
				return nil, err
			}
			if !normalize.IsNull(v) {
				ch.Fields[k] = v
			}
		}
	}
	// An explicit emailConsent (a preference form's "unsubscribed") wins
	// over acceptsMarketing, as in a customer event; an opt-out counts
	// from any source.
	if ch.EmailConsent, err = consent("data.emailConsent", data["emailConsent"]); err != nil {
		return nil, err
	}
	if ch.EmailConsent == nil {
		if ch.EmailConsent, err = acceptsMarketing("data.acceptsMarketing", data["acceptsMarketing"]); err != nil {
			return nil, err
		}
	}
	fields, err := activityFields(data, "email", "form", synclayer.FieldFirstName, synclayer.FieldLastName, synclayer.FieldPhone)
	if err != nil {
		return nil, err
	}
	return &synclayer.Event{Activity: &synclayer.Activity{Kind: synclayer.EventFormSubmitted, Fields: fields, Customer: ch}}, nil
}
