package hubspot

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"maps"
	"strings"
	"time"

	"synclayer"
)

// Deals are order-events on HubSpot: each order (options.deals:
// per_order, the default; first_order; none) is one deal, upserted by
// the order's canonical ID in synclayer_order_id (a deal property with
// unique values Prepare creates), so a redelivery or a replay never makes
// a second deal; its stage follows the order's financial state through
// options.deal_stages, and it is associated with its contact and the
// contact's company (v4 default associations).

// DealOrderProperty is the deal property that keys a deal by its order.
const DealOrderProperty = "synclayer_order_id"

// DealOptions are order-events' options on HubSpot.
type DealOptions struct {
	Deals      string            `json:"deals"`       // per_order, first_order or none
	Pipeline   string            `json:"pipeline"`    // default "default"
	DealStages map[string]string `json:"deal_stages"` // open, won, lost → the pipeline's stage IDs
}

const dealOptionNames = "HubSpot order-events option; the options are deals, pipeline and deal_stages"

var defaultDealStages = map[string]string{synclayer.DealOpen: "appointmentscheduled", synclayer.DealWon: "closedwon", synclayer.DealLost: "closedlost"}

// DealSync is order-events on one HubSpot account.
type DealSync struct {
	client *Client
	log    *slog.Logger
	opts   DealOptions
}

var _ synclayer.OrderSync = (*DealSync)(nil)

// OrderSync builds order-events (deals) on this account.
func (d *Destination) OrderSync(cfg synclayer.SkillConfig) (synclayer.OrderSync, error) {
	o := DealOptions{}
	if err := synclayer.DecodeSettings(cfg.Options, &o, dealOptionNames); err != nil {
		return nil, prefixOptions(err)
	}
	var err error
	if o.Deals, err = synclayer.DealsOption(o.Deals); err != nil {
		return nil, err
	}
	if o.Pipeline == "" {
		o.Pipeline = "default"
	}
	stages := maps.Clone(defaultDealStages)
	for k, v := range o.DealStages {
		if _, ok := stages[k]; !ok {
			return nil, synclayer.FieldErrorf("options.deal_stages."+k, "is not a stage synclayer sets: open, won and lost")
		}
		if strings.TrimSpace(v) == "" {
			return nil, synclayer.FieldErrorf("options.deal_stages."+k, "is empty: give the pipeline's stage ID")
		}
		stages[k] = v
	}
	o.DealStages = stages
	log := cfg.Logger
	if log == nil {
		log = d.log
	}
	return &DealSync{client: d.client, log: log, opts: o}, nil
}

func prefixOptions(err error) error {
	if e, ok := err.(*synclayer.Error); ok && e.Field != "" {
		e.Field = "options." + e.Field
	}
	return err
}

// Prepare creates the properties that key deals by order and companies
// by name, with unique values, unless the account has them.
func (s *DealSync) Prepare(ctx context.Context) error {
	if err := ensureUniqueProperty(ctx, s.client, objectDeals, DealOrderProperty, "synclayer order ID", "dealinformation"); err != nil {
		return err
	}
	return ensureUniqueProperty(ctx, s.client, objectCompanies, CompanyKeyProperty, "synclayer company key", "companyinformation")
}

// dealState is what order-events holds for an order's deal: the
// properties last written, and whether its associations were made.
type dealState struct {
	Properties map[string]string `json:"properties"`
	Associated bool              `json:"associated"`
	DealID     string            `json:"dealId,omitempty"`
}

type dealDetail struct {
	Upsert    UpsertInput `json:"upsert"`
	Associate bool        `json:"associate"`
	Email     string      `json:"email"`
	Company   string      `json:"company,omitempty"`
}

// Plan decides the deal's upsert and associations. A deal as held plans
// nothing; an order of nobody with an email cannot be associated and
// plans nothing.
func (s *DealSync) Plan(o *synclayer.Order, c *synclayer.Contact, prevRaw json.RawMessage) (*synclayer.Plan, error) {
	var prev dealState
	if len(prevRaw) > 0 && string(prevRaw) != "null" {
		if err := json.Unmarshal(prevRaw, &prev); err != nil {
			return nil, fmt.Errorf("hubspot: decode deal state: %w", err)
		}
	}
	none := func(reason string) *synclayer.Plan {
		next, _ := json.Marshal(prev)
		return &synclayer.Plan{Op: synclayer.PlanNone, Next: next, Reason: reason}
	}
	if s.opts.Deals == synclayer.DealsNone {
		return none("options.deals is none: HubSpot gets contacts only"), nil
	}
	if c == nil || strings.TrimSpace(c.Email) == "" {
		return none("no contact email is known for the order, so its deal would belong to nobody"), nil
	}
	if s.opts.Deals == synclayer.DealsFirstOrder && prev.Properties == nil && !synclayer.IsFirstOrder(o, c) {
		return none("not the contact's first order (options.deals: first_order)"), nil
	}
	props := map[string]string{
		"dealname":        synclayer.DealName(o),
		"amount":          o.Net().String(),
		"pipeline":        s.opts.Pipeline,
		"dealstage":       s.opts.DealStages[synclayer.DealStageOf(o)],
		DealOrderProperty: o.ID,
	}
	if stage := synclayer.DealStageOf(o); stage != synclayer.DealOpen {
		props["closedate"] = o.UpdatedAt.UTC().Format(time.RFC3339)
		if stage == synclayer.DealWon {
			props["closedate"] = o.CreatedAt.UTC().Format(time.RFC3339)
		}
	}
	if o.Currency != "" {
		props["deal_currency_code"] = o.Currency
	}
	if prev.Associated && maps.Equal(prev.Properties, props) {
		return none("the deal is as HubSpot holds it"), nil
	}
	in := UpsertInput{ID: o.ID, IDProperty: DealOrderProperty, Properties: props}
	calls := []synclayer.PlannedCall{{Method: "POST", Path: "/crm/v3/objects/0-3/batch/upsert", Body: map[string]any{"inputs": []UpsertInput{in}}}}
	company := companyName(c)
	if !prev.Associated {
		calls = append(calls, synclayer.PlannedCall{Method: "PUT", Path: "/crm/v4/objects/0-3/{dealId}/associations/default/contacts/{contactId}"})
		if company != "" {
			calls = append(calls, synclayer.PlannedCall{Method: "PUT", Path: "/crm/v4/objects/0-3/{dealId}/associations/default/companies/{companyId}"})
		}
	}
	next, _ := json.Marshal(dealState{Properties: props, Associated: true, DealID: prev.DealID})
	op := synclayer.PlanUpsert
	return &synclayer.Plan{Op: op, Calls: calls, Next: next,
		Detail: dealDetail{Upsert: in, Associate: !prev.Associated, Email: c.Email, Company: company}}, nil
}

// Apply upserts the deal, then associates it with its contact (upserted
// by email if HubSpot holds none yet) and the contact's company.
func (s *DealSync) Apply(ctx context.Context, o *synclayer.Order, c *synclayer.Contact, plan *synclayer.Plan) (string, error) {
	d, ok := plan.Detail.(dealDetail)
	if !ok {
		return "", fmt.Errorf("hubspot: the deal plan holds no detail")
	}
	res, err := s.client.UpsertDeals(ctx, []UpsertInput{d.Upsert})
	if err != nil {
		return "", err
	}
	if len(res.Results) != 1 {
		return "", synclayer.Permanent(fmt.Errorf("hubspot refused the deal of order %s: %s", o.ID, batchReason(res.Errors)))
	}
	deal := res.Results[0]
	summary := fmt.Sprintf("deal %s %s (%s, %s %s)", deal.ID, map[bool]string{true: "created", false: "updated"}[deal.New],
		d.Upsert.Properties["dealstage"], d.Upsert.Properties["amount"], d.Upsert.Properties["deal_currency_code"])
	if !d.Associate {
		return summary, nil
	}
	contacts, err := s.client.UpsertContacts(ctx, []UpsertInput{{ID: d.Email, IDProperty: "email", Properties: map[string]string{"email": d.Email}}})
	if err != nil {
		return "", err
	}
	if len(contacts.Results) != 1 {
		return "", synclayer.Permanent(fmt.Errorf("hubspot refused the contact of order %s: %s", o.ID, batchReason(contacts.Errors)))
	}
	if err := s.client.AssociateDefault(ctx, objectDeals, deal.ID, "contacts", contacts.Results[0].ID); err != nil {
		return "", err
	}
	summary += ", associated with contact " + contacts.Results[0].ID
	if d.Company != "" {
		id, err := upsertCompany(ctx, s.client, d.Company)
		if err != nil {
			return "", err
		}
		if err := s.client.AssociateDefault(ctx, objectDeals, deal.ID, objectCompanies, id); err != nil {
			return "", err
		}
		summary += " and company " + id
	}
	return summary, nil
}

func batchReason(errs []BatchError) string {
	if len(errs) == 0 {
		return "no result"
	}
	return errs[0].Category + ": " + errs[0].Message
}
