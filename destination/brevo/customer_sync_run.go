package brevo

import (
	"context"
	"encoding/json"
	"fmt"
	"net/url"
	"slices"
	"strings"

	"synclayer"
)

// Mapping is the field mapping in effect.
func (s *ContactSync) Mapping() map[string]string { return s.FieldMapping }

// Prepare checks Brevo has every mapped attribute (EnsureAttributes),
// creating the missing ones unless create_attributes is false.
func (s *ContactSync) Prepare(ctx context.Context, create bool) ([]string, error) {
	return s.EnsureAttributes(ctx, create && !s.NoCreate)
}

// Plan decides the Brevo call for c against prev, the state Brevo holds
// (nil: never delivered). Its Intent marks a blocklisting synclayer is
// about to make, so a lost answer cannot make the block look like
// Brevo's own, which synclayer may never lift.
func (s *ContactSync) Plan(c *synclayer.Contact, prev json.RawMessage) (*synclayer.Plan, error) {
	held, err := decodeState(prev)
	if err != nil {
		return nil, fmt.Errorf("decode Brevo sync state of %s: %w", c.ID, err)
	}
	p, err := s.plan(c, held)
	if err != nil {
		return nil, err
	}
	return s.contactPlan(c, held, p), nil
}

func (s *ContactSync) contactPlan(c *synclayer.Contact, held *brevoState, p Plan) *synclayer.Plan {
	out := &synclayer.Plan{Op: synclayer.PlanOp(p.Op), Reason: p.Reason, Next: mustJSON(p.Next), Detail: p, Unmapped: p.Unmapped}
	path := "/contacts/" + url.PathEscape(c.ID) + "?identifierType=ext_id"
	switch p.Op {
	case OpCreate:
		out.Calls = []synclayer.PlannedCall{{Method: "POST", Path: "/contacts", Body: p.Create}}
	case OpUpdate:
		out.Calls = []synclayer.PlannedCall{{Method: "PUT", Path: path, Body: p.Update}}
	case OpDelete:
		out.Calls = []synclayer.PlannedCall{{Method: "DELETE", Path: path}}
	}
	if intent := blockIntent(held, p); intent != nil {
		out.Intent = mustJSON(intent)
	}
	return out
}

func decodeState(raw json.RawMessage) (*brevoState, error) {
	if raw == nil {
		return nil, nil
	}
	st := &brevoState{}
	if err := json.Unmarshal(raw, st); err != nil {
		return nil, err
	}
	return st, nil
}

// ReadBack reads the contact from Brevo. Only the mapped attributes are
// kept, for the diff; which blocks synclayer made comes from local: the
// contact's flags cannot tell Brevo's own unsubscribes from ours (its
// statistics can, and run reads them before any lift).
func (s *ContactSync) ReadBack(ctx context.Context, c *synclayer.Contact, local json.RawMessage) (json.RawMessage, error) {
	held, err := decodeState(local)
	if err != nil {
		return nil, fmt.Errorf("decode Brevo sync state of %s: %w", c.ID, err)
	}
	st, err := s.remoteState(ctx, c.ID, held)
	if err != nil || st == nil {
		return nil, err
	}
	return mustJSON(st), nil
}

func (s *ContactSync) remoteState(ctx context.Context, id string, local *brevoState) (*brevoState, error) {
	rc, err := s.Client.GetContact(ctx, id, IdentifierExtID)
	if IsNotFound(err) {
		if local == nil {
			return nil, nil
		}
		return &brevoState{Deleted: true, EmailBlockedByUs: local.EmailBlockedByUs, SMSBlockedByUs: local.SMSBlockedByUs}, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read the contact back from Brevo after an unanswered attempt: %w", err)
	}
	st := &brevoState{Email: strings.ToLower(rc.Email), Attributes: map[string]json.RawMessage{},
		InList: s.ListID > 0 && slices.Contains(rc.ListIDs, s.ListID), EmailBlacklisted: rc.EmailBlacklisted, SMSBlacklisted: rc.SMSBlacklisted}
	for _, attr := range s.FieldMapping {
		if v, ok := rc.Attributes[attr]; ok && !strings.EqualFold(attr, "email") {
			st.Attributes[attr], _ = json.Marshal(v)
		}
	}
	if local != nil {
		st.EmailBlockedByUs, st.SMSBlockedByUs = local.EmailBlockedByUs, local.SMSBlockedByUs
		for attr := range local.Kept {
			if v, ok := rc.Attributes[attr]; ok && st.Attributes[attr] == nil {
				if st.Kept == nil {
					st.Kept = map[string]json.RawMessage{}
				}
				st.Kept[attr], _ = json.Marshal(v)
			}
		}
	}
	return st, nil
}

// blockIntent is the state to record before the call when the plan
// blocklists the contact and the held state does not yet say the block is
// ours; nil when there is nothing to record.
func blockIntent(held *brevoState, plan Plan) *brevoState {
	setsEmail, setsSMS := plan.Next.EmailBlockedByUs, plan.Next.SMSBlockedByUs
	if !setsEmail && !setsSMS {
		return nil
	}
	if held != nil && (held.EmailBlockedByUs || !setsEmail) && (held.SMSBlockedByUs || !setsSMS) {
		return nil
	}
	intent := brevoState{}
	if held != nil {
		intent = *held
	}
	intent.EmailBlockedByUs = intent.EmailBlockedByUs || setsEmail
	intent.SMSBlockedByUs = intent.SMSBlockedByUs || setsSMS
	return &intent
}

// Apply makes the plan's Brevo call. An update of a contact gone from
// Brevo (deleted there, or never linked by ext_id) becomes a create from
// the full state, and *plan is replaced by it.
func (s *ContactSync) Apply(ctx context.Context, c *synclayer.Contact, cp *synclayer.Plan) (string, error) {
	p, ok := cp.Detail.(Plan)
	if !ok {
		return "", fmt.Errorf("brevo: plan for %s was not made by this destination", c.ID)
	}
	before := p
	summary, err := s.run(ctx, c, &p)
	if err != nil {
		return "", err
	}
	if p.Op != before.Op || p.Update != before.Update || p.Create != before.Create {
		*cp = *s.contactPlan(c, nil, p)
	}
	return summary, nil
}

// keepBrevoBlock drops p's lift of the email block (emailBlacklisted
// false) when Brevo records the person's own opt-out (Contact.
// OptedOutInBrevo): that block is Brevo's, even when synclayer set it too
// (Brevo's report may have come after synclayer's own block), and Brevo
// calls resubscribing such a contact illegal. It reports whether it
// changed p; an update left with nothing to send becomes no call.
func keepBrevoBlock(p *Plan, optedOutInBrevo bool) bool {
	if !optedOutInBrevo || p.Op != OpUpdate || p.Update == nil || p.Update.EmailBlacklisted == nil || *p.Update.EmailBlacklisted {
		return false
	}
	u := *p.Update
	u.EmailBlacklisted = nil
	p.Update = &u
	p.Next.EmailBlacklisted, p.Next.EmailBlockedByUs = true, false
	if u.Attributes == nil && u.ListIDs == nil && u.UnlinkListIDs == nil && u.SMSBlacklisted == nil {
		p.Op, p.Update, p.Reason = OpNone, nil, "the email block stays: Brevo records the person's own unsubscription, spam complaint or hard bounce"
	}
	return true
}

// Fields flattens a Brevo state for dry runs: email, attributes.NAME,
// inList and the blocklist flags.
func (s *ContactSync) Fields(state json.RawMessage) (map[string]json.RawMessage, error) {
	st, err := decodeState(state)
	if err != nil {
		return nil, err
	}
	return flatten(st), nil
}

func (s *ContactSync) run(ctx context.Context, c *synclayer.Contact, plan *Plan) (string, error) {
	switch plan.Op {
	case OpNone:
		return "brevo: no call (" + plan.Reason + ")", nil
	case OpCreate:
		created, err := s.Client.CreateContact(ctx, *plan.Create)
		if err != nil {
			return "", err
		}
		if created {
			return "brevo: POST /contacts → 201 created", nil
		}
		return "brevo: POST /contacts → 204 updated the existing contact", nil
	case OpUpdate:
		if u := plan.Update; u.EmailBlacklisted != nil && !*u.EmailBlacklisted {
			// Before lifting a block, ask Brevo whether the person opted
			// out there themselves: that block is never synclayer's to lift.
			rc, err := s.Client.GetContact(ctx, c.ID, IdentifierExtID)
			if err != nil && !IsNotFound(err) {
				return "", fmt.Errorf("read the contact's opt-outs in Brevo before lifting its block: %w", err)
			}
			if err == nil && keepBrevoBlock(plan, rc.OptedOutInBrevo) {
				if plan.Op == OpNone {
					return "brevo: no call (" + plan.Reason + ")", nil
				}
				summary, err := s.run(ctx, c, plan)
				return summary + "; the email block stays: Brevo records the person's own opt-out", err
			}
		}
		err := s.Client.UpdateContact(ctx, c.ID, IdentifierExtID, *plan.Update)
		if IsNotFound(err) && !c.Deleted {
			// The contact is gone from Brevo (deleted there, or never
			// linked by ext_id): create it again from the full state.
			full, perr := s.plan(c, nil)
			if perr != nil {
				return "", perr
			}
			*plan = full
			return s.run(ctx, c, plan)
		}
		if IsNotFound(err) {
			return "brevo: PUT /contacts/{ext_id} → 404, nothing to unlink", nil
		}
		if err != nil {
			return "", err
		}
		return "brevo: PUT /contacts/{ext_id} → 204 (" + describeUpdate(plan.Update) + ")", nil
	case OpDelete:
		err := s.Client.DeleteContact(ctx, c.ID, IdentifierExtID)
		if IsNotFound(err) {
			return "brevo: DELETE /contacts/{ext_id} → 404, already gone", nil
		}
		if err != nil {
			return "", err
		}
		return "brevo: DELETE /contacts/{ext_id} → 204 deleted", nil
	}
	return "", fmt.Errorf("unknown plan %q", plan.Op)
}

func describeUpdate(u *UpdateContactRequest) string {
	var parts []string
	if len(u.Attributes) > 0 {
		names := make([]string, 0, len(u.Attributes))
		for k := range u.Attributes {
			names = append(names, k)
		}
		slices.Sort(names)
		parts = append(parts, "attributes "+strings.Join(names, ", "))
	}
	if len(u.ListIDs) > 0 {
		parts = append(parts, "added to list")
	}
	if len(u.UnlinkListIDs) > 0 {
		parts = append(parts, "unlinked from list")
	}
	if u.EmailBlacklisted != nil {
		parts = append(parts, fmt.Sprintf("emailBlacklisted=%v", *u.EmailBlacklisted))
	}
	if u.SMSBlacklisted != nil {
		parts = append(parts, fmt.Sprintf("smsBlacklisted=%v", *u.SMSBlacklisted))
	}
	return strings.Join(parts, "; ")
}

// EnsureAttributes checks that every mapped attribute exists in the Brevo
// account, since Brevo silently drops unknown ones. With create it creates
// the missing ones; otherwise it returns an error naming them.
func (s *ContactSync) EnsureAttributes(ctx context.Context, create bool) (createdNames []string, err error) {
	have, err := s.Client.ListAttributes(ctx)
	if err != nil {
		return nil, fmt.Errorf("list Brevo contact attributes: %w", err)
	}
	exists := map[string]bool{}
	for _, a := range have {
		exists[strings.ToUpper(a.Name)] = true
	}
	var missing []string
	fields := map[string]string{}
	for field, attr := range s.FieldMapping {
		if strings.EqualFold(attr, "email") || exists[strings.ToUpper(attr)] {
			continue
		}
		missing = append(missing, attr)
		fields[attr] = field
	}
	slices.Sort(missing)
	if len(missing) == 0 {
		return nil, nil
	}
	if !create {
		return nil, synclayer.Errorf(synclayer.EINVALID,
			"Brevo has no contact attribute %s, and Brevo silently drops unknown attributes; create them in Brevo, or set skills.customer-sync.options.create_attributes: true",
			strings.Join(missing, ", "))
	}
	for _, attr := range missing {
		if err := s.Client.CreateAttribute(ctx, "normal", attr, AttributeType(fields[attr])); err != nil {
			return createdNames, fmt.Errorf("create Brevo attribute %s: %w", attr, err)
		}
		createdNames = append(createdNames, attr)
	}
	return createdNames, nil
}
