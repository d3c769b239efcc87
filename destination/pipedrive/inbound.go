package pipedrive

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"synclayer"
	"synclayer/normalize"
)

var _ synclayer.InboundDestination = (*Destination)(nil)

// Inbound is the source that reads Pipedrive's webhooks for this
// company, named like the destination, or nil when the section has no
// webhook block. See Parse for what each delivery becomes.
func (d *Destination) Inbound() synclayer.Source {
	if d.webhook == nil {
		return nil
	}
	return &inbound{d: d}
}

type inbound struct{ d *Destination }

var _ synclayer.Source = (*inbound)(nil)

func (s *inbound) Name() string { return s.d.name }

// lookupTimeout bounds the read of a person a delivery names without
// its addresses: Pipedrive waits only seconds for an answer, and sends
// the delivery again after a failure.
const lookupTimeout = 4 * time.Second

// Parse checks the HTTP basic-auth credentials (constant time; missing
// or wrong is EUNAUTHORIZED, answered 401), then reads one webhooks v2
// delivery, {"meta": {"action", "entity", "entity_id", "id", "timestamp",
// ...}, "data": {...}, "previous": {...}}, of which only person events
// count, and of those only the fields Pipedrive owns:
//
//   - change with owner_id in previous: a customer_updated setting the
//     canonical owner to the new owner_id (a Pipedrive user ID);
//   - change with marketing_status in previous and unsubscribed in data
//     (a Campaigns unsubscribe): a customer_updated carrying an email
//     opt-out. A subscription is never read back: consent to marketing
//     is given at the source, not by a salesperson;
//   - delete: a contact_removed activity, recorded, which changes nothing;
//   - anything else (create, other fields, other entities): nothing,
//     acknowledged.
//
// The person's address is its primary email in data (previous, for a
// delete), or read from the API when the payload has none; a person
// without an address is skipped. A v1 delivery is EINVALID, naming the
// fix: register a v2 webhook.
func (s *inbound) Parse(h http.Header, body []byte, now time.Time) ([]*synclayer.Event, error) {
	if err := s.verify(h); err != nil {
		return nil, err
	}
	m, err := normalize.Object("body", body)
	if err != nil {
		return nil, err
	}
	meta, err := normalize.Object("meta", m["meta"])
	if err != nil {
		if _, v1 := m["current"]; v1 || m["v"] != nil {
			return nil, synclayer.FieldErrorf("meta", "this is a webhooks v1 delivery; synclayer reads v2: register the webhook with version 2.0 (synclayer does, with webhook.public_url set)")
		}
		return nil, err
	}
	if v, _ := normalize.String("meta.version", meta["version"]); v != "" && !strings.HasPrefix(v, "2") {
		return nil, synclayer.FieldErrorf("meta.version", "is %q; synclayer reads webhooks v2: register the webhook with version 2.0", v)
	}
	entity, err := normalize.String("meta.entity", meta["entity"])
	if err != nil {
		return nil, err
	}
	action, err := normalize.String("meta.action", meta["action"])
	if err != nil {
		return nil, err
	}
	if entity != "person" || (action != "change" && action != "delete") {
		return nil, nil
	}
	id, err := normalize.ID("meta.entity_id", meta["entity_id"])
	if err != nil {
		return nil, err
	}
	if id == "" {
		return nil, synclayer.FieldErrorf("meta.entity_id", "is missing; Pipedrive names the person of every event")
	}
	eventID, err := normalize.ID("meta.id", meta["id"])
	if err != nil {
		return nil, err
	}
	at, err := metaTime(meta["timestamp"], now)
	if err != nil {
		return nil, err
	}
	var data, prev map[string]json.RawMessage
	if !normalize.IsNull(m["data"]) && len(m["data"]) > 0 {
		if data, err = normalize.Object("data", m["data"]); err != nil {
			return nil, err
		}
	}
	if !normalize.IsNull(m["previous"]) && len(m["previous"]) > 0 {
		if prev, err = normalize.Object("previous", m["previous"]); err != nil {
			return nil, err
		}
	}
	fields := map[string]json.RawMessage{}
	var consent *synclayer.ConsentChange
	if action == "change" {
		if _, ok := prev["owner_id"]; ok {
			owner, err := normalize.ID("data.owner_id", data["owner_id"])
			if err != nil {
				return nil, err
			}
			if owner == "" {
				fields[synclayer.FieldOwner] = json.RawMessage("null")
			} else {
				fields[synclayer.FieldOwner] = mustJSON(owner)
			}
		}
		if _, ok := prev["marketing_status"]; ok {
			if st, _ := normalize.String("data.marketing_status", data["marketing_status"]); st == MarketingUnsubscribed {
				consent = &synclayer.ConsentChange{State: synclayer.ConsentUnsubscribed, At: at}
			}
		}
		if len(fields) == 0 && consent == nil {
			return nil, nil
		}
	}
	holder := data
	if action == "delete" {
		holder = prev
	}
	email := primaryEmail(holder["emails"])
	if email == "" && action == "change" {
		n, _ := strconv.ParseInt(id, 10, 64)
		ctx, cancel := context.WithTimeout(context.Background(), lookupTimeout)
		defer cancel()
		p, err := s.d.client.GetPerson(ctx, n, false)
		switch {
		case IsNotFound(err):
		case err != nil:
			return nil, fmt.Errorf("pipedrive: read person %s of a webhook: %w", id, err)
		default:
			for _, e := range p.Emails {
				if e.Primary || email == "" {
					email, _ = normalize.Email(e.Value)
				}
			}
		}
	}
	if email == "" {
		return nil, nil // nothing to match the person on
	}
	fields[synclayer.FieldEmail] = mustJSON(email)
	ev := &synclayer.Event{Source: s.d.name, Topic: action + ".person", OccurredAt: at, ReceivedAt: now.UTC(),
		DedupeKey: dedupeKey(eventID, action, id, strconv.FormatInt(at.UnixMilli(), 10)), Payload: body}
	ch := &synclayer.CustomerChange{SourceID: id, Fields: fields, EmailConsent: consent}
	if action == "delete" {
		ev.Type = synclayer.EventContactRemoved
		ev.Activity = &synclayer.Activity{Kind: ev.Type, Customer: ch, Fields: map[string]json.RawMessage{"pipedriveId": mustJSON(id)}}
		return []*synclayer.Event{ev}, nil
	}
	ev.Type, ev.Customer = synclayer.EventCustomerUpdated, ch
	return []*synclayer.Event{ev}, nil
}

// verify checks the request's basic-auth credentials against the
// webhook block's, comparing digests in constant time so neither the
// length nor a prefix leaks. The error never holds what was sent.
func (s *inbound) verify(h http.Header) error {
	r := &http.Request{Header: h}
	user, pass, ok := r.BasicAuth()
	if !ok {
		return &synclayer.Error{Code: synclayer.EUNAUTHORIZED, Field: "Authorization",
			Message: "is missing: Pipedrive sends the webhook's http_auth_user and http_auth_password as HTTP basic auth; set them on the webhook to destinations." + s.d.name + ".webhook.username and password"}
	}
	a := sha256.Sum256([]byte(user + "\x00" + pass))
	b := sha256.Sum256([]byte(s.d.webhook.Username + "\x00" + s.d.webhook.Password))
	if subtle.ConstantTimeCompare(a[:], b[:]) != 1 {
		return &synclayer.Error{Code: synclayer.EUNAUTHORIZED, Field: "Authorization",
			Message: "does not match: the webhook's basic-auth credentials must be destinations." + s.d.name + ".webhook.username and password (synclayer registers them itself with webhook.public_url set)"}
	}
	return nil
}

// metaTime reads meta.timestamp: Unix seconds, Unix milliseconds or RFC
// 3339, as Pipedrive's examples show each; missing is now.
func metaTime(raw json.RawMessage, now time.Time) (time.Time, error) {
	if len(raw) == 0 || normalize.IsNull(raw) {
		return now.UTC(), nil
	}
	var n int64
	if json.Unmarshal(raw, &n) == nil && n > 0 {
		if n > 1e12 {
			return time.UnixMilli(n).UTC(), nil
		}
		return time.Unix(n, 0).UTC(), nil
	}
	s, err := normalize.String("meta.timestamp", raw)
	if err != nil {
		return time.Time{}, err
	}
	if n, err := strconv.ParseInt(s, 10, 64); err == nil && n > 0 {
		return metaTime(json.RawMessage(s), now)
	}
	t, err := normalize.Time(s)
	if err != nil {
		return time.Time{}, synclayer.FieldErrorf("meta.timestamp", "is not a time: %s", strings.Trim(s, " "))
	}
	return t, nil
}

// primaryEmail is the primary (else the first) address of a v2 emails
// array, normalized; "" when there is none that is valid.
func primaryEmail(raw json.RawMessage) string {
	var emails []struct {
		Value   string `json:"value"`
		Primary bool   `json:"primary"`
	}
	if json.Unmarshal(raw, &emails) != nil {
		return ""
	}
	out := ""
	for _, e := range emails {
		addr, err := normalize.Email(e.Value)
		if err != nil || addr == "" {
			continue
		}
		if e.Primary {
			return addr
		}
		if out == "" {
			out = addr
		}
	}
	return out
}

// dedupeKey derives an event's key from its parts, length-prefixed:
// Pipedrive sends a failed delivery again with the same meta.id.
func dedupeKey(parts ...string) string {
	h := sha256.New()
	for _, p := range parts {
		fmt.Fprintf(h, "%d:%s;", len(p), p)
	}
	return hex.EncodeToString(h.Sum(nil))
}
