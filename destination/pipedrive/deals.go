package pipedrive

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"

	"synclayer"
)

// Deals are order-events on Pipedrive, through the v2 deals API (POST
// and PATCH /api/v2/deals, GET /api/v2/deals/search), which the official
// client has and which Pipedrive recommends over v1. Each order
// (options.deals: per_order, the default; first_order; none) is one deal:
// titled "Order #1001", valued at the order's net total in its currency,
// won, lost or open as synclayer.DealStageOf says (status, and stage_id
// through options.deal_stages in options.pipeline_id), and linked to the
// person of the contact's email and the organization of its company.
//
// Pipedrive has no upsert by a client's key, so a deal is keyed twice:
// its ID is kept in the order's sync state, and the order's canonical ID
// is written to the deal custom field synclayer_order_id (created by
// Prepare), which Apply searches (exact match) before it creates one. A
// redelivery, a replay, or a retry after a lost answer so finds the deal
// it made rather than making a second.

// DealOrderField is the deal custom field that keys a deal by its order.
const DealOrderField = "synclayer_order_id"

const (
	pathDeals      = "/api/v2/deals"
	pathDeal       = "/api/v2/deals/{id}"
	pathDealSearch = "/api/v2/deals/search"
	pathDealFields = "/api/v2/dealFields"
)

// Deal statuses, as the v2 API names them.
const (
	DealStatusOpen = "open"
	DealStatusWon  = "won"
	DealStatusLost = "lost"
)

// DealOptions are order-events' options on Pipedrive.
type DealOptions struct {
	Deals string `json:"deals"` // per_order (default), first_order or none
	// PipelineID is the pipeline deals are made in; 0: the company's
	// default pipeline.
	PipelineID int64 `json:"pipeline_id"`
	// DealStages maps synclayer's open, won and lost to stage IDs of the
	// pipeline; a stage left out is not set (a new deal goes to the
	// pipeline's first stage, and won and lost are the deal's status).
	DealStages map[string]int64 `json:"deal_stages"`
}

const dealOptionNames = "Pipedrive order-events option; the options are deals, pipeline_id and deal_stages"

// DealSync is order-events on one Pipedrive company.
type DealSync struct {
	client *Client
	log    *slog.Logger
	opts   DealOptions

	mu   sync.Mutex
	code string // the field code of synclayer_order_id; "" until known
}

var (
	_ synclayer.OrderDestination = (*Destination)(nil)
	_ synclayer.OrderSync        = (*DealSync)(nil)
)

// OrderSync builds order-events (deals) on this company. Errors name the
// option: options.deals, options.pipeline_id or options.deal_stages.<stage>.
func (d *Destination) OrderSync(cfg synclayer.SkillConfig) (synclayer.OrderSync, error) {
	var o DealOptions
	if err := synclayer.DecodeSettings(cfg.Options, &o, dealOptionNames); err != nil {
		if e, ok := err.(*synclayer.Error); ok && e.Field != "" {
			e.Field = "options." + e.Field
		}
		return nil, err
	}
	var err error
	if o.Deals, err = synclayer.DealsOption(o.Deals); err != nil {
		return nil, err
	}
	if o.PipelineID < 0 {
		return nil, synclayer.FieldErrorf("options.pipeline_id", "must be a Pipedrive pipeline ID (Pipeline settings, in the address: /pipeline/<id>), or left out for the default pipeline")
	}
	for k, v := range o.DealStages {
		switch k {
		case synclayer.DealOpen, synclayer.DealWon, synclayer.DealLost:
		default:
			return nil, synclayer.FieldErrorf("options.deal_stages."+k, "is not a stage synclayer sets: open, won and lost")
		}
		if v <= 0 {
			return nil, synclayer.FieldErrorf("options.deal_stages."+k, "must be a stage ID of the pipeline, a positive number")
		}
	}
	log := cfg.Logger
	if log == nil {
		log = d.log
	}
	return &DealSync{client: d.client, log: log, opts: o}, nil
}

// Prepare makes sure the company has the deal field synclayer_order_id,
// creating it (a text field) when missing, and keeps its code.
func (s *DealSync) Prepare(ctx context.Context) error {
	if s.opts.Deals == synclayer.DealsNone {
		return nil
	}
	_, err := s.orderField(ctx)
	return err
}

func (s *DealSync) orderField(ctx context.Context) (string, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.code != "" {
		return s.code, nil
	}
	fields, err := s.client.listFields(ctx, pathDealFields)
	if err != nil {
		return "", fmt.Errorf("list Pipedrive deal fields: %w", err)
	}
	for _, f := range fields {
		if f.Name == DealOrderField && f.IsCustom {
			s.code = f.Code
			return s.code, nil
		}
	}
	f, err := s.client.createField(ctx, pathDealFields, DealOrderField, "varchar")
	if err != nil {
		return "", fmt.Errorf("create Pipedrive deal field %s: %w", DealOrderField, err)
	}
	s.code = f.Code
	return s.code, nil
}

// dealState is what order-events holds for an order's deal: the fields
// last written and where the deal is.
type dealState struct {
	DealID   int64     `json:"dealId,omitempty"`
	PersonID int64     `json:"personId,omitempty"`
	OrgID    int64     `json:"orgId,omitempty"`
	Sent     dealInput `json:"sent"`
	Company  string    `json:"company,omitempty"`
}

// dealInput is the deal's body, without the links and the key, which
// Apply adds.
type dealInput struct {
	Title      string          `json:"title,omitempty"`
	Value      json.RawMessage `json:"value,omitempty"`
	Currency   string          `json:"currency,omitempty"`
	Status     string          `json:"status,omitempty"`
	PipelineID int64           `json:"pipeline_id,omitempty"`
	StageID    int64           `json:"stage_id,omitempty"`
}

func (a dealInput) equal(b dealInput) bool {
	return a.Title == b.Title && string(a.Value) == string(b.Value) && a.Currency == b.Currency && a.Status == b.Status &&
		a.PipelineID == b.PipelineID && a.StageID == b.StageID
}

// dealDetail is the plan's detail, which Apply carries out.
type dealDetail struct {
	Deal    dealInput `json:"deal"`
	OrderID string    `json:"orderId"`
	Email   string    `json:"email"`
	Name    string    `json:"name,omitempty"`
	Company string    `json:"company,omitempty"`
	Prev    dealState `json:"prev"`
}

// Plan decides the deal's create or update. A deal as held plans
// nothing; an order of nobody with an email plans nothing, since its
// deal would be linked to nobody.
func (s *DealSync) Plan(o *synclayer.Order, c *synclayer.Contact, prevRaw json.RawMessage) (*synclayer.Plan, error) {
	var prev dealState
	if len(prevRaw) > 0 && string(prevRaw) != "null" {
		if err := json.Unmarshal(prevRaw, &prev); err != nil {
			return nil, fmt.Errorf("pipedrive: decode deal state: %w", err)
		}
	}
	none := func(reason string) *synclayer.Plan {
		return &synclayer.Plan{Op: synclayer.PlanNone, Next: mustJSON(prev), Reason: reason}
	}
	if s.opts.Deals == synclayer.DealsNone {
		return none("options.deals is none: Pipedrive gets persons only"), nil
	}
	email := ""
	if c != nil {
		email, _ = contactEmail(c)
	}
	if email == "" {
		return none("no contact email is known for the order, so its deal would belong to nobody"), nil
	}
	if s.opts.Deals == synclayer.DealsFirstOrder && prev.DealID == 0 && !synclayer.IsFirstOrder(o, c) {
		return none("not the contact's first order (options.deals: first_order)"), nil
	}
	in := dealInput{Title: synclayer.DealName(o), Value: json.RawMessage(o.Net().String()), Currency: strings.ToUpper(o.Currency),
		PipelineID: s.opts.PipelineID}
	stage := synclayer.DealStageOf(o)
	in.Status = map[string]string{synclayer.DealOpen: DealStatusOpen, synclayer.DealWon: DealStatusWon, synclayer.DealLost: DealStatusLost}[stage]
	in.StageID = s.opts.DealStages[stage]
	company := companyName(c)
	if prev.DealID != 0 && prev.Sent.equal(in) && prev.Company == synclayer.CompanyKey(company) {
		return none("the deal is as Pipedrive holds it"), nil
	}
	call := synclayer.PlannedCall{Method: "POST", Path: pathDeals, Body: in}
	if prev.DealID != 0 {
		call = synclayer.PlannedCall{Method: "PATCH", Path: pathDeal, Body: in}
	}
	next := prev
	next.Sent, next.Company = in, synclayer.CompanyKey(company)
	name := ""
	if c != nil {
		name = strings.TrimSpace(str(c.Value(synclayer.FieldFirstName)) + " " + str(c.Value(synclayer.FieldLastName)))
	}
	return &synclayer.Plan{Op: synclayer.PlanUpsert, Calls: []synclayer.PlannedCall{call}, Next: mustJSON(next),
		Detail: dealDetail{Deal: in, OrderID: o.ID, Email: email, Name: name, Company: company, Prev: prev}}, nil
}

// Apply finds (or creates, by email) the order's person and the
// organization of its company, then updates the deal it knows or finds
// by synclayer_order_id, or creates it.
func (s *DealSync) Apply(ctx context.Context, o *synclayer.Order, c *synclayer.Contact, plan *synclayer.Plan) (string, error) {
	var d dealDetail
	switch v := plan.Detail.(type) {
	case dealDetail:
		d = v
	case nil:
		return "", synclayer.Permanent(fmt.Errorf("pipedrive: the deal plan holds no detail"))
	default: // a plan read back from its JSON
		remarshal(v, &d)
		if d.OrderID == "" {
			return "", synclayer.Permanent(fmt.Errorf("pipedrive: the deal plan's detail is not a deal"))
		}
	}
	var next dealState
	if err := json.Unmarshal(plan.Next, &next); err != nil {
		return "", fmt.Errorf("pipedrive: decode deal state: %w", err)
	}
	code, err := s.orderField(ctx)
	if err != nil {
		return "", err
	}
	personID, made, err := s.client.EnsurePerson(ctx, d.Email, d.Name)
	if err != nil {
		return "", fmt.Errorf("person of order %s: %w", o.ID, err)
	}
	var lines []string
	if made {
		lines = append(lines, fmt.Sprintf("person %d created", personID))
	}
	var orgID int64
	if d.Company != "" {
		var created bool
		if orgID, created, err = s.client.EnsureOrganization(ctx, d.Company, d.Prev.OrgID); err != nil {
			return "", fmt.Errorf("organization of order %s: %w", o.ID, err)
		}
		if created {
			lines = append(lines, fmt.Sprintf("organization %d created", orgID))
		}
	}
	body := DealInput{Title: d.Deal.Title, Value: d.Deal.Value, Currency: d.Deal.Currency, Status: d.Deal.Status,
		PipelineID: d.Deal.PipelineID, StageID: d.Deal.StageID, PersonID: personID, OrgID: orgID}
	id := d.Prev.DealID
	if id != 0 {
		if err := s.client.UpdateDeal(ctx, id, body); IsNotFound(err) {
			lines = append(lines, fmt.Sprintf("deal %d deleted in Pipedrive", id))
			id = 0
		} else if err != nil {
			return strings.Join(lines, ", "), err
		} else {
			lines = append(lines, fmt.Sprintf("deal %d updated", id))
		}
	}
	if id == 0 {
		if id, err = s.client.FindDealByField(ctx, code, d.OrderID); err != nil {
			return strings.Join(lines, ", "), err
		}
		if id != 0 {
			if err := s.client.UpdateDeal(ctx, id, body); err != nil {
				return strings.Join(lines, ", "), err
			}
			lines = append(lines, fmt.Sprintf("deal %d found by %s and updated", id, DealOrderField))
		} else {
			body.CustomFields = map[string]any{code: d.OrderID}
			if id, err = s.client.CreateDeal(ctx, body); err != nil {
				return strings.Join(lines, ", "), err
			}
			lines = append(lines, fmt.Sprintf("deal %d created", id))
		}
	}
	next.DealID, next.PersonID, next.OrgID = id, personID, orgID
	plan.Next = mustJSON(next)
	return fmt.Sprintf("pipedrive: %s (%s, %s %s)", strings.Join(lines, ", "), d.Deal.Status, d.Deal.Value, d.Deal.Currency), nil
}

// DealInput is the body of a deal create (POST) or update (PATCH).
type DealInput struct {
	Title        string          `json:"title,omitempty"`
	Value        json.RawMessage `json:"value,omitempty"`
	Currency     string          `json:"currency,omitempty"`
	Status       string          `json:"status,omitempty"`
	PipelineID   int64           `json:"pipeline_id,omitempty"`
	StageID      int64           `json:"stage_id,omitempty"`
	PersonID     int64           `json:"person_id,omitempty"`
	OrgID        int64           `json:"org_id,omitempty"`
	CustomFields map[string]any  `json:"custom_fields,omitempty"`
}

// CreateDeal creates a deal and returns its ID.
func (c *Client) CreateDeal(ctx context.Context, in DealInput) (int64, error) {
	var out envelope[struct {
		ID int64 `json:"id"`
	}]
	if _, err := c.do(ctx, call{method: http.MethodPost, route: pathDeals, path: pathDeals, body: in, out: &out}); err != nil {
		return 0, err
	}
	if out.Data.ID == 0 {
		return 0, synclayer.Permanent(&APIError{Status: http.StatusOK, Message: "Pipedrive answered the deal create without an ID"})
	}
	return out.Data.ID, nil
}

// UpdateDeal changes deal id; a deal deleted in Pipedrive is IsNotFound.
func (c *Client) UpdateDeal(ctx context.Context, id int64, in DealInput) error {
	path := pathDeals + "/" + strconv.FormatInt(id, 10)
	_, err := c.do(ctx, call{method: http.MethodPatch, route: pathDeal, path: path, body: in})
	return err
}

// FindDealByField returns the ID of the live deal whose custom field
// holds value exactly (GET /api/v2/deals/search, fields=custom_fields,
// exact_match), the lowest of several; 0 when there is none.
func (c *Client) FindDealByField(ctx context.Context, code, value string) (int64, error) {
	var out envelope[struct {
		Items []struct {
			Item struct {
				ID           int64    `json:"id"`
				CustomFields []string `json:"custom_fields"`
			} `json:"item"`
		} `json:"items"`
	}]
	q := url.Values{"term": {value}, "fields": {"custom_fields"}, "exact_match": {"true"}, "limit": {"10"}}
	if _, err := c.do(ctx, call{method: http.MethodGet, route: pathDealSearch, path: pathDealSearch, query: q, out: &out}); err != nil {
		return 0, err
	}
	var id int64
	for _, it := range out.Data.Items {
		for _, v := range it.Item.CustomFields {
			if v == value && (id == 0 || it.Item.ID < id) {
				id = it.Item.ID
			}
		}
	}
	return id, nil
}
