package mailchimpsim

import (
	"crypto/md5"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// Member is the server's record of an audience member.
type Member struct {
	Email       string
	Status      string // subscribed, unsubscribed, cleaned, pending, transactional or archived
	MergeFields map[string]any
	Tags        []string
	// UnsubscribedBy says who unsubscribed the member: "api" (a request),
	// or "member" (the person, inside Mailchimp: an unsubscribe link or a
	// form). Mailchimp lets the API resubscribe the first, not the second.
	UnsubscribedBy string
	// Confirmations counts the opt-in confirmation emails Mailchimp sent
	// (each change to pending).
	Confirmations int
	LastChanged   time.Time
	// Events are the custom events recorded on the member (POST …/events),
	// oldest first.
	Events []Event
}

// Event is one custom member event as the server recorded it.
type Event struct {
	Name       string
	Properties map[string]string
	IsSyncing  bool
	OccurredAt string // as sent; "" when the request had none
	Received   time.Time
}

// MergeField is one audience field.
type MergeField struct {
	MergeID int64  `json:"merge_id"`
	Tag     string `json:"tag"`
	Name    string `json:"name"`
	Type    string `json:"type"`
}

type audience struct {
	id        string
	fields    []MergeField
	members   map[string]*Member // subscriber hash → member
	forgotten map[string]bool    // hashes of permanently deleted addresses
	nextMerge int64
	webhooks  []*Webhook
	nextHook  int
}

// DefaultMergeFields are the fields a new audience has in the simulator,
// as Mailchimp creates FNAME, LNAME, ADDRESS, PHONE (and BIRTHDAY on the
// signup form) for a new audience.
var DefaultMergeFields = []string{"FNAME:text", "LNAME:text", "ADDRESS:address", "PHONE:phone", "BIRTHDAY:birthday"}

// AddAudience creates audience id with merge fields given as "TAG:type"
// (or "TAG", a text field); none given means DefaultMergeFields.
func (s *Server) AddAudience(id string, fields ...string) {
	if len(fields) == 0 {
		fields = DefaultMergeFields
	}
	a := &audience{id: id, members: map[string]*Member{}, forgotten: map[string]bool{}, nextMerge: 1}
	for _, f := range fields {
		tag, typ, _ := strings.Cut(f, ":")
		if typ == "" {
			typ = "text"
		}
		a.addField(strings.ToUpper(tag), tag, typ)
	}
	s.mu.Lock()
	s.audiences[id] = a
	s.mu.Unlock()
}

func (a *audience) addField(tag, name, typ string) MergeField {
	f := MergeField{MergeID: a.nextMerge, Tag: tag, Name: name, Type: typ}
	a.nextMerge++
	a.fields = append(a.fields, f)
	return f
}

func (a *audience) field(tag string) (MergeField, bool) {
	for _, f := range a.fields {
		if f.Tag == tag {
			return f, true
		}
	}
	return MergeField{}, false
}

// hash is Mailchimp's subscriber hash.
func hash(email string) string {
	sum := md5.Sum([]byte(strings.ToLower(email)))
	return hex.EncodeToString(sum[:])
}

// lookup returns the audience of r's {list_id}, answering 404 itself when
// there is none; s.mu is held on success and must be released.
func (s *Server) lookup(w http.ResponseWriter, r *http.Request) (*audience, bool) {
	s.mu.Lock()
	a := s.audiences[r.PathValue("list_id")]
	if a == nil {
		s.mu.Unlock()
		notFound(w)
		return nil, false
	}
	return a, true
}

func (s *Server) handleMergeFieldList(w http.ResponseWriter, r *http.Request) {
	a, ok := s.lookup(w, r)
	if !ok {
		return
	}
	defer s.mu.Unlock()
	count, offset := 10, 0
	if n, err := strconv.Atoi(r.URL.Query().Get("count")); err == nil && n > 0 {
		count = min(n, 1000)
	}
	if n, err := strconv.Atoi(r.URL.Query().Get("offset")); err == nil && n > 0 {
		offset = n
	}
	page := []map[string]any{}
	for i := offset; i < len(a.fields) && i < offset+count; i++ {
		f := a.fields[i]
		page = append(page, map[string]any{"merge_id": f.MergeID, "tag": f.Tag, "name": f.Name, "type": f.Type, "list_id": a.id})
	}
	writeJSON(w, http.StatusOK, map[string]any{"merge_fields": page, "list_id": a.id, "total_items": len(a.fields)})
}

func (s *Server) handleMergeFieldCreate(w http.ResponseWriter, r *http.Request) {
	var req struct{ Tag, Name, Type string }
	if err := json.NewDecoder(r.Body).Decode(&req); err != nil || req.Name == "" || req.Type == "" {
		invalid(w, "The resource submitted could not be validated. For field-specific details, see the 'errors' array.",
			FieldError{Field: "name", Message: "name and type are required"})
		return
	}
	a, ok := s.lookup(w, r)
	if !ok {
		return
	}
	defer s.mu.Unlock()
	tag := strings.ToUpper(req.Tag)
	if tag == "" {
		tag = fmt.Sprintf("MERGE%d", a.nextMerge)
	}
	if len(tag) > 10 {
		invalid(w, "The resource submitted could not be validated. For field-specific details, see the 'errors' array.",
			FieldError{Field: "tag", Message: "Merge tags may be at most 10 characters long."})
		return
	}
	if _, dup := a.field(tag); dup {
		invalid(w, fmt.Sprintf("A Merge Field with the tag %q already exists for this list.", tag))
		return
	}
	f := a.addField(tag, req.Name, req.Type)
	writeJSON(w, http.StatusOK, map[string]any{"merge_id": f.MergeID, "tag": f.Tag, "name": f.Name, "type": f.Type, "list_id": a.id})
}
