package bigcommerce

import (
	"context"
	"encoding/json"
	"fmt"
	"net/url"
	"strconv"
	"strings"
	"time"

	"synclayer"
	"synclayer/normalize"
)

// Newsletter consent (docs/platforms/bigcommerce.md, Consent). A
// subscriber of the store's newsletter (/v3/customers/subscribers) is an
// explicit email opt-in, as of its date_modified: store/subscriber/created
// and store/subscriber/updated are read back with GET
// /v3/customers/subscribers/{id} (kind "subscriber"). The API has no
// unsubscribed state: a shopper who leaves the newsletter is no longer a
// subscriber, so store/subscriber/deleted is read as an opt-out, as of
// the callback's created_at (kind "subscriber-deleted", id
// "<subscriber id>@<created_at>"). The deleted subscriber cannot be read
// back, and the callback names only its id, so the opt-out is applied to
// the email this process last read for that id, once GET
// /v3/customers/subscribers?email= shows the email has no subscriber
// left (it may have subscribed again); a deletion of a subscriber this
// process never read is skipped with a note, never guessed. Nothing else
// BigCommerce sends says anything about newsletter consent, and a
// customer record without it leaves the consent as it is: absent is
// unknown, never unsubscribed.

// Fetch kinds of subscriber notifications.
const (
	kindSubscriber        = "subscriber"
	kindSubscriberDeleted = "subscriber-deleted"
)

// maxRemembered bounds the subscriber emails kept for deletions.
const maxRemembered = 100_000

// remember keeps subscriber id's email, for its deletion.
func (s *Source) remember(id, email string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.subscribers == nil || len(s.subscribers) >= maxRemembered {
		s.subscribers = map[string]string{}
	}
	s.subscribers[id] = email
}

// subscriberKey is subscriber id's shared key (SourceSettings.Shared).
func (s *Source) subscriberKey(id string) string {
	return "bigcommerce:" + s.name + ":subscriber:" + id
}

// keep keeps subscriber id's email in the store's shared keys too, so its
// deletion is an opt-out after a restart, and on another instance.
func (s *Source) keep(ctx context.Context, id, email string) error {
	if s.shared == nil {
		return nil
	}
	return s.shared.PutShared(ctx, s.subscriberKey(id), email, 0)
}

// remembered returns subscriber id's email, as this process read it or
// as an instance sharing the store kept it; "" when none did.
func (s *Source) remembered(ctx context.Context, id string) (string, error) {
	s.mu.Lock()
	email := s.subscribers[id]
	s.mu.Unlock()
	if email != "" || s.shared == nil {
		return email, nil
	}
	email, _, err := s.shared.FindShared(ctx, s.subscriberKey(id))
	return email, err
}

func (s *Source) fetchSubscriber(ctx context.Context, id string) ([]*synclayer.Event, error) {
	var page struct {
		Data map[string]json.RawMessage `json:"data"`
	}
	if err := s.get(ctx, "subscriber "+id, "/v3/customers/subscribers/"+url.PathEscape(id), &page); err != nil {
		if synclayer.HTTPStatus(err) == 404 {
			return nil, &synclayer.FetchSkipped{SourceID: "subscriber:" + id, Note: "subscriber " + id +
				" was not read: GET /v3/customers/subscribers answered 404, it was deleted before it was read; nothing is said of its consent"}
		}
		return nil, err
	}
	ev, err := s.subscriberEvent(page.Data, s.now().UTC())
	if err != nil {
		return nil, synclayer.Permanent(fmt.Errorf("bigcommerce: subscriber %s: %w", id, err))
	}
	if c := ev.Customer; c.EmailConsent != nil && c.EmailConsent.State == synclayer.ConsentSubscribed {
		var email string
		_ = json.Unmarshal(c.Fields[synclayer.FieldEmail], &email)
		if err := s.keep(ctx, id, email); err != nil {
			return nil, err // retried: an opt-in whose deletion could not be told is not taken
		}
	}
	return []*synclayer.Event{ev}, nil
}

// subscriberEvent is a newsletter subscriber's event: the contact by
// email (first_name, last_name), opted in as of date_modified (else
// date_created) unless its consents say otherwise (marketingConsent). A
// subscriber without an email is refused, naming it.
func (s *Source) subscriberEvent(m map[string]json.RawMessage, now time.Time) (*synclayer.Event, error) {
	id, err := recordID(m)
	if err != nil {
		return nil, err
	}
	fields, err := customerFields(map[string]json.RawMessage{"email": m["email"], "first_name": m["first_name"], "last_name": m["last_name"]})
	if err != nil {
		return nil, synclayer.FieldErrorf("email", "%s", synclayer.ErrorMessage(err))
	}
	if _, ok := fields[synclayer.FieldEmail]; !ok {
		return nil, synclayer.FieldErrorf("email", "missing; a subscriber is an email address")
	}
	_, created, err := normalize.Date("date_created", m["date_created"])
	if err != nil {
		return nil, err
	}
	_, at, err := normalize.Date("date_modified", m["date_modified"])
	if err != nil {
		return nil, err
	}
	if at.IsZero() {
		at = created
	}
	if at.IsZero() {
		return nil, synclayer.FieldErrorf("date_modified", "missing; the opt-in is as of the subscriber's date_modified")
	}
	at = at.UTC()
	ch := &synclayer.CustomerChange{Fields: fields}
	marketing, err := marketingConsent(m["consents"])
	if err != nil {
		return nil, err
	}
	if marketing {
		ch.EmailConsent = &synclayer.ConsentChange{State: synclayer.ConsentSubscribed, At: at}
		var email string
		_ = json.Unmarshal(fields[synclayer.FieldEmail], &email)
		s.remember(id, email) // only an opt-in's deletion is an opt-out
	}
	body, _ := json.Marshal(m)
	return &synclayer.Event{Source: s.name, DedupeKey: dedupeKey(kindSubscriber, id, at), Topic: "subscriber", Type: synclayer.EventCustomerUpdated,
		OccurredAt: at, ReceivedAt: now.UTC(), Payload: body, Customer: ch}, nil
}

// marketingConsent tells whether a subscriber is a newsletter opt-in. The
// Subscribers API documents no consents field, and its subscriber is the
// newsletter's: absent (or null), it is. The storefront's Create a
// Subscription, though, records acceptsMarketingNewsletter and
// acceptsAbandonedCartEmails apart, and its answer carries "consents",
// "the collection of consents the shopper is subscribing to", with no
// values documented: a subscriber that carries consents is an opt-in only
// when one of them names marketing or the newsletter, so an abandoned-cart
// consent alone is never read as marketing consent.
func marketingConsent(raw json.RawMessage) (bool, error) {
	if normalize.IsNull(raw) {
		return true, nil
	}
	items, err := normalize.Array("consents", raw)
	if err != nil {
		return false, err
	}
	for _, it := range items {
		if v := strings.ToLower(string(it)); strings.Contains(v, "marketing") || strings.Contains(v, "newsletter") {
			return true, nil
		}
	}
	return false, nil
}

// deletedRef is the fetch id of a store/subscriber/deleted callback.
func deletedRef(id string, at time.Time) string { return id + "@" + strconv.FormatInt(at.Unix(), 10) }

func (s *Source) fetchSubscriberDeleted(ctx context.Context, ref string) ([]*synclayer.Event, error) {
	id, unix, ok := strings.Cut(ref, "@")
	sec, err := strconv.ParseInt(unix, 10, 64)
	if !ok || err != nil || id == "" {
		return nil, synclayer.Permanent(fmt.Errorf("bigcommerce: %q is not a subscriber deletion (<id>@<unix seconds>)", normalize.Clip(ref)))
	}
	at := time.Unix(sec, 0).UTC()
	skip := func(note string) error {
		return &synclayer.FetchSkipped{SourceID: "subscriber:" + id, Note: "store/subscriber/deleted for subscriber " + id + ": " + note}
	}
	email, err := s.remembered(ctx, id)
	if err != nil {
		return nil, err
	}
	if email == "" {
		return nil, skip("its email was not read by synclayer before it was deleted, and the callback names only the id, " +
			"so the opt-out cannot be told to a contact; nothing was changed (unsubscribe the address in the destination by hand, or resubscribe and delete it again)")
	}
	var page struct {
		Data []map[string]json.RawMessage `json:"data"`
	}
	if err := s.get(ctx, "the subscribers of "+email, "/v3/customers/subscribers?email="+url.QueryEscape(email), &page); err != nil {
		return nil, err
	}
	for _, sub := range page.Data {
		if strings.EqualFold(text(sub["email"]), email) {
			other, _ := normalize.ID("id", sub["id"])
			return nil, skip(email + " is still subscribed, as subscriber " + other + "; no opt-out")
		}
	}
	body, _ := json.Marshal(map[string]any{"scope": "store/subscriber/deleted", "id": id, "email": email, "created_at": sec})
	now := s.now().UTC()
	return []*synclayer.Event{{Source: s.name, DedupeKey: "bigcommerce:" + kindSubscriberDeleted + ":" + id + ":" + at.Format(time.RFC3339),
		Topic: "subscriber", Type: synclayer.EventCustomerUpdated, OccurredAt: at, ReceivedAt: now, Payload: body,
		Customer: &synclayer.CustomerChange{Fields: map[string]json.RawMessage{synclayer.FieldEmail: jsonString(email)},
			EmailConsent: &synclayer.ConsentChange{State: synclayer.ConsentUnsubscribed, At: at}}}}, nil
}
