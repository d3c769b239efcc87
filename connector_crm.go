package synclayer

import (
	"context"
	"strings"
	"sync"
	"time"
)

// CRMActionDestination is a CRM that workflow rules' create_task and
// create_note actions act on. The workflow package renders the action's
// templates, picks the owner and the due time, and runs each action once
// per trigger and destination; the destination makes the call, keyed by
// Task.Key or Note.Key so that a retry after a lost answer finds the
// record it made rather than making a second.
type CRMActionDestination interface {
	Destination
	// CheckCRMAction says whether the destination can carry out a CRM
	// action (Kind create_task or create_note) as configured. The error
	// names what is wrong and how to fix it.
	CheckCRMAction(a ActionCheck) error
	// CreateTask creates the task on the contact, or finds the one
	// created under t.Key. A contact the CRM does not hold yet is
	// created by its email.
	CreateTask(ctx context.Context, c ContactRef, t Task) error
	// CreateNote creates the note on the contact, or finds the one
	// created under n.Key.
	CreateNote(ctx context.Context, c ContactRef, n Note) error
}

// Task is a follow-up task on a contact.
type Task struct {
	Subject string
	Body    string
	Due     time.Time
	// OwnerID is the CRM user the task is assigned to (a HubSpot owner
	// ID); "" leaves it unassigned.
	OwnerID string
	// Key is unique to the action's run for its trigger and destination.
	Key string
}

// Note is a note on a contact's timeline.
type Note struct {
	Body string
	At   time.Time // when it is dated; zero: now
	Key  string    // as Task.Key
}

// OwnerDirectory is a CRM whose users own contacts (HubSpot's owners,
// Pipedrive's users). Workflows name owners by the CRM's IDs, which say
// nothing to a person reading a Slack message or a config: the directory
// lets a rule name an owner by email (assign_owner: jane@shop.com), lets
// templates name the contact's owner ({{ .contact.ownerName }}), and lets
// the program refuse at start an owner ID the CRM does not have, rather
// than every task failing later.
type OwnerDirectory interface {
	Destination
	// Owners lists the CRM's active owners. It may answer from a copy a
	// few minutes old: owners change rarely, and a workflow must not call
	// the CRM for each action.
	Owners(ctx context.Context) ([]Owner, error)
}

// Owner is one CRM user records can be assigned to.
type Owner struct {
	ID        string `json:"id"`
	Email     string `json:"email,omitempty"`
	FirstName string `json:"firstName,omitempty"`
	LastName  string `json:"lastName,omitempty"`
}

// Name is the owner's full name, or the email when the CRM has no name.
func (o Owner) Name() string {
	n := strings.TrimSpace(o.FirstName + " " + o.LastName)
	if n == "" {
		return o.Email
	}
	return n
}

// OwnersTTL is how long an OwnerCache answers from its copy: owners
// change when someone joins or leaves the team, and a workflow must not
// cost a call to the CRM per action.
const OwnersTTL = 5 * time.Minute

// OwnerCache keeps a CRM's owners list for OwnersTTL, for an
// OwnerDirectory's Owners. One caller loads while the others wait for
// the same answer; when a reload fails, the stale list is kept and
// returned, since a name in a message is not worth failing an action for.
type OwnerCache struct {
	mu     sync.Mutex
	at     time.Time
	owners []Owner
}

// Owners returns the cached list, loading it with load when it is older
// than OwnersTTL.
func (c *OwnerCache) Owners(ctx context.Context, load func(context.Context) ([]Owner, error)) ([]Owner, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.owners != nil && time.Since(c.at) < OwnersTTL {
		return c.owners, nil
	}
	list, err := load(ctx)
	if err != nil {
		if c.owners != nil {
			return c.owners, nil
		}
		return nil, err
	}
	if list == nil {
		list = []Owner{}
	}
	c.owners, c.at = list, time.Now()
	return list, nil
}
