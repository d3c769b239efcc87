package pipedrive

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"synclayer"
)

// Workflow actions on Pipedrive: create_task is an activity of type task
// (POST /api/v2/activities) on the person, due at the task's time (UTC
// due_date and due_time) and owned by the task's owner (a Pipedrive user
// ID, owner_id); create_note is a note on the person (POST /v1/notes;
// notes have no v2 API). The person is found by email, or created with
// the address alone so a task for a contact customer-sync has not made
// yet does not wait.
//
// Neither activities nor notes take a custom field a client could key
// them by, so the action's key is written at the end of the activity's
// note or the note's content ("[synclayer wf_…]"), and before creating,
// the person's activities (or notes) are read and one ending with that
// key is taken as the one a lost answer hid: a retry finds what the first
// attempt made instead of making a second.

const (
	pathActivities = "/api/v2/activities"
	pathNotes      = "/api/v1/notes"
)

// ActivityTypeTask is the key string of Pipedrive's default Task
// activity type.
const ActivityTypeTask = "task"

var _ synclayer.CRMActionDestination = (*Destination)(nil)

// CheckCRMAction accepts create_task and create_note.
func (d *Destination) CheckCRMAction(a synclayer.ActionCheck) error {
	switch a.Kind {
	case "create_task", "create_note":
		return nil
	}
	return synclayer.Errorf(synclayer.EINVALID, "pipedrive: %q is not a CRM action; Pipedrive takes create_task and create_note", a.Kind)
}

// keyMark is how an action's key is written into the record it made.
func keyMark(key string) string { return "[synclayer " + key + "]" }

func withMark(body, key string) string {
	if body == "" {
		return keyMark(key)
	}
	return body + "\n\n" + keyMark(key)
}

func actionPerson(ctx context.Context, c *Client, ref synclayer.ContactRef) (int64, error) {
	email := strings.ToLower(strings.TrimSpace(ref.Email))
	if email == "" {
		return 0, synclayer.Permanent(fmt.Errorf("pipedrive: contact %s has no email, which Pipedrive persons are found by here", ref.ID))
	}
	id, _, err := c.EnsurePerson(ctx, email, "")
	return id, err
}

// CreateTask creates the task as an activity of type task on the
// contact's person, or finds the one made under t.Key. An owner that is
// not a Pipedrive user ID is a Permanent error.
func (d *Destination) CreateTask(ctx context.Context, ref synclayer.ContactRef, t synclayer.Task) error {
	if t.Key == "" {
		return synclayer.Permanent(fmt.Errorf("pipedrive: the task has no key, so a retry could make a second"))
	}
	in := ActivityInput{Subject: t.Subject, Type: ActivityTypeTask, Note: withMark(t.Body, t.Key)}
	if t.OwnerID != "" {
		n, err := strconv.ParseInt(t.OwnerID, 10, 64)
		if err != nil || n <= 0 {
			return synclayer.Permanent(fmt.Errorf("pipedrive: the task's owner %q is not a Pipedrive user ID; name the owner by email (assign_owner) or by the ID in Settings → Manage users", t.OwnerID))
		}
		in.OwnerID = n
	}
	if !t.Due.IsZero() {
		due := t.Due.UTC()
		in.DueDate, in.DueTime = due.Format("2006-01-02"), due.Format("15:04")
	}
	if strings.TrimSpace(in.Subject) == "" {
		in.Subject = "Follow up"
	}
	person, err := actionPerson(ctx, d.client, ref)
	if err != nil {
		return err
	}
	in.PersonID = person
	found, err := d.client.FindActivityByMark(ctx, person, keyMark(t.Key))
	if err != nil || found != 0 {
		return err
	}
	_, err = d.client.CreateActivity(ctx, in)
	return err
}

// CreateNote creates the note on the contact's person, dated n.At, or
// finds the one made under n.Key.
func (d *Destination) CreateNote(ctx context.Context, ref synclayer.ContactRef, n synclayer.Note) error {
	if n.Key == "" {
		return synclayer.Permanent(fmt.Errorf("pipedrive: the note has no key, so a retry could make a second"))
	}
	person, err := actionPerson(ctx, d.client, ref)
	if err != nil {
		return err
	}
	found, err := d.client.FindNoteByMark(ctx, person, keyMark(n.Key))
	if err != nil || found != 0 {
		return err
	}
	in := NoteInput{Content: withMark(n.Body, n.Key), PersonID: person}
	if !n.At.IsZero() {
		in.AddTime = n.At.UTC().Format(time.DateTime) // v1's "YYYY-MM-DD HH:MM:SS", UTC
	}
	_, err = d.client.CreateNote(ctx, in)
	return err
}

// ActivityInput is the body of POST /api/v2/activities.
type ActivityInput struct {
	Subject  string `json:"subject"`
	Type     string `json:"type"`
	OwnerID  int64  `json:"owner_id,omitempty"`
	PersonID int64  `json:"person_id,omitempty"`
	DueDate  string `json:"due_date,omitempty"`
	DueTime  string `json:"due_time,omitempty"`
	Note     string `json:"note,omitempty"`
}

// CreateActivity creates an activity and returns its ID.
func (c *Client) CreateActivity(ctx context.Context, in ActivityInput) (int64, error) {
	var out envelope[struct {
		ID int64 `json:"id"`
	}]
	_, err := c.do(ctx, call{method: http.MethodPost, route: pathActivities, path: pathActivities, body: in, out: &out})
	return out.Data.ID, err
}

// FindActivityByMark returns the ID of the person's activity whose note
// ends with mark (GET /api/v2/activities?person_id=, following the
// cursor); 0 when there is none.
func (c *Client) FindActivityByMark(ctx context.Context, person int64, mark string) (int64, error) {
	cursor := ""
	for range 100 {
		var out envelope[[]struct {
			ID   int64  `json:"id"`
			Note string `json:"note"`
		}]
		q := url.Values{"person_id": {strconv.FormatInt(person, 10)}, "limit": {"500"}}
		if cursor != "" {
			q.Set("cursor", cursor)
		}
		if _, err := c.do(ctx, call{method: http.MethodGet, route: pathActivities, path: pathActivities, query: q, out: &out}); err != nil {
			return 0, err
		}
		for _, a := range out.Data {
			if hasMark(a.Note, mark) {
				return a.ID, nil
			}
		}
		if out.AdditionalData.NextCursor == nil || *out.AdditionalData.NextCursor == "" {
			break
		}
		cursor = *out.AdditionalData.NextCursor
	}
	return 0, nil
}

// hasMark reports whether text ends with mark, allowing for the HTML
// Pipedrive's editor may have wrapped around it.
func hasMark(text, mark string) bool {
	text = strings.TrimSpace(text)
	for _, tag := range []string{"</p>", "</div>", "<br>", "<br/>"} {
		text = strings.TrimSpace(strings.TrimSuffix(text, tag))
	}
	return strings.HasSuffix(text, mark)
}

// NoteInput is the body of POST /v1/notes.
type NoteInput struct {
	Content  string `json:"content"`
	PersonID int64  `json:"person_id"`
	AddTime  string `json:"add_time,omitempty"`
}

// CreateNote creates a note and returns its ID.
func (c *Client) CreateNote(ctx context.Context, in NoteInput) (int64, error) {
	var out envelope[struct {
		ID int64 `json:"id"`
	}]
	_, err := c.do(ctx, call{method: http.MethodPost, route: pathNotes, path: pathNotes, body: in, out: &out})
	return out.Data.ID, err
}

// FindNoteByMark returns the ID of the person's note whose content ends
// with mark (GET /v1/notes?person_id=, v1's start/limit pages); 0 when
// there is none.
func (c *Client) FindNoteByMark(ctx context.Context, person int64, mark string) (int64, error) {
	start := 0
	for range 100 {
		var out struct {
			Data []struct {
				ID      int64  `json:"id"`
				Content string `json:"content"`
			} `json:"data"`
			AdditionalData struct {
				Pagination struct {
					More      bool `json:"more_items_in_collection"`
					NextStart int  `json:"next_start"`
				} `json:"pagination"`
			} `json:"additional_data"`
		}
		q := url.Values{"person_id": {strconv.FormatInt(person, 10)}, "start": {strconv.Itoa(start)}, "limit": {"500"}}
		if _, err := c.do(ctx, call{method: http.MethodGet, route: pathNotes, path: pathNotes, query: q, out: &out}); err != nil {
			return 0, err
		}
		for _, n := range out.Data {
			if hasMark(n.Content, mark) {
				return n.ID, nil
			}
		}
		p := out.AdditionalData.Pagination
		if !p.More || p.NextStart <= start {
			break
		}
		start = p.NextStart
	}
	return 0, nil
}
