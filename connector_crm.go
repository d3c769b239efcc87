package synclayer

import (
	"context"
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
