package klaviyo

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

// ContactSync is customer-sync on one Klaviyo account: the contact's
// mapped fields go to one profile keyed by the contact's ID as
// external_id, and its consent to email marketing via the subscription
// jobs. Build it with Destination.ContactSync.
type ContactSync struct {
	client     *Client
	mapping    map[string]string // canonical field → Klaviyo attribute or custom property
	listID     string
	hardDelete bool
	// clearUnmapped clears what an earlier mapping sent that this one no
	// longer maps; by default it is left alone.
	clearUnmapped bool
	log           *slog.Logger
}

var _ synclayer.ContactSync = (*ContactSync)(nil)

// ContactOptions is the Klaviyo part of customer-sync's options.
type ContactOptions struct {
	// ListID is the list contacts with marketing consent are subscribed
	// to, and soft deletes remove them from; "" subscribes to no list.
	ListID string `json:"list_id"`
}

// DefaultMapping is customer-sync's mapping on Klaviyo when the config
// gives none: the standard attributes where Klaviyo has one, and custom
// properties named as a Klaviyo user would read them.
var DefaultMapping = map[string]string{
	synclayer.FieldEmail: "email", synclayer.FieldFirstName: "first_name", synclayer.FieldLastName: "last_name",
	synclayer.FieldPhone: "phone_number", synclayer.FieldTotalOrders: "Total Orders", synclayer.FieldTotalSpent: "Total Spent",
	synclayer.FieldLastOrderDate: "Last Order Date", synclayer.FieldCustomerTier: "Customer Tier", synclayer.FieldTags: "Tags",
}

// standardAttrs are the profile attributes a mapping may target besides
// custom properties and location.*, after the spec's ProfileUpsertQuery.
var standardAttrs = []string{"email", "phone_number", "first_name", "last_name", "organization", "title", "image", "locale"}

var locationFields = []string{"address1", "address2", "city", "country", "latitude", "longitude", "region", "zip", "timezone", "ip"}

// reservedAttrs are attributes synclayer owns or that are no field.
var reservedAttrs = map[string]string{
	"external_id":   "holds the synclayer contact ID, which identifies the profile",
	"id":            "is Klaviyo's own profile ID",
	"_kx":           "is Klaviyo's web-tracking identifier",
	"location":      "is an object: map to location.city, location.country, ...",
	"properties":    "is the object of custom properties: map to the property name itself",
	"subscriptions": "is consent, which customer-sync sends from the contact's emailConsent",
}

var listIDPattern = regexp.MustCompile(`^[A-Za-z0-9]{1,64}$`)

// ContactSync builds customer-sync on this account. Errors name the key
// inside the skill's block: field_mapping.<field> or options.list_id.
func (d *Destination) ContactSync(cfg synclayer.ContactSyncConfig) (synclayer.ContactSync, error) {
	var o ContactOptions
	if err := synclayer.DecodeSettings(cfg.Options, &o, "Klaviyo option; the only one is list_id"); err != nil {
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
	if o.ListID != "" && !listIDPattern.MatchString(o.ListID) {
		errs = append(errs, synclayer.FieldErrorf("options.list_id", "must be a Klaviyo list ID, letters and digits such as \"Y6nRLr\" (Lists & Segments → the list → Settings)"))
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	if d.sim != nil && o.ListID != "" {
		d.sim.AddList(o.ListID, "synclayer simulator list") // the simulator has no lists until asked
	}
	log := cfg.Logger
	if log == nil {
		log = d.log
	}
	return &ContactSync{client: d.client, mapping: maps.Clone(mapping), listID: o.ListID, hardDelete: cfg.HardDelete, clearUnmapped: cfg.ClearUnmapped, log: log}, nil
}

// validateMapping checks every target: email must map to email, no two
// fields share a target, standard attributes take strings only, and
// custom property names are usable.
func validateMapping(m map[string]string) []error {
	var errs []error
	if m[synclayer.FieldEmail] != "email" {
		errs = append(errs, synclayer.FieldErrorf("field_mapping.email", "must be email (email: email): Klaviyo keys profiles and their consent by email"))
	}
	seen := map[string]string{}
	for _, field := range slices.Sorted(maps.Keys(m)) {
		target, key := m[field], "field_mapping."+field
		kind := synclayer.KindOf(field)
		switch {
		case strings.TrimSpace(target) == "":
			errs = append(errs, synclayer.FieldErrorf(key, "names no Klaviyo attribute or custom property"))
		case seen[target] != "":
			errs = append(errs, synclayer.FieldErrorf(key, "maps to %q, which field_mapping.%s already maps to", target, seen[target]))
		case reservedAttrs[target] != "":
			errs = append(errs, synclayer.FieldErrorf(key, "cannot map to %s: it %s", target, reservedAttrs[target]))
		case target == "email" && field != synclayer.FieldEmail:
			errs = append(errs, synclayer.FieldErrorf(key, "cannot map to email: only the email field can"))
		case target == "phone_number" && kind != synclayer.KindPhone && kind != synclayer.KindAny:
			errs = append(errs, synclayer.FieldErrorf(key, "cannot map to phone_number, which takes an E.164 phone: map phone to it"))
		case strings.HasPrefix(target, "location.") && !slices.Contains(locationFields, strings.TrimPrefix(target, "location.")):
			errs = append(errs, synclayer.FieldErrorf(key, "%q is no Klaviyo location field; they are location.%s", target, strings.Join(locationFields, ", location.")))
		case strings.HasPrefix(target, "$"):
			errs = append(errs, synclayer.FieldErrorf(key, "custom property %q starts with $, which Klaviyo keeps for its own special properties: drop the $", target))
		case isStandard(target) && !stringTarget(target) && kind != synclayer.KindNumber && kind != synclayer.KindText && kind != synclayer.KindAny:
			errs = append(errs, synclayer.FieldErrorf(key, "%s takes a number or a string", target))
		case isStandard(target) && stringTarget(target) && (kind == synclayer.KindNumber || kind == synclayer.KindList):
			errs = append(errs, synclayer.FieldErrorf(key, "%s takes a string, and %s is not one: map it to a custom property instead", target, field))
		}
		seen[target] = field
	}
	return errs
}

// isStandard reports whether target is a profile attribute rather than a
// custom property.
func isStandard(target string) bool {
	return slices.Contains(standardAttrs, target) || strings.HasPrefix(target, "location.")
}

// stringTarget reports whether a standard attribute takes only strings;
// location.latitude and longitude take numbers too.
func stringTarget(target string) bool {
	return target != "location.latitude" && target != "location.longitude"
}

// mapped reports whether target is one the mapping in effect sends to.
func (s *ContactSync) mapped(target string) bool {
	for _, t := range s.mapping {
		if t == target {
			return true
		}
	}
	return false
}

// Mapping is the field mapping in effect.
func (s *ContactSync) Mapping() map[string]string { return maps.Clone(s.mapping) }

// Prepare checks that list_id names a list of the account. Klaviyo keeps
// any custom property it is sent, so there is nothing to create: created
// is always nil.
func (s *ContactSync) Prepare(ctx context.Context, create bool) ([]string, error) {
	if s.listID == "" {
		return nil, nil
	}
	if _, err := s.client.GetList(ctx, s.listID); err != nil {
		if IsNotFound(err) {
			return nil, synclayer.FieldErrorf("options.list_id", "names no list in this Klaviyo account (%s): copy the ID from Lists & Segments → the list → Settings", s.listID)
		}
		return nil, fmt.Errorf("check Klaviyo list %s: %w", s.listID, err)
	}
	return nil, nil
}
