package brevo

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"time"

	"synclayer"
)

// Handle brings the job's contact up to date in Brevo. It reads the
// contact's current state, so one run covers every change made before it.
// It returns what Brevo now holds and the trace entry for the delivery.
func (s *CustomerSync) Handle(ctx context.Context, job *synclayer.Job) (*synclayer.SyncState, *synclayer.TraceEntry, error) {
	c, err := s.Store.FindContactByID(ctx, job.RecordKey)
	if err != nil {
		if synclayer.ErrorCode(err) == synclayer.ENOTFOUND {
			return nil, nil, synclayer.Permanent(fmt.Errorf("contact %s no longer exists", job.RecordKey))
		}
		return nil, nil, err
	}
	local, err := s.syncState(ctx, c.ID)
	if err != nil {
		return nil, nil, err
	}
	prev := local
	if job.Attempts > 1 {
		// An earlier attempt may have reached Brevo without its answer
		// reaching us, so what we last recorded may be stale: plan
		// against what Brevo holds now.
		if prev, err = s.remoteState(ctx, c.ID, local); err != nil {
			return nil, nil, err
		}
	}
	plan, err := s.Plan(c, prev)
	if err != nil {
		return nil, nil, err
	}
	if err := s.recordBlockIntent(ctx, c.ID, local, plan); err != nil {
		return nil, nil, err
	}
	summary, err := s.run(ctx, c, &plan)
	if err != nil {
		return nil, nil, err
	}
	state, _ := json.Marshal(plan.Next)
	detail, _ := json.Marshal(map[string]any{"destination": "brevo", "plan": plan, "contactVersion": c.Version})
	return &synclayer.SyncState{RecordKey: c.ID, Destination: "brevo", RemoteID: c.ID, State: state},
		&synclayer.TraceEntry{ContactID: c.ID, Kind: synclayer.TraceDelivery, Summary: summary, Detail: detail}, nil
}

func (s *CustomerSync) syncState(ctx context.Context, id string) (*brevoState, error) {
	st, err := s.Store.FindSyncState(ctx, id, "brevo")
	if synclayer.ErrorCode(err) == synclayer.ENOTFOUND {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	prev := &brevoState{}
	if err := json.Unmarshal(st.State, prev); err != nil {
		return nil, fmt.Errorf("decode sync state of %s: %w", id, err)
	}
	return prev, nil
}

// remoteState reads the contact from Brevo. Only the mapped attributes are
// kept, for the diff; which blocks synclayer made comes from local, since
// Brevo cannot tell its own unsubscribes from ours.
func (s *CustomerSync) remoteState(ctx context.Context, id string, local *brevoState) (*brevoState, error) {
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
	for _, attr := range s.Mapping {
		if v, ok := rc.Attributes[attr]; ok && !strings.EqualFold(attr, "email") {
			st.Attributes[attr], _ = json.Marshal(v)
		}
	}
	if local != nil {
		st.EmailBlockedByUs, st.SMSBlockedByUs = local.EmailBlockedByUs, local.SMSBlockedByUs
	}
	return st, nil
}

// recordBlockIntent writes, before the call, that synclayer is about to
// blocklist the contact. If the answer is lost, a later opt-in still knows
// the block was ours to lift; without the mark it would never be lifted.
func (s *CustomerSync) recordBlockIntent(ctx context.Context, id string, local *brevoState, plan Plan) error {
	setsEmail, setsSMS := plan.Next.EmailBlockedByUs, plan.Next.SMSBlockedByUs
	if local != nil && (local.EmailBlockedByUs || !setsEmail) && (local.SMSBlockedByUs || !setsSMS) {
		return nil
	}
	if !setsEmail && !setsSMS {
		return nil
	}
	intent := brevoState{}
	if local != nil {
		intent = *local
	}
	intent.EmailBlockedByUs = intent.EmailBlockedByUs || setsEmail
	intent.SMSBlockedByUs = intent.SMSBlockedByUs || setsSMS
	state, _ := json.Marshal(intent)
	return s.Store.SaveSyncState(ctx, &synclayer.SyncState{RecordKey: id, Destination: "brevo", RemoteID: id, State: state}, s.now())
}

func (s *CustomerSync) now() time.Time {
	if s.Now != nil {
		return s.Now()
	}
	return time.Now()
}

func (s *CustomerSync) run(ctx context.Context, c *synclayer.Contact, plan *Plan) (string, error) {
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
		err := s.Client.UpdateContact(ctx, c.ID, IdentifierExtID, *plan.Update)
		if IsNotFound(err) && !c.Deleted {
			// The contact is gone from Brevo (deleted there, or never
			// linked by ext_id): create it again from the full state.
			full, perr := s.Plan(c, nil)
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
func (s *CustomerSync) EnsureAttributes(ctx context.Context, create bool) (createdNames []string, err error) {
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
	for field, attr := range s.Mapping {
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
