package brevo

import (
	"context"
	"encoding/json"
	"fmt"

	"synclayer"
)

// ImportPath is the way a contact takes in batch mode.
type ImportPath string

const (
	// PathNone: Brevo already holds the contact as it is; the job is
	// completed without a call.
	PathNone ImportPath = "none"
	// PathRealtime: the contact goes through Handle, one call, at once.
	// Everything that touches consent takes it (an opt-out, a blocklist to
	// set or lift, a list to unlink, a delete), and so does what an import
	// cannot express: an attribute to clear, an email to change, a contact
	// without an email.
	PathRealtime ImportPath = "realtime"
	// PathList: imported into ListID (marketing consent).
	PathList ImportPath = "list"
	// PathQuiet: imported into the import list (ImportListID), which
	// campaigns do not target (no marketing consent).
	PathQuiet ImportPath = "quiet"
)

// ImportPlan is where one contact goes in a batch and, for an import, its
// row and what Brevo holds once the import is applied: the same state
// Handle would have recorded, so a later realtime update diffs right.
type ImportPlan struct {
	Path   ImportPath
	Row    ImportContact
	State  *synclayer.SyncState
	Reason string // why the contact goes realtime
}

// PlanImport plans the job's contact for the batch path with the same
// Plan as Handle, against the sync state synclayer recorded. importList
// is the list for contacts without marketing consent; 0 sends them
// realtime, since a Brevo import needs a list.
func (s *ContactSync) PlanImport(ctx context.Context, job *synclayer.Job, importList int64) (ImportPlan, error) {
	c, err := s.Store.FindContactByID(ctx, job.RecordKey)
	if err != nil {
		if synclayer.ErrorCode(err) == synclayer.ENOTFOUND {
			return ImportPlan{}, synclayer.Permanent(fmt.Errorf("contact %s no longer exists", job.RecordKey))
		}
		return ImportPlan{}, err
	}
	prev, err := s.syncState(ctx, c.ID)
	if err != nil {
		return ImportPlan{}, err
	}
	// The batch path is this destination's own: it plans with the same
	// plan as the realtime path, but reads the sync state itself.
	realtime := func(why string) (ImportPlan, error) { return ImportPlan{Path: PathRealtime, Reason: why}, nil }
	if c.Deleted {
		return realtime("a delete")
	}
	if c.EmailConsent.State == synclayer.ConsentUnsubscribed || c.SMSConsent.State == synclayer.ConsentUnsubscribed {
		return realtime("an opt-out")
	}
	plan, err := s.plan(c, prev)
	if err != nil {
		return ImportPlan{}, err
	}
	state := func() *synclayer.SyncState {
		b, _ := json.Marshal(plan.Next)
		return &synclayer.SyncState{RecordKey: c.ID, Destination: accountName(s.Destination), RemoteID: c.ID, State: b}
	}
	switch plan.Op {
	case OpNone:
		return ImportPlan{Path: PathNone, State: state()}, nil
	case OpCreate:
		if plan.Create.EmailBlacklisted != nil || plan.Create.SMSBlacklisted != nil {
			return realtime("a blocklist flag")
		}
	case OpUpdate:
		u := plan.Update
		switch {
		case u.EmailBlacklisted != nil || u.SMSBlacklisted != nil:
			return realtime("a blocklist flag")
		case len(u.UnlinkListIDs) > 0:
			return realtime("a list to unlink")
		case u.Attributes["EMAIL"] != nil:
			return realtime("an email change")
		}
		for _, v := range u.Attributes {
			if raw, ok := v.(json.RawMessage); ok && string(raw) == `""` {
				return realtime("an attribute to clear, which an import cannot do")
			}
		}
	default:
		return realtime("a " + string(plan.Op))
	}
	next := plan.Next
	if next.Email == "" {
		return realtime("no email to import by")
	}
	path := PathList
	if !next.InList {
		if importList <= 0 {
			return realtime("no marketing consent and no options.import_list_id")
		}
		path = PathQuiet
	}
	attrs := make(map[string]any, len(next.Attributes)+1)
	for k, v := range next.Attributes {
		attrs[k] = v
	}
	attrs["EXT_ID"] = c.ID
	return ImportPlan{Path: path, Row: ImportContact{Email: next.Email, Attributes: attrs}, State: state()}, nil
}

func (s *ContactSync) syncState(ctx context.Context, id string) (*brevoState, error) {
	st, err := s.Store.FindSyncState(ctx, id, accountName(s.Destination))
	if synclayer.ErrorCode(err) == synclayer.ENOTFOUND {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	prev, err := decodeState(st.State)
	if err != nil {
		return nil, fmt.Errorf("decode sync state of %s: %w", id, err)
	}
	return prev, nil
}

// flatten is a state as field → value, for dry runs.
func flatten(st *brevoState) map[string]json.RawMessage {
	out := map[string]json.RawMessage{}
	if st == nil {
		return out
	}
	if st.Email != "" {
		out["email"] = mustJSON(st.Email)
	}
	for name, v := range synclayer.MergeAttributes(st.Kept, st.Attributes) {
		out["attributes."+name] = v
	}
	out["inList"] = mustJSON(st.InList)
	out["emailBlacklisted"] = mustJSON(st.EmailBlacklisted)
	out["smsBlacklisted"] = mustJSON(st.SMSBlacklisted)
	out["deleted"] = mustJSON(st.Deleted)
	return out
}
