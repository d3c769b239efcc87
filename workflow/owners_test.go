package workflow_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"synclayer"
	"synclayer/workflow"
)

// crmOwners is a CRM's owner directory as a platform answers it.
type crmOwners struct {
	owners []synclayer.Owner
	err    error
}

func (d *crmOwners) Name() string { return "hubspot" }
func (d *crmOwners) Type() string { return "hubspot" }
func (d *crmOwners) Owners(context.Context) ([]synclayer.Owner, error) {
	return d.owners, d.err
}

// TestCheckOwners: at start, an owner a rule names by ID or by email
// that the CRM does not have is reported with the rule and the action;
// owners the CRM has (email in any case) are not; an unreadable
// directory is one line, not a line per owner.
func TestCheckOwners(t *testing.T) {
	rules, err := workflow.Compile([]workflow.Rule{{
		Name: "leads", Trigger: synclayer.EventFormSubmitted, Destination: "hubspot",
		Actions: []workflow.Action{
			{Kind: workflow.KindAssignOwner, RoundRobin: []string{"11", "Grace@Example.com", "gone@example.com"}},
			{Kind: workflow.KindCreateTask, Subject: "Call", TaskOwner: "99"},
		},
	}}, channels)
	if err != nil {
		t.Fatal(err)
	}
	dir := &crmOwners{owners: []synclayer.Owner{{ID: "11", Email: "ada@example.com"}, {ID: "22", Email: "grace@example.com", FirstName: "Grace", LastName: "Hopper"}}}
	h := &workflow.Handler{Rules: rules, Owners: []synclayer.OwnerDirectory{dir}}
	got := h.CheckOwners(context.Background())
	if len(got) != 2 || !strings.Contains(got[0], "leads actions[0] (assign_owner) names gone@example.com") ||
		!strings.Contains(got[1], "leads actions[1] (create_task) names owner ID 99") {
		t.Fatalf("CheckOwners = %q, want gone@example.com and 99 reported", got)
	}
	dir.err = errors.New("503")
	if got := h.CheckOwners(context.Background()); len(got) != 1 || !strings.Contains(got[0], "could not be read") {
		t.Fatalf("CheckOwners with the CRM down = %q, want one line", got)
	}
}
