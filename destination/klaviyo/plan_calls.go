package klaviyo

import (
	"net/http"

	"synclayer"
)

// planDelete removes the contact: a hard delete is a data-privacy
// deletion; a soft one keeps the profile and only leaves list_id.
func (s *ContactSync) planDelete(prev *state) *synclayer.Plan {
	if prev == nil || prev.Deleted {
		next := prev.marks()
		next.Deleted = true
		return &synclayer.Plan{Op: synclayer.PlanNone, Next: mustJSON(next), Reason: "not in Klaviyo"}
	}
	if s.hardDelete {
		next := prev.marks()
		next.Deleted = true
		return s.contactPlan(synclayer.PlanDelete, &planDetail{Delete: true}, prev, next)
	}
	next := *prev
	next.Deleted, next.InList = true, false
	if !prev.InList || s.listID == "" || prev.ProfileID == "" {
		return &synclayer.Plan{Op: synclayer.PlanNone, Next: mustJSON(next), Reason: "soft delete: the profile is kept and is in no synced list"}
	}
	return s.contactPlan(synclayer.PlanUpdate, &planDetail{RemoveFromList: true}, prev, next)
}

// contactPlan lists d's calls and, when it unsubscribes, the Intent to
// record first: the held state marked UnsubscribedByUs, so that a lost
// answer cannot make synclayer's own opt-out look like Klaviyo's.
func (s *ContactSync) contactPlan(op synclayer.PlanOp, d *planDetail, prev *state, next state) *synclayer.Plan {
	cp := &synclayer.Plan{Op: op, Next: mustJSON(next), Detail: d}
	members := "/api/lists/" + s.listID + "/relationships/profiles"
	if d.Upsert != nil {
		cp.Calls = append(cp.Calls, synclayer.PlannedCall{Method: http.MethodPost, Path: "/api/profile-import", Body: d.Upsert})
	}
	if d.Unsubscribe {
		cp.Calls = append(cp.Calls, synclayer.PlannedCall{Method: http.MethodPost, Path: "/api/profile-subscription-bulk-delete-jobs",
			Body: map[string]any{"consent": ConsentUnsubscribed, "list": nil}})
		intent := state{}
		if prev != nil {
			intent = *prev
		}
		intent.UnsubscribedByUs = true
		cp.Intent = mustJSON(intent)
	}
	if d.Subscribe != nil {
		cp.Calls = append(cp.Calls, synclayer.PlannedCall{Method: http.MethodPost, Path: "/api/profile-subscription-bulk-create-jobs",
			Body: map[string]any{"consent": ConsentSubscribed, "list": d.Subscribe.ListID}})
	}
	if d.AddToList {
		cp.Calls = append(cp.Calls, synclayer.PlannedCall{Method: http.MethodPost, Path: members})
	}
	if d.RemoveFromList {
		cp.Calls = append(cp.Calls, synclayer.PlannedCall{Method: http.MethodDelete, Path: members})
	}
	if d.Delete {
		cp.Calls = append(cp.Calls, synclayer.PlannedCall{Method: http.MethodPost, Path: "/api/data-privacy-deletion-jobs"})
	}
	return cp
}
