package hubspot

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"regexp"
	"slices"
	"strings"

	"synclayer"
)

// ContactOptions is the HubSpot part of customer-sync's options.
type ContactOptions struct {
	// SubscriptionID is the subscription type (communication preferences)
	// consent is written to; "" writes no consent.
	SubscriptionID string `json:"subscription_id"`
	// LegalBasis, when set, lets an opt-in subscribe; without it opt-ins
	// are not written (HubSpot asks for one on GDPR-enabled accounts).
	LegalBasis            string `json:"legal_basis"`
	LegalBasisExplanation string `json:"legal_basis_explanation"`
}

// LegalBases are the legal bases HubSpot's subscribe takes.
var LegalBases = []string{"CONSENT_WITH_NOTICE", "LEGITIMATE_INTEREST_CLIENT", "LEGITIMATE_INTEREST_OTHER",
	"LEGITIMATE_INTEREST_PQL", "NON_GDPR", "PERFORMANCE_OF_CONTRACT", "PROCESS_AND_STORE"}

// DefaultMapping is customer-sync's mapping on HubSpot when the config
// gives none: HubSpot's own contact properties where it has one, and
// synclayer_* custom properties, which Prepare creates.
var DefaultMapping = map[string]string{
	synclayer.FieldEmail: "email", synclayer.FieldFirstName: "firstname", synclayer.FieldLastName: "lastname",
	synclayer.FieldPhone: "phone", synclayer.FieldTotalOrders: "synclayer_total_orders", synclayer.FieldTotalSpent: "synclayer_total_spent",
	synclayer.FieldLastOrderDate: "synclayer_last_order_date", synclayer.FieldCustomerTier: "synclayer_customer_tier", synclayer.FieldTags: "synclayer_tags",
	synclayer.FieldLifecycleStage: PropertyLifecycleStage, synclayer.FieldOwner: PropertyOwner,
}

// reserved are properties HubSpot computes or that are consent.
var reserved = map[string]string{
	"hs_object_id":         "is HubSpot's own record ID",
	"hs_email_optout":      "is consent, which HubSpot keeps in communication preferences: set options.subscription_id",
	"createdate":           "is set by HubSpot",
	"lastmodifieddate":     "is set by HubSpot",
	"hs_marketable_status": "is set by HubSpot",
	"hs_legal_basis":       "is consent: set options.legal_basis",
}

var propertyPattern = regexp.MustCompile(`^[a-z][a-z0-9_]{0,99}$`)

var subscriptionPattern = regexp.MustCompile(`^[0-9]{1,20}$`)

// ContactSync is customer-sync on one HubSpot account.
type ContactSync struct {
	name          string // the destination's, the source of what HubSpot reports back
	client        *Client
	mapping       map[string]string // canonical field → contact property
	opt           ContactOptions
	hardDelete    bool
	clearUnmapped bool
	log           *slog.Logger
}

var (
	_ synclayer.ContactSync    = (*ContactSync)(nil)
	_ synclayer.ContactBatcher = (*ContactSync)(nil)
)

// ContactSync builds customer-sync on this account. Errors name the key
// inside the skill's block: field_mapping.<field> or options.<key>.
func (d *Destination) ContactSync(cfg synclayer.ContactSyncConfig) (synclayer.ContactSync, error) {
	var o ContactOptions
	if err := synclayer.DecodeSettings(cfg.Options, &o, "HubSpot option; the options are subscription_id, legal_basis and legal_basis_explanation"); err != nil {
		var e *synclayer.Error
		if errors.As(err, &e) && e.Field != "" {
			e.Field = "options." + e.Field
		}
		return nil, err
	}
	mapping := cfg.Mapping
	if len(mapping) == 0 {
		mapping = DefaultMapping
	}
	errs := validateMapping(mapping)
	if o.SubscriptionID != "" && !subscriptionPattern.MatchString(o.SubscriptionID) {
		errs = append(errs, synclayer.FieldErrorf("options.subscription_id", "must be a HubSpot subscription type ID, digits such as \"1001\" (Settings → Marketing → Email → Subscriptions)"))
	}
	if o.LegalBasis != "" && !slices.Contains(LegalBases, o.LegalBasis) {
		errs = append(errs, synclayer.FieldErrorf("options.legal_basis", "must be one of HubSpot's legal bases: %s", strings.Join(LegalBases, ", ")))
	}
	if o.LegalBasis != "" && o.SubscriptionID == "" {
		errs = append(errs, synclayer.FieldErrorf("options.legal_basis", "needs options.subscription_id, the subscription opt-ins are written to"))
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	log := cfg.Logger
	if log == nil {
		log = d.log
	}
	cs := &ContactSync{name: d.name, client: d.client, mapping: maps.Clone(mapping), opt: o, hardDelete: cfg.HardDelete, clearUnmapped: cfg.ClearUnmapped, log: log}
	d.syncs.Add(cs)
	return cs, nil
}

func validateMapping(m map[string]string) []error {
	var errs []error
	if m[synclayer.FieldEmail] != "email" {
		errs = append(errs, synclayer.FieldErrorf("field_mapping.email", "must be email (email: email): HubSpot contacts are keyed by email here"))
	}
	seen := map[string]string{}
	for _, field := range slices.Sorted(maps.Keys(m)) {
		target, key := m[field], "field_mapping."+field
		switch {
		case !propertyPattern.MatchString(target):
			errs = append(errs, synclayer.FieldErrorf(key, "%q is not a HubSpot property's internal name: lowercase letters, digits and _, starting with a letter (like firstname)", target))
		case seen[target] != "":
			errs = append(errs, synclayer.FieldErrorf(key, "maps to %q, which field_mapping.%s already maps to", target, seen[target]))
		case reserved[target] != "":
			errs = append(errs, synclayer.FieldErrorf(key, "cannot map to %s: it %s", target, reserved[target]))
		case target == PropertyOwner && field != synclayer.FieldOwner:
			errs = append(errs, synclayer.FieldErrorf(key, "cannot map to %s: it holds a HubSpot owner ID, which only the owner field carries", PropertyOwner))
		case target == PropertyLifecycleStage && field != synclayer.FieldLifecycleStage:
			errs = append(errs, synclayer.FieldErrorf(key, "cannot map to %s: it takes only HubSpot's stages, which only the lifecycleStage field carries", PropertyLifecycleStage))
		case target == "email" && field != synclayer.FieldEmail:
			errs = append(errs, synclayer.FieldErrorf(key, "cannot map to email: only the email field can"))
		}
		seen[target] = field
	}
	return errs
}

// Mapping is the field mapping in effect.
func (s *ContactSync) Mapping() map[string]string { return maps.Clone(s.mapping) }

func (s *ContactSync) mapped(target string) bool {
	for _, t := range s.mapping {
		if t == target {
			return true
		}
	}
	return false
}

// Prepare makes sure the account has a contact property for every mapped
// field, since HubSpot refuses a write naming an unknown one. With create
// it creates the missing ones, typed from the canonical field's kind, in
// the contactinformation group, and returns their names; without, an
// EINVALID error names them.
func (s *ContactSync) Prepare(ctx context.Context, create bool) ([]string, error) {
	have, err := s.client.ListContactProperties(ctx)
	if err != nil {
		return nil, fmt.Errorf("list HubSpot contact properties: %w", err)
	}
	exists := map[string]bool{}
	for _, p := range have {
		exists[p.Name] = true
	}
	var missing []string
	fieldOf := map[string]string{}
	for _, field := range slices.Sorted(maps.Keys(s.mapping)) {
		if t := s.mapping[field]; !exists[t] {
			missing, fieldOf[t] = append(missing, t), field
		}
	}
	if _, ok := s.mapping[synclayer.FieldCompany]; ok {
		if err := ensureUniqueProperty(ctx, s.client, objectCompanies, CompanyKeyProperty, "synclayer company key", "companyinformation"); err != nil {
			return nil, fmt.Errorf("HubSpot company property %s: %w", CompanyKeyProperty, err)
		}
	}
	if len(missing) == 0 {
		return nil, nil
	}
	if !create {
		return nil, synclayer.Errorf(synclayer.EINVALID, "the HubSpot account has no contact property %s; create them in HubSpot (Settings → Properties → Contact properties) or let synclayer create them", strings.Join(missing, ", "))
	}
	var created []string
	for _, name := range missing {
		typ, field := propertyType(synclayer.KindOf(fieldOf[name]))
		p := Property{Name: name, Label: label(fieldOf[name]), Type: typ, FieldType: field, GroupName: "contactinformation"}
		if err := s.client.CreateContactProperty(ctx, p); err != nil {
			return created, fmt.Errorf("create HubSpot contact property %s: %w", name, err)
		}
		created = append(created, name)
	}
	return created, nil
}

// propertyType is the HubSpot type and field type a canonical kind is
// stored as.
func propertyType(k synclayer.FieldKind) (string, string) {
	switch k {
	case synclayer.KindNumber:
		return "number", "number"
	case synclayer.KindDate:
		return "date", "date"
	}
	return "string", "text"
}

// label turns a canonical field name (totalOrders) into a property label
// (Total orders).
func label(field string) string {
	var b strings.Builder
	for i, r := range field {
		if i > 0 && r >= 'A' && r <= 'Z' {
			b.WriteByte(' ')
			r += 'a' - 'A'
		} else if i == 0 && r >= 'a' && r <= 'z' {
			r -= 'a' - 'A'
		}
		b.WriteRune(r)
	}
	return b.String()
}
