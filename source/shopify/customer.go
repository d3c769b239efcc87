package shopify

import (
	"encoding/json"
	"strings"
	"time"

	"synclayer"
	"synclayer/normalize"
)

type kind int

const (
	kindCustomer     kind = iota // the full customer resource
	kindDelete                   // {"id": ...}
	kindEmailConsent             // customer_id, email_address, email_marketing_consent
	kindSMSConsent               // phone, sms_marketing_consent
)

type topic struct {
	kind kind
	typ  synclayer.EventType
}

var topics = map[string]topic{
	"customers/create":                         {kindCustomer, synclayer.EventCustomerCreated},
	"customers/update":                         {kindCustomer, synclayer.EventCustomerUpdated},
	"customers/enable":                         {kindCustomer, synclayer.EventCustomerUpdated},
	"customers/disable":                        {kindCustomer, synclayer.EventCustomerUpdated},
	"customers/delete":                         {kindDelete, synclayer.EventCustomerDeleted},
	"customers_email_marketing_consent/update": {kindEmailConsent, synclayer.EventCustomerUpdated},
	"customers_marketing_consent/update":       {kindSMSConsent, synclayer.EventCustomerUpdated},
	"orders/create":                            {kindOrder, synclayer.EventOrderCreated},
	"orders/updated":                           {kindOrder, synclayer.EventOrderUpdated},
	"orders/paid":                              {kindOrder, synclayer.EventOrderUpdated},
	"orders/fulfilled":                         {kindOrder, synclayer.EventOrderUpdated},
	"orders/cancelled":                         {kindOrder, synclayer.EventOrderCancelled},
	"refunds/create":                           {kindRefund, synclayer.EventOrderRefunded},
	"products/create":                          {kindProduct, synclayer.EventProductCreated},
	"products/update":                          {kindProduct, synclayer.EventProductUpdated},
	"products/delete":                          {kindProductDelete, synclayer.EventProductDeleted},
	"checkouts/create":                         {kindCheckout, synclayer.EventCartUpdated}, // checkout.go
	"checkouts/update":                         {kindCheckout, synclayer.EventCartUpdated},
}

const topicList = "customers/create, customers/update, customers/enable, customers/disable, customers/delete, " +
	"customers_email_marketing_consent/update, customers_marketing_consent/update, " +
	"orders/create, orders/updated, orders/paid, orders/fulfilled, orders/cancelled, refunds/create, " +
	"products/create, products/update, products/delete, checkouts/create and checkouts/update"

// API versions at which the customer payload changed shape.
const (
	versionConsentObjects = "2022-04" // email_marketing_consent replaces accepts_marketing
	versionNoTagsConsent  = "2025-01" // tags and consent leave customer payloads
)

// textFields maps Shopify's customer text fields to canonical names.
var textFields = []struct{ from, to string }{
	{"email", synclayer.FieldEmail},
	{"phone", synclayer.FieldPhone},
	{"first_name", synclayer.FieldFirstName},
	{"last_name", synclayer.FieldLastName},
}

// parseCustomer reads a customer resource serialized at API version v. It
// returns the change and the resource's updated_at (or created_at).
func parseCustomer(obj map[string]json.RawMessage, v string) (*synclayer.CustomerChange, time.Time, error) {
	ch := &synclayer.CustomerChange{Fields: map[string]json.RawMessage{}}
	var err error
	if raw, ok := obj["id"]; ok {
		if ch.SourceID, err = normalize.ID("id", raw); err != nil {
			return nil, time.Time{}, err
		}
	}
	for _, f := range textFields {
		if err := setField(ch, obj, f.from, f.to, normalize.Text); err != nil {
			return nil, time.Time{}, err
		}
	}
	// The company lives in the default address (B2B stores also have
	// company locations, which customer webhooks do not carry).
	if raw, ok := obj["default_address"]; ok && !normalize.IsNull(raw) {
		addr, err := normalize.Object("default_address", raw)
		if err != nil {
			return nil, time.Time{}, err
		}
		if v, ok := addr["company"]; ok {
			company, err := normalize.Text("default_address.company", v)
			if err != nil {
				return nil, time.Time{}, err
			}
			if !normalize.IsNull(company) && string(company) != `""` {
				ch.Fields[synclayer.FieldCompany] = company
			}
		}
	}
	if err := setField(ch, obj, "orders_count", synclayer.FieldTotalOrders, normalize.Count); err != nil {
		return nil, time.Time{}, err
	}
	if err := setField(ch, obj, "total_spent", synclayer.FieldTotalSpent, normalize.Decimal); err != nil {
		return nil, time.Time{}, err
	}
	if v < versionNoTagsConsent {
		if err := setField(ch, obj, "tags", synclayer.FieldTags, normalize.Tags); err != nil {
			return nil, time.Time{}, err
		}
	}
	switch {
	case v < versionConsentObjects:
		ch.EmailConsent, err = acceptsMarketing(obj)
	case v < versionNoTagsConsent:
		if ch.EmailConsent, err = consent("email_marketing_consent", obj["email_marketing_consent"]); err == nil {
			ch.SMSConsent, err = consent("sms_marketing_consent", obj["sms_marketing_consent"])
		}
	}
	if err != nil {
		return nil, time.Time{}, err
	}
	at, err := resourceTime(obj, "updated_at", "created_at")
	if err != nil {
		return nil, time.Time{}, err
	}
	return ch, at, nil
}

// parseDelete reads the {"id": ...} body of customers/delete.
func parseDelete(obj map[string]json.RawMessage) (*synclayer.CustomerChange, error) {
	id, err := normalize.ID("id", obj["id"])
	if err != nil {
		return nil, err
	}
	if id == "" {
		return nil, synclayer.FieldErrorf("id", "missing; a customers/delete payload names the deleted customer's id")
	}
	return &synclayer.CustomerChange{SourceID: id, Delete: true}, nil
}

// parseEmailConsent reads customers_email_marketing_consent/update.
func parseEmailConsent(obj map[string]json.RawMessage) (*synclayer.CustomerChange, time.Time, error) {
	ch, err := consentCustomer(obj, "email_address", synclayer.FieldEmail)
	if err != nil {
		return nil, time.Time{}, err
	}
	if ch.EmailConsent, err = requiredConsent("email_marketing_consent", obj); err != nil {
		return nil, time.Time{}, err
	}
	return ch, ch.EmailConsent.At, nil
}

// parseSMSConsent reads customers_marketing_consent/update.
func parseSMSConsent(obj map[string]json.RawMessage) (*synclayer.CustomerChange, time.Time, error) {
	ch, err := consentCustomer(obj, "phone", synclayer.FieldPhone)
	if err != nil {
		return nil, time.Time{}, err
	}
	if ch.SMSConsent, err = requiredConsent("sms_marketing_consent", obj); err != nil {
		return nil, time.Time{}, err
	}
	return ch, ch.SMSConsent.At, nil
}

// consentCustomer reads who a consent payload is about: customer_id (or
// id) and the address the consent applies to.
func consentCustomer(obj map[string]json.RawMessage, from, to string) (*synclayer.CustomerChange, error) {
	ch := &synclayer.CustomerChange{Fields: map[string]json.RawMessage{}}
	for _, k := range []string{"customer_id", "id"} {
		if raw, ok := obj[k]; ok && !normalize.IsNull(raw) {
			id, err := normalize.ID(k, raw)
			if err != nil {
				return nil, err
			}
			ch.SourceID = id
			break
		}
	}
	if raw, ok := obj[from]; ok && !normalize.IsNull(raw) {
		if err := setField(ch, obj, from, to, normalize.Text); err != nil {
			return nil, err
		}
	}
	return ch, nil
}

func requiredConsent(field string, obj map[string]json.RawMessage) (*synclayer.ConsentChange, error) {
	c, err := consent(field, obj[field])
	if err == nil && c == nil {
		err = synclayer.FieldErrorf(field, "missing; the consent topic's payload carries the new consent state")
	}
	return c, err
}

// states maps Shopify's marketing states to consent states: only
// subscribed is an opt-in, and redacted (erased on request) counts as an
// opt-out so that no later default resubscribes the person.
var states = map[string]synclayer.ConsentState{
	"subscribed":     synclayer.ConsentSubscribed,
	"unsubscribed":   synclayer.ConsentUnsubscribed,
	"redacted":       synclayer.ConsentUnsubscribed,
	"not_subscribed": synclayer.ConsentNone,
	"pending":        synclayer.ConsentNone,
	"invalid":        synclayer.ConsentNone,
}

// consent reads an email_marketing_consent or sms_marketing_consent object:
// {state, opt_in_level, consent_updated_at}. Absent or null is nil, which
// leaves the consent as it is.
func consent(field string, raw json.RawMessage) (*synclayer.ConsentChange, error) {
	if normalize.IsNull(raw) {
		return nil, nil
	}
	obj, err := normalize.Object(field, raw)
	if err != nil {
		return nil, err
	}
	s, err := normalize.String(field+".state", obj["state"])
	if err != nil {
		return nil, err
	}
	state, ok := states[strings.ToLower(s)]
	if !ok {
		if s == "" {
			return nil, synclayer.FieldErrorf(field+".state", "missing")
		}
		return nil, synclayer.FieldErrorf(field+".state", "unknown consent state %q; Shopify's states are subscribed, "+
			"unsubscribed, not_subscribed, pending, redacted and invalid", normalize.Clip(s))
	}
	_, at, err := normalize.Date(field+".consent_updated_at", obj["consent_updated_at"])
	if err != nil {
		return nil, err
	}
	return &synclayer.ConsentChange{State: state, At: at}, nil
}

// acceptsMarketing reads the pre-2022-04 accepts_marketing flag: true is an
// opt-in, false only "not subscribed", which never lifts an opt-out.
func acceptsMarketing(obj map[string]json.RawMessage) (*synclayer.ConsentChange, error) {
	b, ok, err := normalize.Bool("accepts_marketing", obj["accepts_marketing"])
	if err != nil || !ok {
		return nil, err
	}
	_, at, err := normalize.Date("accepts_marketing_updated_at", obj["accepts_marketing_updated_at"])
	if err != nil {
		return nil, err
	}
	c := &synclayer.ConsentChange{State: synclayer.ConsentNone, At: at}
	if b {
		c.State = synclayer.ConsentSubscribed
	}
	return c, nil
}

// resourceTime returns the first of the named timestamps the resource has.
func resourceTime(obj map[string]json.RawMessage, names ...string) (time.Time, error) {
	for _, n := range names {
		_, t, err := normalize.Date(n, obj[n])
		if err != nil || !t.IsZero() {
			return t, err
		}
	}
	return time.Time{}, nil
}

// setField converts obj[from], when the payload carries it, into
// ch.Fields[to].
func setField(ch *synclayer.CustomerChange, obj map[string]json.RawMessage, from, to string,
	conv func(string, json.RawMessage) (json.RawMessage, error)) error {
	raw, ok := obj[from]
	if !ok {
		return nil
	}
	v, err := conv(from, raw)
	if err != nil {
		return err
	}
	ch.Fields[to] = v
	return nil
}
