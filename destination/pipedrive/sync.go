package pipedrive

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"regexp"
	"slices"
	"strings"
	"sync"

	"synclayer"
)

// Consent modes: what customer-sync writes to a person's marketing_status.
const (
	// ConsentUnsubscribeOnly writes opt-outs (unsubscribed) and no
	// opt-ins: a subscribed person counts towards the company's paid
	// Campaigns allowance, so subscribing is a choice to make.
	ConsentUnsubscribeOnly = "unsubscribe_only"
	// ConsentSubscribeAndUnsubscribe also writes explicit opt-ins
	// (Contact.Marketable) as subscribed, never over unsubscribed.
	ConsentSubscribeAndUnsubscribe = "subscribe_and_unsubscribe"
	// ConsentOff writes no marketing_status (a company without Campaigns).
	ConsentOff = "off"
)

// ContactOptions is the Pipedrive part of customer-sync's options.
type ContactOptions struct {
	// MarketingStatus is the consent mode; default ConsentUnsubscribeOnly.
	MarketingStatus string `json:"marketing_status"`
}

// Mapping targets with a meaning of their own; every other target is a
// custom person field, by its name or its 40-character code.
const (
	TargetEmail     = "email"
	TargetPhone     = "phone"
	TargetFirstName = "first_name" // with last_name, makes up the person's name
	TargetLastName  = "last_name"
	TargetOwner     = "owner_id" // a Pipedrive user ID: only the owner field
	// TargetOrg links the person to an organization of the company's
	// name, found or created (organizations.go): only the company field.
	TargetOrg = "org_id"
)

// DefaultMapping is customer-sync's mapping on Pipedrive when the config
// gives none: the person's own email, phone and name, and synclayer_*
// custom person fields, which Prepare creates. The canonical owner is
// not in it, since an owner another platform set is not a Pipedrive user
// ID; map owner: owner_id where the owners are Pipedrive's. The company
// is an organization the person is linked to.
var DefaultMapping = map[string]string{
	synclayer.FieldEmail: TargetEmail, synclayer.FieldFirstName: TargetFirstName, synclayer.FieldLastName: TargetLastName,
	synclayer.FieldPhone: TargetPhone, synclayer.FieldTotalOrders: "synclayer_total_orders", synclayer.FieldTotalSpent: "synclayer_total_spent",
	synclayer.FieldLastOrderDate: "synclayer_last_order_date", synclayer.FieldCustomerTier: "synclayer_customer_tier", synclayer.FieldTags: "synclayer_tags",
	synclayer.FieldLifecycleStage: "synclayer_lifecycle_stage", synclayer.FieldCompany: TargetOrg,
}

// reserved are person fields Pipedrive sets itself, or that are consent.
var reserved = map[string]string{
	"id":               "is Pipedrive's own person ID",
	"name":             "is made of first_name and last_name: map those",
	"marketing_status": "is consent, which options.marketing_status governs",
	"add_time":         "is set by Pipedrive",
	"update_time":      "is set by Pipedrive",
	"visible_to":       "is a visibility setting, not a contact field",
	"label_ids":        "takes Pipedrive label IDs, not contact values",
	"emails":           "is written from the email field",
	"phones":           "is written from the phone field",
}

var (
	fieldNamePattern = regexp.MustCompile(`^[A-Za-z][A-Za-z0-9_ .-]{0,99}$`)
	fieldCodePattern = regexp.MustCompile(`^[0-9a-f]{40}$`)
)

// ContactSync is customer-sync on one Pipedrive company.
type ContactSync struct {
	client        *Client
	mapping       map[string]string // canonical field → target
	consent       string
	hardDelete    bool
	clearUnmapped bool
	log           *slog.Logger

	mu    sync.Mutex
	codes map[string]string // custom field target → field code; nil until resolved
}

var _ synclayer.ContactSync = (*ContactSync)(nil)

// ContactSync builds customer-sync on this company. Errors name the key
// inside the skill's block: field_mapping.<field> or options.<key>.
func (d *Destination) ContactSync(cfg synclayer.ContactSyncConfig) (synclayer.ContactSync, error) {
	var o ContactOptions
	if err := synclayer.DecodeSettings(cfg.Options, &o, "Pipedrive option; the option is marketing_status"); err != nil {
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
	switch o.MarketingStatus {
	case "":
		o.MarketingStatus = ConsentUnsubscribeOnly
	case ConsentUnsubscribeOnly, ConsentSubscribeAndUnsubscribe, ConsentOff:
	default:
		errs = append(errs, synclayer.FieldErrorf("options.marketing_status", "must be %s (the default), %s or %s", ConsentUnsubscribeOnly, ConsentSubscribeAndUnsubscribe, ConsentOff))
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	log := cfg.Logger
	if log == nil {
		log = d.log
	}
	return &ContactSync{client: d.client, mapping: maps.Clone(mapping), consent: o.MarketingStatus,
		hardDelete: cfg.HardDelete, clearUnmapped: cfg.ClearUnmapped, log: log}, nil
}

func validateMapping(m map[string]string) []error {
	var errs []error
	if m[synclayer.FieldEmail] != TargetEmail {
		errs = append(errs, synclayer.FieldErrorf("field_mapping.email", "must be email (email: email): Pipedrive persons are found by email here"))
	}
	seen := map[string]string{}
	for _, field := range slices.Sorted(maps.Keys(m)) {
		target, key := m[field], "field_mapping."+field
		switch {
		case seen[target] != "":
			errs = append(errs, synclayer.FieldErrorf(key, "maps to %q, which field_mapping.%s already maps to", target, seen[target]))
		case reserved[target] != "":
			errs = append(errs, synclayer.FieldErrorf(key, "cannot map to %s: it %s", target, reserved[target]))
		case target == TargetEmail && field != synclayer.FieldEmail:
			errs = append(errs, synclayer.FieldErrorf(key, "cannot map to email: only the email field can"))
		case target == TargetOwner && field != synclayer.FieldOwner:
			errs = append(errs, synclayer.FieldErrorf(key, "cannot map to owner_id: it holds a Pipedrive user ID, which only the owner field carries"))
		case target == TargetOrg && field != synclayer.FieldCompany:
			errs = append(errs, synclayer.FieldErrorf(key, "cannot map to org_id: it links the organization of the company's name, which only the company field carries"))
		case builtin(target):
		case !fieldNamePattern.MatchString(target) && !fieldCodePattern.MatchString(target):
			errs = append(errs, synclayer.FieldErrorf(key, "%q is not a Pipedrive person field: use email, phone, first_name, last_name, owner_id, org_id (company only), or a custom field's name (letters, digits, spaces, _ . -) or 40-character key", target))
		}
		seen[target] = field
	}
	return errs
}

func builtin(target string) bool {
	switch target {
	case TargetEmail, TargetPhone, TargetFirstName, TargetLastName, TargetOwner, TargetOrg:
		return true
	}
	return false
}

// Mapping is the field mapping in effect.
func (s *ContactSync) Mapping() map[string]string { return maps.Clone(s.mapping) }

func (s *ContactSync) mapped(target string) bool {
	return slices.Contains(slices.Collect(maps.Values(s.mapping)), target)
}

// customTargets returns the mapping's custom field targets and the
// canonical field of each.
func (s *ContactSync) customTargets() map[string]string {
	out := map[string]string{}
	for field, t := range s.mapping {
		if !builtin(t) {
			out[t] = field
		}
	}
	return out
}

// Prepare makes sure the company has a person field for every custom
// field target (Pipedrive drops an unknown custom field key), by name or
// by code. With create it creates the missing ones, typed from the
// canonical field's kind, and returns their names; without, an EINVALID
// error names them. It keeps the codes it found for Apply.
func (s *ContactSync) Prepare(ctx context.Context, create bool) ([]string, error) {
	codes, missing, err := s.resolve(ctx)
	if err != nil {
		return nil, err
	}
	if len(missing) == 0 {
		return nil, nil
	}
	if !create {
		return nil, synclayer.Errorf(synclayer.EINVALID, "the Pipedrive company has no person field %s; create them in Pipedrive (Company settings → Data fields → Person) or let synclayer create them", strings.Join(missing, ", "))
	}
	targets := s.customTargets()
	var created []string
	for _, name := range missing {
		if fieldCodePattern.MatchString(name) {
			return created, synclayer.Errorf(synclayer.EINVALID, "the Pipedrive company has no person field with key %s; a field given by its key cannot be created: give its name instead", name)
		}
		f, err := s.client.CreatePersonField(ctx, name, fieldType(synclayer.KindOf(targets[name])))
		if err != nil {
			return created, fmt.Errorf("create Pipedrive person field %s: %w", name, err)
		}
		codes[name] = f.Code
		created = append(created, name)
	}
	s.mu.Lock()
	s.codes = codes
	s.mu.Unlock()
	return created, nil
}

// resolve reads the company's person fields and maps each custom target
// to its code, keeping the result; missing are the targets not found.
func (s *ContactSync) resolve(ctx context.Context) (map[string]string, []string, error) {
	fields, err := s.client.ListPersonFields(ctx)
	if err != nil {
		return nil, nil, fmt.Errorf("list Pipedrive person fields: %w", err)
	}
	byName, byCode := map[string]string{}, map[string]bool{}
	for _, f := range fields {
		byCode[f.Code] = true
		if _, dup := byName[f.Name]; !dup {
			byName[f.Name] = f.Code
		}
	}
	codes := map[string]string{}
	var missing []string
	for _, t := range slices.Sorted(maps.Keys(s.customTargets())) {
		switch {
		case byCode[t]:
			codes[t] = t
		case byName[t] != "":
			codes[t] = byName[t]
		default:
			missing = append(missing, t)
		}
	}
	s.mu.Lock()
	s.codes = codes
	s.mu.Unlock()
	return codes, missing, nil
}

// fieldCodes returns the custom field codes, reading them once if
// Prepare has not; a target with no field is a Permanent error.
func (s *ContactSync) fieldCodes(ctx context.Context) (map[string]string, error) {
	s.mu.Lock()
	codes := s.codes
	s.mu.Unlock()
	if codes == nil {
		var missing []string
		var err error
		if codes, missing, err = s.resolve(ctx); err != nil {
			return nil, err
		}
		if len(missing) > 0 {
			return nil, synclayer.Permanent(fmt.Errorf("pipedrive: the company has no person field %s: synclayer creates missing fields at start, so restart it, or create them in Pipedrive", strings.Join(missing, ", ")))
		}
	}
	return codes, nil
}

// fieldType is the Pipedrive field type a canonical kind is stored as.
func fieldType(k synclayer.FieldKind) string {
	switch k {
	case synclayer.KindNumber:
		return "double"
	case synclayer.KindDate:
		return "date"
	case synclayer.KindList:
		return "text"
	}
	return "varchar"
}
