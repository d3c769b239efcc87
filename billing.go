package synclayer

import (
	"context"
	"encoding/json"
	"strings"
	"time"
)

// Billing triggers: what a payment provider reports of a person's
// subscriptions and payments, judged by ingest against the record held
// (a report older than it fires nothing).
const (
	// EventSubscriptionStarted fires once per subscription, when it is
	// first held active or trialing.
	EventSubscriptionStarted EventType = "subscription_started"
	// EventSubscriptionCancelled fires once per subscription, when it
	// ends (Stripe's status canceled), not when a cancellation at the
	// period's end is scheduled (cancelAtPeriodEnd says that).
	EventSubscriptionCancelled EventType = "subscription_cancelled"
	// EventPaymentFailed fires once per failed attempt of a payment.
	EventPaymentFailed EventType = "payment_failed"
)

// The event types a payment provider's reports carry: which trigger, if
// any, fires is ingest's judgement against the record held.
const (
	EventSubscriptionUpdated EventType = "subscription_updated"
	EventPaymentUpdated      EventType = "payment_updated"
)

// Subscription statuses, as Stripe names them; other providers map theirs.
const (
	SubscriptionTrialing   = "trialing"
	SubscriptionActive     = "active"
	SubscriptionPastDue    = "past_due"
	SubscriptionUnpaid     = "unpaid"
	SubscriptionCanceled   = "canceled"
	SubscriptionIncomplete = "incomplete"
	SubscriptionExpired    = "incomplete_expired"
	SubscriptionPaused     = "paused"
)

// SubscriptionStatuses are the canonical statuses.
var SubscriptionStatuses = []string{SubscriptionTrialing, SubscriptionActive, SubscriptionPastDue, SubscriptionUnpaid,
	SubscriptionCanceled, SubscriptionIncomplete, SubscriptionExpired, SubscriptionPaused}

// SubscriptionLive reports whether a status means the person has the
// plan now: trialing, active, or active with a payment overdue.
func SubscriptionLive(status string) bool {
	return status == SubscriptionTrialing || status == SubscriptionActive || status == SubscriptionPastDue
}

// Payment statuses.
const (
	PaymentSucceeded = "succeeded"
	PaymentFailed    = "failed"
	PaymentRefunded  = "refunded" // wholly or partly: Refunded says how much
	PaymentPending   = "pending"
)

// PaymentStatuses are the canonical payment statuses.
var PaymentStatuses = []string{PaymentSucceeded, PaymentFailed, PaymentRefunded, PaymentPending}

// Contact fields kept from a contact's subscriptions, recomputed on every
// subscription change and merged as source BillingSource.
const (
	FieldSubscriptionStatus = "subscriptionStatus" // of the contact's current subscription
	FieldPlan               = "plan"               // the current subscription's plan
	FieldMRR                = "mrr"                // monthly recurring revenue of the live subscriptions, in the current one's currency
)

// BillingSource is the source of the contact fields computed from
// subscriptions.
const BillingSource = "billing"

// BillingFields are the contact fields computed from subscriptions.
var BillingFields = []string{FieldSubscriptionStatus, FieldPlan, FieldMRR}

// Subscription is the canonical record of one subscription at a payment
// provider, newer-wins by the provider's time of the change it last
// reported (Stripe's objects carry no update time: the event's does).
type Subscription struct {
	ID         string `json:"id"` // CanonicalID(Source, SourceID)
	Source     string `json:"source"`
	SourceID   string `json:"sourceId"`   // sub_…
	CustomerID string `json:"customerId"` // the provider's customer: cus_…
	ContactID  string `json:"contactId"`  // "" while no contact has the customer
	Status     string `json:"status"`     // one of SubscriptionStatuses
	Plan       string `json:"plan,omitempty"`
	Currency   string `json:"currency,omitempty"`
	// MRR is the subscription's amount a month: the recurring amount of
	// its items, spread over their interval.
	MRR               Money     `json:"mrr"`
	CurrentPeriodEnd  time.Time `json:"currentPeriodEnd,omitzero"`
	CancelAtPeriodEnd bool      `json:"cancelAtPeriodEnd,omitempty"`
	StartedAt         time.Time `json:"startedAt,omitzero"`
	CanceledAt        time.Time `json:"canceledAt,omitzero"`
	UpdatedAt         time.Time `json:"updatedAt"`
	Version           int64     `json:"version"`
}

// Payment is the canonical record of one payment (a Stripe invoice,
// payment intent or charge), newer-wins like a subscription.
type Payment struct {
	ID             string `json:"id"`
	Source         string `json:"source"`
	SourceID       string `json:"sourceId"` // in_…, pi_… or ch_…
	CustomerID     string `json:"customerId,omitempty"`
	ContactID      string `json:"contactId"`
	Status         string `json:"status"` // one of PaymentStatuses
	Amount         Money  `json:"amount"`
	Refunded       Money  `json:"refunded"`
	Currency       string `json:"currency,omitempty"`
	SubscriptionID string `json:"subscriptionId,omitempty"` // the provider's sub_… an invoice bills
	// OrderID is the store's order the payment is for, where the shop
	// sets it in the payment's metadata (order_id): the link that keeps
	// an order and its payment from counting twice.
	OrderID        string    `json:"orderId,omitempty"`
	Attempts       int       `json:"attempts,omitempty"` // Stripe's attempt_count: invoices are retried
	FailureMessage string    `json:"failureMessage,omitempty"`
	CreatedAt      time.Time `json:"createdAt"`
	UpdatedAt      time.Time `json:"updatedAt"`
	Version        int64     `json:"version"`
}

// BillingChange is what one report from a payment provider says: a
// subscription's or a payment's whole state as of At, the customer it
// belongs to, and what the report says of the customer.
type BillingChange struct {
	At           time.Time     `json:"at"` // the provider's time of the change
	Subscription *Subscription `json:"subscription,omitempty"`
	Payment      *Payment      `json:"payment,omitempty"`
	// Customer names the person: the provider's customer id as SourceID,
	// and the email where the report carries one.
	Customer *CustomerChange `json:"customer,omitempty"`
	// Fields are the rest of what the provider sent that a rule may read.
	Fields map[string]json.RawMessage `json:"fields,omitempty"`
}

// BillingTx is the part of an ingest transaction that writes
// subscriptions and payments.
type BillingTx interface {
	FindSubscriptionByID(ctx context.Context, id string) (*Subscription, error)
	FindSubscriptionsByContact(ctx context.Context, contactID string) ([]*Subscription, error)
	SaveSubscription(ctx context.Context, s *Subscription) error
	FindPaymentByID(ctx context.Context, id string) (*Payment, error)
	FindPaymentsByContact(ctx context.Context, contactID string) ([]*Payment, error)
	SavePayment(ctx context.Context, p *Payment) error
}

// PaymentPurchases are the payments that are purchases of their own, as
// orders for the contact's totals: paid (or refunded since) and not for
// an order synclayer holds, matched by the payment's OrderID against an
// order's source ID or number, so an order and the payment that paid
// for it count once.
func PaymentPurchases(payments []*Payment, orders []*Order) []*Order {
	held := map[string]bool{}
	for _, o := range orders {
		held[o.SourceID] = true
		if n := strings.TrimPrefix(o.Number, "#"); n != "" {
			held[n] = true
		}
	}
	var out []*Order
	for _, p := range payments {
		if p.Status != PaymentSucceeded && p.Status != PaymentRefunded {
			continue
		}
		if p.OrderID != "" && held[strings.TrimPrefix(p.OrderID, "#")] {
			continue
		}
		o := &Order{ID: p.ID, Source: p.Source, SourceID: p.SourceID, ContactID: p.ContactID, Status: OrderPaid,
			Currency: p.Currency, Total: p.Amount, CreatedAt: p.CreatedAt, UpdatedAt: p.UpdatedAt}
		if !p.Refunded.IsZero() && p.Refunded.Sign() > 0 {
			o.Refunds = []Refund{{ID: p.SourceID + ":refunds", Amount: p.Refunded, CreatedAt: p.UpdatedAt}}
			if p.Refunded.Cmp(p.Amount) >= 0 {
				o.Status = OrderRefunded
			}
		}
		out = append(out, o)
	}
	return out
}

// SubscriptionTotals are the contact fields its subscriptions give.
type SubscriptionTotals struct {
	Status   string
	Plan     string
	MRR      Money
	Currency string
}

// SumSubscriptions computes a contact's subscription fields: the current
// subscription is the live one started last (else the one changed
// last), and MRR adds the live subscriptions in its currency, trials
// left out (nothing is paid for them yet).
func SumSubscriptions(subs []*Subscription) SubscriptionTotals {
	var cur *Subscription
	for _, s := range subs {
		switch {
		case cur == nil:
			cur = s
		case SubscriptionLive(s.Status) != SubscriptionLive(cur.Status):
			if SubscriptionLive(s.Status) {
				cur = s
			}
		case SubscriptionLive(s.Status):
			if s.StartedAt.After(cur.StartedAt) {
				cur = s
			}
		case s.UpdatedAt.After(cur.UpdatedAt):
			cur = s
		}
	}
	if cur == nil {
		return SubscriptionTotals{}
	}
	t := SubscriptionTotals{Status: cur.Status, Plan: cur.Plan, Currency: cur.Currency, MRR: MustMoney("0")}
	for _, s := range subs {
		if (s.Status == SubscriptionActive || s.Status == SubscriptionPastDue) && s.Currency == cur.Currency && !s.MRR.IsZero() {
			t.MRR = t.MRR.Add(s.MRR)
		}
	}
	return t
}

// Change returns the totals as a change to the contact's billing fields.
func (t SubscriptionTotals) Change() *CustomerChange {
	f := map[string]json.RawMessage{}
	if t.Status == "" {
		return &CustomerChange{Fields: f}
	}
	f[FieldSubscriptionStatus], _ = json.Marshal(t.Status)
	f[FieldPlan], _ = json.Marshal(t.Plan)
	f[FieldMRR] = json.RawMessage(t.MRR.String())
	return &CustomerChange{Fields: f}
}
