package stripe

import (
	"encoding/json"
	"errors"
	"fmt"
	"math/big"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/stripe/stripe-go/v82/webhook"

	"synclayer"
	"synclayer/normalize"
)

const headerSignature = "Stripe-Signature"

// Type is Stripe in the program's registry of sources.
var Type = synclayer.SourceType{Type: "stripe", SecretPrefix: "whsec_", Open: func(secrets []string, st synclayer.SourceSettings) (synclayer.Source, error) {
	if err := synclayer.DecodeSettings(st.Section, &struct{}{}, "Stripe source setting; it takes type, secret, secret_file, previous_secrets, tolerance and rate_limit"); err != nil {
		return nil, err
	}
	return New(Config{Secrets: secrets, Tolerance: st.Tolerance}), nil
}}

// Config configures the Stripe source.
type Config struct {
	// Secrets are the endpoint's signing secrets (whsec_…), current first.
	// Stripe signs with every secret of an endpoint during a roll, and
	// any one matching is enough.
	Secrets []string
	// Tolerance is how old a signed timestamp may be; default stripe-go's
	// webhook.DefaultTolerance (5 minutes).
	Tolerance time.Duration
}

// Source parses Stripe webhooks. It is safe for concurrent use.
type Source struct {
	secrets   []string
	tolerance time.Duration
}

var _ synclayer.Source = (*Source)(nil)

// New returns a Source for cfg.
func New(cfg Config) *Source {
	s := &Source{tolerance: cfg.Tolerance}
	if s.tolerance <= 0 {
		s.tolerance = webhook.DefaultTolerance
	}
	for _, secret := range cfg.Secrets {
		if secret = strings.TrimSpace(secret); secret != "" {
			s.secrets = append(s.secrets, secret)
		}
	}
	return s
}

// Name returns "stripe".
func (s *Source) Name() string { return "stripe" }

// Parse verifies a delivery with stripe-go's webhook package (signature
// and timestamp tolerance) and reads the event defensively: only fields
// that every API version has, in each place a version puts them, so an
// endpoint on any API version works (docs/platforms/stripe.md). Event
// types it does not read are acknowledged and give nothing.
func (s *Source) Parse(h http.Header, body []byte, now time.Time) ([]*synclayer.Event, error) {
	if err := s.verify(h, body); err != nil {
		return nil, err
	}
	var env struct {
		ID         string `json:"id"`
		Type       string `json:"type"`
		Created    int64  `json:"created"`
		APIVersion string `json:"api_version"`
		Data       struct {
			Object json.RawMessage `json:"object"`
		} `json:"data"`
	}
	if _, err := normalize.Object("body", body); err != nil {
		return nil, err
	}
	if err := json.Unmarshal(body, &env); err != nil {
		return nil, synclayer.FieldErrorf("body", "is not a Stripe event: %s", typeError(err))
	}
	if env.ID == "" {
		return nil, synclayer.FieldErrorf("id", "missing; Stripe gives every event an id (evt_…), which keeps a redelivery from counting twice")
	}
	if env.Type == "" {
		return nil, synclayer.FieldErrorf("type", "missing; Stripe names every event's type, such as invoice.payment_failed")
	}
	if env.Created <= 0 {
		return nil, synclayer.FieldErrorf("created", "missing; the event's time decides which of two reports is newer")
	}
	at := time.Unix(env.Created, 0).UTC()
	var ev *synclayer.Event
	var err error
	switch {
	case env.Type == "customer.created" || env.Type == "customer.updated":
		ev, err = parseCustomer(env.Type, env.Data.Object)
	case strings.HasPrefix(env.Type, "customer.subscription."):
		ev, err = parseSubscription(env.Data.Object)
	case env.Type == "invoice.paid" || env.Type == "invoice.payment_succeeded" || env.Type == "invoice.payment_failed":
		ev, err = parseInvoice(env.Type, env.Data.Object)
	case env.Type == "payment_intent.succeeded" || env.Type == "payment_intent.payment_failed":
		ev, err = parsePaymentIntent(env.Type, env.Data.Object)
	case env.Type == "charge.refunded":
		ev, err = parseRefund(env.Data.Object)
	default:
		return nil, nil
	}
	if err != nil || ev == nil {
		return nil, err
	}
	ev.Source, ev.DedupeKey, ev.Topic, ev.OccurredAt, ev.ReceivedAt, ev.Payload = "stripe", env.ID, env.Type, at, now.UTC(), body
	if ev.Billing != nil {
		ev.Billing.At = at
		if ev.Billing.Fields == nil {
			ev.Billing.Fields = map[string]json.RawMessage{}
		}
		ev.Billing.Fields["event"], _ = json.Marshal(env.Type)
	}
	return []*synclayer.Event{ev}, nil
}

func (s *Source) verify(h http.Header, body []byte) error {
	if len(s.secrets) == 0 {
		return unauthorized("secret", "no signing secret is configured for this source, so no delivery can be verified: set sources.<name>.secret to the endpoint's signing secret (whsec_…)")
	}
	sig := h.Get(headerSignature)
	var last error
	for _, secret := range s.secrets {
		err := webhook.ValidatePayloadWithTolerance(body, sig, secret, s.tolerance)
		if err == nil {
			return nil
		}
		last = err
	}
	switch {
	case errors.Is(last, webhook.ErrNotSigned):
		return unauthorized(headerSignature, "missing; Stripe signs every webhook: check that this URL is a Stripe webhook endpoint's")
	case errors.Is(last, webhook.ErrInvalidHeader):
		return unauthorized(headerSignature, "is not t=<timestamp>,v1=<signature>")
	case errors.Is(last, webhook.ErrTooOld):
		return unauthorized(headerSignature, fmt.Sprintf("its timestamp is outside the %s tolerance: a replayed delivery, or a clock that is off (tolerance: raises the window)", s.tolerance))
	}
	return unauthorized(headerSignature, "no v1 signature matches the body signed with any configured secret; check the endpoint's signing secret (whsec_…)")
}

func unauthorized(field, msg string) error {
	return &synclayer.Error{Code: synclayer.EUNAUTHORIZED, Field: field, Message: msg}
}

// objectError names the field of data.object whose JSON type is wrong.
func objectError(what string, err error) error {
	var te *json.UnmarshalTypeError
	if errors.As(err, &te) && te.Field != "" {
		return synclayer.FieldErrorf("data.object."+te.Field, "must be %s, not %s: this is not a Stripe %s as any API version sends it", jsonKind(te.Type.Kind().String()), te.Value, what)
	}
	return synclayer.FieldErrorf("data.object", "is not a Stripe %s: %s", what, typeError(err))
}

func jsonKind(k string) string {
	switch {
	case strings.HasPrefix(k, "int"), strings.HasPrefix(k, "float"):
		return "a number"
	case k == "string":
		return "a string"
	case k == "bool":
		return "true or false"
	case k == "slice":
		return "an array"
	}
	return "an object"
}

// typeError says where a JSON value had the wrong type, without echoing it.
func typeError(err error) string {
	var te *json.UnmarshalTypeError
	if errors.As(err, &te) {
		return fmt.Sprintf("%s must be %s, not %s", te.Field, te.Type, te.Value)
	}
	return "malformed JSON"
}

// expandable is a field Stripe sends as an id, or as the object when the
// request expanded it.
type expandable string

func (e *expandable) UnmarshalJSON(b []byte) error {
	if string(b) == "null" {
		*e = ""
		return nil
	}
	var s string
	if json.Unmarshal(b, &s) == nil {
		*e = expandable(s)
		return nil
	}
	var o struct {
		ID string `json:"id"`
	}
	if err := json.Unmarshal(b, &o); err != nil {
		return err
	}
	*e = expandable(o.ID)
	return nil
}

func parseCustomer(typ string, raw json.RawMessage) (*synclayer.Event, error) {
	var c struct {
		ID    string  `json:"id"`
		Email *string `json:"email"`
	}
	if err := json.Unmarshal(raw, &c); err != nil {
		return nil, objectError("customer", err)
	}
	if c.ID == "" {
		return nil, synclayer.FieldErrorf("data.object.id", "missing; the customer's id (cus_…) names the person in later events")
	}
	ch := &synclayer.CustomerChange{SourceID: c.ID, Fields: map[string]json.RawMessage{}}
	if c.Email != nil && *c.Email != "" {
		ch.Fields[synclayer.FieldEmail], _ = json.Marshal(*c.Email)
	}
	et := synclayer.EventCustomerUpdated
	if typ == "customer.created" {
		et = synclayer.EventCustomerCreated
	}
	return &synclayer.Event{Type: et, Customer: ch}, nil
}

type price struct {
	ID         string  `json:"id"`
	Nickname   *string `json:"nickname"`
	LookupKey  *string `json:"lookup_key"`
	Currency   string  `json:"currency"`
	UnitAmount *int64  `json:"unit_amount"`
	// Older API versions send the plan; its amount and interval are the
	// same facts.
	Amount    *int64 `json:"amount"`
	Interval  string `json:"interval"`
	Recurring *struct {
		Interval      string `json:"interval"`
		IntervalCount int64  `json:"interval_count"`
	} `json:"recurring"`
	IntervalCount int64 `json:"interval_count"`
}

func (p *price) name() string {
	switch {
	case p.Nickname != nil && *p.Nickname != "":
		return *p.Nickname
	case p.LookupKey != nil && *p.LookupKey != "":
		return *p.LookupKey
	}
	return p.ID
}

// monthly is the price's amount a month, in minor units, as a fraction.
func (p *price) monthly(quantity int64) (*big.Rat, bool) {
	amount := p.UnitAmount
	if amount == nil {
		amount = p.Amount
	}
	interval, count := p.Interval, p.IntervalCount
	if p.Recurring != nil {
		interval, count = p.Recurring.Interval, p.Recurring.IntervalCount
	}
	if amount == nil || interval == "" {
		return nil, false
	}
	if count <= 0 {
		count = 1
	}
	if quantity <= 0 {
		quantity = 1
	}
	r := new(big.Rat).SetInt64(*amount * quantity)
	switch interval {
	case "month":
		r.Quo(r, big.NewRat(count, 1))
	case "year":
		r.Quo(r, big.NewRat(12*count, 1))
	case "week":
		r.Mul(r, big.NewRat(52, 12*count))
	case "day":
		r.Mul(r, big.NewRat(365, 12*count))
	default:
		return nil, false
	}
	return r, true
}

func parseSubscription(raw json.RawMessage) (*synclayer.Event, error) {
	var s struct {
		ID                string     `json:"id"`
		Customer          expandable `json:"customer"`
		Status            string     `json:"status"`
		Currency          string     `json:"currency"`
		CancelAtPeriodEnd bool       `json:"cancel_at_period_end"`
		CurrentPeriodEnd  int64      `json:"current_period_end"` // before API 2025-03-31.basil
		StartDate         int64      `json:"start_date"`
		CanceledAt        *int64     `json:"canceled_at"`
		EndedAt           *int64     `json:"ended_at"`
		Plan              *price     `json:"plan"`
		Items             struct {
			Data []struct {
				Quantity         int64  `json:"quantity"`
				Price            *price `json:"price"`
				Plan             *price `json:"plan"`
				CurrentPeriodEnd int64  `json:"current_period_end"` // from API 2025-03-31.basil
			} `json:"data"`
		} `json:"items"`
	}
	if err := json.Unmarshal(raw, &s); err != nil {
		return nil, objectError("subscription", err)
	}
	if s.ID == "" {
		return nil, synclayer.FieldErrorf("data.object.id", "missing; the subscription's id (sub_…) keys it")
	}
	if s.Customer == "" {
		return nil, synclayer.FieldErrorf("data.object.customer", "missing; the customer (cus_…) names whose subscription it is")
	}
	sub := &synclayer.Subscription{SourceID: s.ID, CustomerID: string(s.Customer), Status: s.Status,
		Currency: strings.ToUpper(s.Currency), CancelAtPeriodEnd: s.CancelAtPeriodEnd}
	if !validStatus(s.Status) {
		return nil, synclayer.FieldErrorf("data.object.status", "%q is not a Stripe subscription status (%s)", normalize.Clip(s.Status), strings.Join(synclayer.SubscriptionStatuses, ", "))
	}
	end := s.CurrentPeriodEnd
	mrr := new(big.Rat)
	var names []string
	for _, it := range s.Items.Data {
		p := it.Price
		if p == nil {
			p = it.Plan
		}
		if it.CurrentPeriodEnd > end {
			end = it.CurrentPeriodEnd
		}
		if p == nil {
			continue
		}
		names = append(names, p.name())
		if sub.Currency == "" {
			sub.Currency = strings.ToUpper(p.Currency)
		}
		if m, ok := p.monthly(it.Quantity); ok {
			mrr.Add(mrr, m)
		}
	}
	if len(names) == 0 && s.Plan != nil {
		names = append(names, s.Plan.name())
		if m, ok := s.Plan.monthly(1); ok {
			mrr.Add(mrr, m)
		}
	}
	sub.Plan = strings.Join(names, ", ")
	sub.MRR = minorUnits(mrr, sub.Currency)
	if end > 0 {
		sub.CurrentPeriodEnd = time.Unix(end, 0).UTC()
	}
	if s.StartDate > 0 {
		sub.StartedAt = time.Unix(s.StartDate, 0).UTC()
	}
	if s.CanceledAt != nil && *s.CanceledAt > 0 {
		sub.CanceledAt = time.Unix(*s.CanceledAt, 0).UTC()
	} else if s.EndedAt != nil && *s.EndedAt > 0 {
		sub.CanceledAt = time.Unix(*s.EndedAt, 0).UTC()
	}
	return &synclayer.Event{Type: synclayer.EventSubscriptionUpdated, Billing: &synclayer.BillingChange{Subscription: sub,
		Customer: &synclayer.CustomerChange{SourceID: sub.CustomerID}}}, nil
}

func validStatus(s string) bool { return slices.Contains(synclayer.SubscriptionStatuses, s) }

func parseInvoice(typ string, raw json.RawMessage) (*synclayer.Event, error) {
	var in struct {
		ID            string            `json:"id"`
		Customer      expandable        `json:"customer"`
		CustomerEmail *string           `json:"customer_email"`
		AmountDue     int64             `json:"amount_due"`
		AmountPaid    int64             `json:"amount_paid"`
		Currency      string            `json:"currency"`
		AttemptCount  int               `json:"attempt_count"`
		Subscription  expandable        `json:"subscription"` // before API 2025-03-31.basil
		Metadata      map[string]string `json:"metadata"`
		Parent        *struct {
			SubscriptionDetails *struct {
				Subscription expandable `json:"subscription"`
			} `json:"subscription_details"`
		} `json:"parent"` // from API 2025-03-31.basil
		Created int64 `json:"created"`
	}
	if err := json.Unmarshal(raw, &in); err != nil {
		return nil, objectError("invoice", err)
	}
	if in.ID == "" {
		return nil, synclayer.FieldErrorf("data.object.id", "missing; the invoice's id (in_…) keys its payment")
	}
	p := &synclayer.Payment{SourceID: in.ID, CustomerID: string(in.Customer), Currency: strings.ToUpper(in.Currency),
		Attempts: in.AttemptCount, SubscriptionID: string(in.Subscription), OrderID: in.Metadata["order_id"]}
	if in.Parent != nil && in.Parent.SubscriptionDetails != nil && p.SubscriptionID == "" {
		p.SubscriptionID = string(in.Parent.SubscriptionDetails.Subscription)
	}
	if typ == "invoice.payment_failed" {
		p.Status, p.Amount = synclayer.PaymentFailed, minorUnits(new(big.Rat).SetInt64(in.AmountDue), p.Currency)
	} else {
		p.Status, p.Amount = synclayer.PaymentSucceeded, minorUnits(new(big.Rat).SetInt64(in.AmountPaid), p.Currency)
	}
	if in.Created > 0 {
		p.CreatedAt = time.Unix(in.Created, 0).UTC()
	}
	return paymentEvent(p, in.CustomerEmail), nil
}

func parsePaymentIntent(typ string, raw json.RawMessage) (*synclayer.Event, error) {
	var pi struct {
		ID               string            `json:"id"`
		Customer         expandable        `json:"customer"`
		Amount           int64             `json:"amount"`
		Currency         string            `json:"currency"`
		Invoice          expandable        `json:"invoice"` // before API 2025-03-31.basil
		ReceiptEmail     *string           `json:"receipt_email"`
		Metadata         map[string]string `json:"metadata"`
		Created          int64             `json:"created"`
		LastPaymentError *struct {
			Message string `json:"message"`
		} `json:"last_payment_error"`
	}
	if err := json.Unmarshal(raw, &pi); err != nil {
		return nil, objectError("payment intent", err)
	}
	if pi.ID == "" {
		return nil, synclayer.FieldErrorf("data.object.id", "missing; the payment intent's id (pi_…) keys it")
	}
	if pi.Invoice != "" {
		// An invoice's payment: the invoice's own events report it, and
		// reading both would count one failure twice.
		return nil, nil
	}
	p := &synclayer.Payment{SourceID: pi.ID, CustomerID: string(pi.Customer), Currency: strings.ToUpper(pi.Currency),
		Amount: minorUnits(new(big.Rat).SetInt64(pi.Amount), strings.ToUpper(pi.Currency)), OrderID: pi.Metadata["order_id"], Status: synclayer.PaymentSucceeded}
	if typ == "payment_intent.payment_failed" {
		p.Status, p.Attempts = synclayer.PaymentFailed, 1
		if pi.LastPaymentError != nil {
			p.FailureMessage = pi.LastPaymentError.Message
		}
	}
	if pi.Created > 0 {
		p.CreatedAt = time.Unix(pi.Created, 0).UTC()
	}
	return paymentEvent(p, pi.ReceiptEmail), nil
}

func parseRefund(raw json.RawMessage) (*synclayer.Event, error) {
	var ch struct {
		ID             string            `json:"id"`
		Customer       expandable        `json:"customer"`
		Amount         int64             `json:"amount"`
		AmountRefunded int64             `json:"amount_refunded"`
		Currency       string            `json:"currency"`
		PaymentIntent  expandable        `json:"payment_intent"`
		Invoice        expandable        `json:"invoice"` // before API 2025-03-31.basil
		ReceiptEmail   *string           `json:"receipt_email"`
		Metadata       map[string]string `json:"metadata"`
		Created        int64             `json:"created"`
	}
	if err := json.Unmarshal(raw, &ch); err != nil {
		return nil, objectError("charge", err)
	}
	if ch.ID == "" {
		return nil, synclayer.FieldErrorf("data.object.id", "missing; the charge's id (ch_…) keys it")
	}
	cur := strings.ToUpper(ch.Currency)
	// The refund belongs to the invoice's record where the charge names
	// one (before basil), else the payment intent's, else the charge's.
	id := string(ch.Invoice)
	if id == "" {
		id = string(ch.PaymentIntent)
	}
	if id == "" {
		id = ch.ID
	}
	p := &synclayer.Payment{SourceID: id, CustomerID: string(ch.Customer), Currency: cur, Status: synclayer.PaymentRefunded,
		Amount: minorUnits(new(big.Rat).SetInt64(ch.Amount), cur), Refunded: minorUnits(new(big.Rat).SetInt64(ch.AmountRefunded), cur),
		OrderID: ch.Metadata["order_id"]}
	if ch.Created > 0 {
		p.CreatedAt = time.Unix(ch.Created, 0).UTC()
	}
	return paymentEvent(p, ch.ReceiptEmail), nil
}

func paymentEvent(p *synclayer.Payment, email *string) *synclayer.Event {
	bc := &synclayer.BillingChange{Payment: p}
	cust := &synclayer.CustomerChange{SourceID: p.CustomerID, Fields: map[string]json.RawMessage{}}
	if email != nil && *email != "" {
		cust.Fields[synclayer.FieldEmail], _ = json.Marshal(*email)
	}
	if cust.Identifies() {
		bc.Customer = cust
	}
	return &synclayer.Event{Type: synclayer.EventPaymentUpdated, Billing: bc}
}

// zeroDecimal are the currencies Stripe counts in whole units, and
// threeDecimal those it counts in thousandths (Stripe's currencies page).
var (
	zeroDecimal  = "BIF CLP DJF GNF JPY KMF KRW MGA PYG RWF UGX VND VUV XAF XOF XPF"
	threeDecimal = "BHD JOD KWD OMR TND"
)

// minorUnits turns an amount in the currency's smallest unit into Money,
// rounded half up to that unit (an MRR spread over a year need not divide).
func minorUnits(r *big.Rat, currency string) synclayer.Money {
	exp := 2
	switch {
	case slices.Contains(strings.Fields(zeroDecimal), currency):
		exp = 0
	case slices.Contains(strings.Fields(threeDecimal), currency):
		exp = 3
	}
	scale := new(big.Int).Exp(big.NewInt(10), big.NewInt(int64(exp)), nil)
	v := new(big.Rat).Quo(r, new(big.Rat).SetInt(scale))
	m, err := synclayer.ParseMoney(v.FloatString(exp))
	if err != nil {
		return synclayer.Money{}
	}
	return m
}
