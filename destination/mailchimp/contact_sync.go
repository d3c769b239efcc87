package mailchimp

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"regexp"
	"slices"
	"strings"
	"sync"
	"time"

	"synclayer"
)

// DefaultMapping is the field mapping when a skill config sets none:
// canonical field → merge tag, except email (the member's address) and
// tags (Mailchimp tags, not a merge field).
var DefaultMapping = map[string]string{
	synclayer.FieldEmail:         "email",
	synclayer.FieldFirstName:     "FNAME",
	synclayer.FieldLastName:      "LNAME",
	synclayer.FieldPhone:         "PHONE",
	synclayer.FieldTotalOrders:   "ORDERS",
	synclayer.FieldTotalSpent:    "SPENT",
	synclayer.FieldLastOrderDate: "LASTORDER",
	synclayer.FieldCustomerTier:  "TIER",
	synclayer.FieldTags:          "tags",
}

// Options is a customer-sync block's options for Mailchimp.
type Options struct {
	AudienceID string `json:"audience_id"`
	// CreateMergeFields lets Prepare create missing merge fields when the
	// runner asks it to (create true); false never alters the audience,
	// so a missing field is always an error. Default true.
	CreateMergeFields *bool `json:"create_merge_fields"`
}

// ContactSync is customer-sync's Mailchimp side for one skill config.
type ContactSync struct {
	client     *Client
	audience   string
	mapping    map[string]string
	create     bool
	hardDelete bool
	// clearUnmapped empties the merge fields an earlier mapping filled
	// that this one no longer maps; by default they are left alone.
	clearUnmapped bool
	log           *slog.Logger

	// SendBatch's poll of a member batch before its tags (SetBatchPoll).
	pollFirst, pollMost time.Duration
	// reasons keeps, by tags job ID, why rows' PUTs failed in phase 1,
	// for CheckBatch (best effort: lost on a restart).
	reasonsMu sync.Mutex
	reasons   map[string]map[int]string
}

var _ synclayer.ContactSync = (*ContactSync)(nil)

var mergeTagPattern = regexp.MustCompile(`^[A-Z0-9_]{1,10}$`)

// ContactSync builds customer-sync for cfg. Errors name the key at fault:
// options.audience_id, field_mapping.<field>.
//
// The destination keeps sight of each contact sync it builds (weakly, see
// inbound_view.go), so its webhook knows the audiences synclayer syncs to
// and how merge tags map back to canonical fields.
func (d *Destination) ContactSync(cfg synclayer.ContactSyncConfig) (synclayer.ContactSync, error) {
	cs, err := NewContactSync(d.client, cfg)
	if err != nil {
		return nil, err
	}
	d.syncs.Add(cs)
	return cs, nil
}

// NewContactSync is ContactSync for a client of one's own.
func NewContactSync(c *Client, cfg synclayer.ContactSyncConfig) (*ContactSync, error) {
	var opt Options
	if err := decodeOptions(cfg.Options, &opt); err != nil {
		return nil, err
	}
	var errs []error
	if strings.TrimSpace(opt.AudienceID) == "" {
		errs = append(errs, synclayer.FieldErrorf("options.audience_id", "is required: the Mailchimp audience ID (Audience → Settings → Audience name and defaults)"))
	}
	mapping := cfg.Mapping
	if len(mapping) == 0 {
		mapping = DefaultMapping
	}
	for _, field := range slices.Sorted(maps.Keys(mapping)) {
		if err := checkTarget(field, mapping[field]); err != nil {
			errs = append(errs, err)
		}
	}
	if _, ok := mapping[synclayer.FieldEmail]; !ok {
		errs = append(errs, synclayer.FieldErrorf("field_mapping.email", "must be mapped to \"email\": Mailchimp identifies members by their address"))
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	log := cfg.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &ContactSync{client: c, audience: opt.AudienceID, mapping: maps.Clone(mapping),
		create: opt.CreateMergeFields == nil || *opt.CreateMergeFields, hardDelete: cfg.HardDelete, clearUnmapped: cfg.ClearUnmapped, log: log}, nil
}

func checkTarget(field, target string) error {
	key := "field_mapping." + field
	switch {
	case field == synclayer.FieldEmail:
		if target != "email" {
			return synclayer.FieldErrorf(key, "must be \"email\" (the member's address), not %q", target)
		}
	case target == "email":
		return synclayer.FieldErrorf(key, "only the email field can map to the member's address")
	case target == "tags":
		if synclayer.KindOf(field) != synclayer.KindList && synclayer.KindOf(field) != synclayer.KindAny {
			return synclayer.FieldErrorf(key, "only a list field can map to Mailchimp tags")
		}
	case !mergeTagPattern.MatchString(target):
		return synclayer.FieldErrorf(key, "%q is not a Mailchimp merge tag: use upper-case letters, digits and _, at most %d characters (like FNAME)", target, MaxMergeTag)
	}
	return nil
}

func decodeOptions(raw json.RawMessage, v any) error {
	if len(raw) == 0 || string(raw) == "null" {
		return nil
	}
	var keys map[string]json.RawMessage
	if err := json.Unmarshal(raw, &keys); err != nil {
		return synclayer.FieldErrorf("options", "must be an object")
	}
	for k := range keys {
		if k != "audience_id" && k != "create_merge_fields" {
			return synclayer.FieldErrorf("options."+k, "is not a Mailchimp option; the options are audience_id, create_merge_fields")
		}
	}
	if err := json.Unmarshal(raw, v); err != nil {
		var te *json.UnmarshalTypeError
		if errors.As(err, &te) {
			return synclayer.FieldErrorf("options."+te.Field, "must be a %s", te.Type)
		}
		return synclayer.FieldErrorf("options", "%v", err)
	}
	return nil
}

// Mapping is the field mapping in effect.
func (s *ContactSync) Mapping() map[string]string { return maps.Clone(s.mapping) }

// Prepare makes sure the audience has a merge field for every mapped
// field. With create (and create_merge_fields not false) it creates the
// missing ones, typed from the canonical field's kind, and returns their
// tags; otherwise an EINVALID error names them.
func (s *ContactSync) Prepare(ctx context.Context, create bool) ([]string, error) {
	have, err := s.client.ListMergeFields(ctx, s.audience)
	if err != nil {
		return nil, fmt.Errorf("list the merge fields of audience %s: %w", s.audience, err)
	}
	exists := map[string]bool{}
	for _, f := range have {
		exists[strings.ToUpper(f.Tag)] = true
	}
	var missing []string
	fieldOf := map[string]string{}
	for _, field := range slices.Sorted(maps.Keys(s.mapping)) {
		tag := s.mapping[field]
		if tag == "email" || tag == "tags" || exists[tag] {
			continue
		}
		missing, fieldOf[tag] = append(missing, tag), field
	}
	if len(missing) == 0 {
		return nil, nil
	}
	if !create || !s.create {
		return nil, synclayer.Errorf(synclayer.EINVALID, "the Mailchimp audience %s has no merge field %s; create them in Mailchimp (Audience → Settings → Audience fields and *|MERGE|* tags) or let synclayer create them",
			s.audience, strings.Join(missing, ", "))
	}
	var created []string
	for _, tag := range missing {
		f := MergeField{Tag: tag, Name: fieldOf[tag], Type: mergeType(synclayer.KindOf(fieldOf[tag]))}
		if _, err := s.client.CreateMergeField(ctx, s.audience, f); err != nil {
			return created, fmt.Errorf("create merge field %s: %w", tag, err)
		}
		created = append(created, tag)
	}
	return created, nil
}

// mergeType is the merge field type a canonical kind is stored as.
// Phones are text: Mailchimp's phone type validates US formats unless
// set to international, and E.164 text is what synclayer holds.
func mergeType(k synclayer.FieldKind) string {
	switch k {
	case synclayer.KindNumber:
		return "number"
	case synclayer.KindDate:
		return "date"
	}
	return "text"
}
