package magento

import (
	"crypto"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"strings"
	"time"

	"synclayer"
	"synclayer/normalize"
)

// SignatureHeader is where Adobe Commerce puts a webhook's signature.
const SignatureHeader = "x-adobe-commerce-webhook-signature"

// hook is what synclayer reads of one webhook method: the record kind
// and the keys of data the observer passes the record under.
type hook struct {
	kind   string // customer, customer-delete, order, product, product-delete, subscriber
	keys   []string
	action string
}

// hooks are the webhook methods Parse reads (docs/platforms/magento.md).
// A model's *_save_after and *_delete_after events pass the model as
// data_object and under its own name (customer, order, product).
var hooks = map[string]hook{
	"observer.customer_save_after":                 {kind: "customer", keys: []string{"customer", "data_object"}},
	"observer.customer_save_commit_after":          {kind: "customer", keys: []string{"customer", "data_object"}},
	"observer.customer_register_success":           {kind: "customer", keys: []string{"customer"}},
	"observer.customer_save_after_data_object":     {kind: "customer", keys: []string{"customer_data_object"}},
	"observer.customer_delete_after":               {kind: "customer-delete", keys: []string{"customer", "data_object"}},
	"observer.customer_delete_commit_after":        {kind: "customer-delete", keys: []string{"customer", "data_object"}},
	"observer.sales_order_save_after":              {kind: "order", keys: []string{"order", "data_object"}},
	"observer.sales_order_save_commit_after":       {kind: "order", keys: []string{"order", "data_object"}},
	"observer.sales_order_place_after":             {kind: "order", keys: []string{"order"}},
	"observer.catalog_product_save_after":          {kind: "product", keys: []string{"product", "data_object"}},
	"observer.catalog_product_save_commit_after":   {kind: "product", keys: []string{"product", "data_object"}},
	"observer.catalog_product_delete_after":        {kind: "product-delete", keys: []string{"product", "data_object"}},
	"observer.catalog_product_delete_commit_after": {kind: "product-delete", keys: []string{"product", "data_object"}},
	"observer.newsletter_subscriber_save_after":    {kind: "subscriber", keys: []string{"subscriber", "data_object"}},
}

const hookList = "observer.customer_save_after, observer.customer_save_commit_after, observer.customer_register_success, " +
	"observer.customer_save_after_data_object, observer.customer_delete_after, observer.customer_delete_commit_after, " +
	"observer.sales_order_save_after, observer.sales_order_save_commit_after, observer.sales_order_place_after, " +
	"observer.catalog_product_save_after, observer.catalog_product_save_commit_after, observer.catalog_product_delete_after, " +
	"observer.catalog_product_delete_commit_after and observer.newsletter_subscriber_save_after"

// Parse verifies a webhook's signature and returns the event of the
// customer, order, product or newsletter subscription it carries. The
// body is the webhook method's default payload, {"eventName": ...,
// "data": {"<record>": {...}}} (a hook's fields may trim the record, but
// must keep these paths). A missing or wrong signature is EUNAUTHORIZED;
// a body it cannot read is EINVALID naming the field.
func (s *Source) Parse(h http.Header, body []byte, now time.Time) ([]*synclayer.Event, error) {
	if err := s.verify(h, body); err != nil {
		return nil, err
	}
	obj, err := normalize.Object("body", body)
	if err != nil {
		return nil, err
	}
	name, err := normalize.String("eventName", obj["eventName"])
	if err != nil {
		return nil, err
	}
	if name == "" {
		return nil, synclayer.FieldErrorf("eventName", "missing; keep eventName in the hook's fields, so synclayer knows what the payload is")
	}
	hk, ok := hooks[strings.ToLower(name)]
	if !ok {
		return nil, synclayer.FieldErrorf("eventName", "%q is not a webhook method synclayer reads; it reads %s", normalize.Clip(name), hookList)
	}
	data, err := normalize.Object("data", obj["data"])
	if err != nil {
		return nil, err
	}
	var rec record
	for _, k := range hk.keys {
		if raw, ok := data[k]; ok && !normalize.IsNull(raw) {
			m, err := normalize.Object("data."+k, raw)
			if err != nil {
				return nil, err
			}
			rec = record{path: "data." + k, m: m}
			break
		}
	}
	if rec.m == nil {
		return nil, synclayer.FieldErrorf("data."+hk.keys[0], "missing; %s passes the record there", name)
	}
	var ev *synclayer.Event
	switch hk.kind {
	case "customer":
		ev, err = s.customerEvent(rec, name, body, now)
	case "order":
		ev, err = s.orderEvent(rec, name, body, now)
	case "product":
		ev, err = s.productEvent(rec, name, body, now)
	case "subscriber":
		ev, err = s.subscriberEvent(rec, name, body, now)
	case "customer-delete", "product-delete":
		ev, err = s.deleteEvent(rec, hk.kind, name, body, now)
	}
	if err != nil {
		return nil, err
	}
	return []*synclayer.Event{ev}, nil
}

// verify checks the RSA-SHA256 (PKCS #1 v1.5) signature in
// x-adobe-commerce-webhook-signature against each configured public key.
// Adobe Commerce's webhooks module signs the body in base64
// (openssl_sign over Base64Json::serialize of the payload, i.e.
// base64(json_encode(payload))), as both of Adobe's verification
// examples verify it; the same page's prose says the signature is "of
// the request body". Both readings are accepted, the module's first:
// either needs the store's private key (docs/platforms/magento.md).
func (s *Source) verify(h http.Header, body []byte) error {
	if len(s.keys) == 0 {
		return &synclayer.Error{Code: synclayer.EUNAUTHORIZED, Field: "webhook_public_key", Message: "no webhook public key is configured for this source: set webhook_public_key (or webhook_public_key_file) to the key under Stores > Configuration > Adobe Services > Webhooks"}
	}
	sig := headerValue(h, SignatureHeader)
	if sig == "" {
		return &synclayer.Error{Code: synclayer.EUNAUTHORIZED, Field: SignatureHeader, Message: "missing; turn on the webhooks' Digital Signature Configuration in Adobe Commerce (Stores > Configuration > Adobe Services > Webhooks)"}
	}
	raw, err := base64.StdEncoding.DecodeString(strings.TrimSpace(sig))
	if err != nil {
		return &synclayer.Error{Code: synclayer.EUNAUTHORIZED, Field: SignatureHeader, Message: "is not base64"}
	}
	plain := sha256.Sum256(body)
	b64 := sha256.Sum256([]byte(base64.StdEncoding.EncodeToString(body)))
	for _, k := range s.keys {
		if rsa.VerifyPKCS1v15(k, crypto.SHA256, b64[:], raw) == nil || rsa.VerifyPKCS1v15(k, crypto.SHA256, plain[:], raw) == nil {
			return nil
		}
	}
	return &synclayer.Error{Code: synclayer.EUNAUTHORIZED, Field: SignatureHeader, Message: "does not verify with the webhook public key; if the key pair was regenerated in Adobe Commerce, set webhook_public_key to the new public key"}
}

// headerValue reads a header whatever the case of its name in h.
func headerValue(h http.Header, name string) string {
	if v := h.Get(name); v != "" {
		return v
	}
	for k, vs := range h {
		if strings.EqualFold(k, name) && len(vs) > 0 {
			return vs[0]
		}
	}
	return ""
}

// deleteEvent reads a deleted customer or product: only its id counts.
// The model carries no time of deletion, so the event is dated by its
// receipt, and one delete is one event however often it is delivered.
func (s *Source) deleteEvent(r record, kind, topic string, body []byte, now time.Time) (*synclayer.Event, error) {
	id, err := r.id()
	if err != nil {
		return nil, err
	}
	ev := &synclayer.Event{Source: s.name, Topic: topic, OccurredAt: now.UTC(), ReceivedAt: now.UTC(), Payload: body}
	if kind == "customer-delete" {
		ev.DedupeKey, ev.Type = "magento:customer:"+id+":deleted", synclayer.EventCustomerDeleted
		ev.Customer = &synclayer.CustomerChange{SourceID: id, Delete: true}
	} else {
		ev.DedupeKey, ev.Type = "magento:product:"+id+":deleted", synclayer.EventProductDeleted
		ev.Product = &synclayer.ProductChange{SourceID: id, Delete: true}
	}
	return ev, nil
}

// subscriberStates maps newsletter_subscriber.subscriber_status.
var subscriberStates = map[int64]synclayer.ConsentState{
	1: synclayer.ConsentSubscribed,   // subscribed
	2: synclayer.ConsentNone,         // not activated
	3: synclayer.ConsentUnsubscribed, // unsubscribed
	4: synclayer.ConsentNone,         // unconfirmed
}

// subscriberEvent reads a newsletter subscription: the one place Magento
// says someone left the newsletter (status 3), dated by change_status_at.
func (s *Source) subscriberEvent(r record, topic string, body []byte, now time.Time) (*synclayer.Event, error) {
	id, err := normalize.ID(r.field("subscriber_id"), r.m["subscriber_id"])
	if err != nil {
		return nil, err
	}
	st, ok, err := normalize.Int64(r.field("subscriber_status"), r.m["subscriber_status"])
	if err != nil {
		return nil, err
	}
	state, known := subscriberStates[st]
	if !ok || !known {
		return nil, synclayer.FieldErrorf(r.field("subscriber_status"), "must be 1 (subscribed), 2 (not activated), 3 (unsubscribed) or 4 (unconfirmed)")
	}
	at, err := r.date("change_status_at")
	if err != nil {
		return nil, err
	}
	if at.IsZero() {
		return nil, synclayer.FieldErrorf(r.field("change_status_at"), "missing; it dates the subscription's change")
	}
	ch := &synclayer.CustomerChange{Fields: map[string]json.RawMessage{}, EmailConsent: &synclayer.ConsentChange{State: state, At: at}}
	if cid, err := normalize.ID(r.field("customer_id"), r.m["customer_id"]); err != nil {
		return nil, err
	} else if cid != "0" {
		ch.SourceID = cid
	}
	email, err := r.text("subscriber_email")
	if err != nil {
		return nil, err
	}
	if email != "" {
		e, err := normalize.Email(email)
		if err != nil {
			return nil, synclayer.FieldErrorf(r.field("subscriber_email"), "%s", synclayer.ErrorMessage(err))
		}
		ch.Fields[synclayer.FieldEmail] = jsonString(e)
	}
	if !ch.Identifies() {
		return nil, synclayer.FieldErrorf(r.field("subscriber_email"), "missing, and so is customer_id: nothing says whose subscription changed")
	}
	if id == "" {
		id = ch.SourceID + ch.Email()
	}
	return &synclayer.Event{Source: s.name, DedupeKey: dedupeKey("subscriber", id, at), Topic: topic, Type: synclayer.EventCustomerUpdated,
		OccurredAt: at, ReceivedAt: now.UTC(), Payload: body, Customer: ch}, nil
}

var _ synclayer.WebhookAnswerer = (*Source)(nil)

// AnswerFields is {"op": "success"}: Adobe Commerce's webhooks module
// reads an operation in the answer ("success": the save that triggered
// the webhook goes on unchanged) and logs any other answer as a failed
// call (https://developer.adobe.com/commerce/extensibility/webhooks/responses/).
func (s *Source) AnswerFields() map[string]any { return map[string]any{"op": "success"} }
