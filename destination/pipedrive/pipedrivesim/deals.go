package pipedrivesim

import (
	"crypto/sha1"
	"encoding/hex"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"
)

type dealInput struct {
	Title        *string        `json:"title"`
	Value        *float64       `json:"value"`
	Currency     *string        `json:"currency"`
	OwnerID      *int64         `json:"owner_id"`
	PersonID     *int64         `json:"person_id"`
	OrgID        *int64         `json:"org_id"`
	PipelineID   *int64         `json:"pipeline_id"`
	StageID      *int64         `json:"stage_id"`
	Status       *string        `json:"status"`
	CustomFields map[string]any `json:"custom_fields"`
}

// Deals returns copies of the live deals, by ID.
func (s *Server) Deals() []Deal {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []Deal
	for _, id := range sortedKeys(s.deals) {
		if d := s.deals[id]; !d.IsDeleted {
			out = append(out, cloneDeal(d))
		}
	}
	return out
}

// DealFields returns the custom deal fields created.
func (s *Server) DealFields() []Field {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.dealFields)
}

func cloneDeal(d *Deal) Deal {
	c := *d
	c.CustomFields = map[string]any{}
	for k, v := range d.CustomFields {
		c.CustomFields[k] = v
	}
	return c
}

func (s *Server) handleDealSearch(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	term, exact := strings.TrimSpace(q.Get("term")), q.Get("exact_match") == "true"
	if len(term) < 2 && !(exact && len(term) == 1) {
		writeError(w, http.StatusBadRequest, "term must be at least 2 characters long")
		return
	}
	fields := q.Get("fields")
	byTitle := fields == "" || strings.Contains(fields, "title")
	byCustom := fields == "" || strings.Contains(fields, "custom_fields")
	match := func(v string) bool {
		v, t := strings.ToLower(v), strings.ToLower(term)
		return (exact && v == t) || (!exact && strings.Contains(v, t))
	}
	type item struct {
		ResultScore float64 `json:"result_score"`
		Item        any     `json:"item"`
	}
	items := []item{}
	s.mu.Lock()
	for _, id := range sortedKeys(s.deals) {
		d := s.deals[id]
		if d.IsDeleted {
			continue
		}
		hit := byTitle && match(d.Title)
		var custom []string
		for _, v := range d.CustomFields {
			if sv, ok := v.(string); ok {
				custom = append(custom, sv)
				if byCustom && match(sv) {
					hit = true
				}
			}
		}
		if hit {
			items = append(items, item{ResultScore: 1, Item: map[string]any{"id": d.ID, "type": "deal", "title": d.Title, "value": d.Value,
				"currency": d.Currency, "status": d.Status, "owner": map[string]any{"id": d.OwnerID}, "custom_fields": custom, "notes": []string{}}})
		}
	}
	s.mu.Unlock()
	writeData(w, http.StatusOK, map[string]any{"items": items}, map[string]any{"next_cursor": nil})
}

func (s *Server) handleDealCreate(w http.ResponseWriter, r *http.Request) {
	var in dealInput
	if !decode(w, r, &in) {
		return
	}
	if in.Title == nil || strings.TrimSpace(*in.Title) == "" {
		writeError(w, http.StatusBadRequest, "Title must be given.")
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	d := &Deal{OwnerID: DefaultOwner, PipelineID: 1, StageID: Stages[1][0], Status: "open", CustomFields: map[string]any{}, AddTime: s.stamp()}
	if msg := s.applyDeal(d, in); msg != "" {
		writeError(w, http.StatusBadRequest, msg)
		return
	}
	s.seq++
	d.ID = s.seq
	s.deals[d.ID] = d
	writeData(w, http.StatusOK, cloneDeal(d), nil)
}

func (s *Server) deal(w http.ResponseWriter, r *http.Request) *Deal {
	d := s.deals[pathID(r)]
	if d == nil || d.IsDeleted {
		writeError(w, http.StatusNotFound, "Deal not found")
		return nil
	}
	return d
}

func (s *Server) handleDealGet(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if d := s.deal(w, r); d != nil {
		writeData(w, http.StatusOK, cloneDeal(d), nil)
	}
}

func (s *Server) handleDealUpdate(w http.ResponseWriter, r *http.Request) {
	var in dealInput
	if !decode(w, r, &in) {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	d := s.deal(w, r)
	if d == nil {
		return
	}
	next := cloneDeal(d)
	if msg := s.applyDeal(&next, in); msg != "" {
		writeError(w, http.StatusBadRequest, msg)
		return
	}
	*d = next
	writeData(w, http.StatusOK, cloneDeal(d), nil)
}

// applyDeal writes in to d, or returns why Pipedrive would refuse it: a
// person, organization, owner, pipeline or stage that is not there, a
// stage of another pipeline, or an unknown custom field key.
func (s *Server) applyDeal(d *Deal, in dealInput) string {
	if in.Title != nil {
		if strings.TrimSpace(*in.Title) == "" {
			return "Title must be given."
		}
		d.Title = *in.Title
	}
	if in.Value != nil {
		d.Value = *in.Value
	}
	if in.Currency != nil {
		d.Currency = *in.Currency
	}
	if in.OwnerID != nil {
		if !s.activeUser(*in.OwnerID) {
			return "owner_id: no such user"
		}
		d.OwnerID = *in.OwnerID
	}
	if in.PersonID != nil {
		if p := s.persons[*in.PersonID]; p == nil || p.IsDeleted {
			return "person_id: no such person"
		}
		d.PersonID = in.PersonID
	}
	if in.OrgID != nil {
		if o := s.orgs[*in.OrgID]; o == nil || o.IsDeleted {
			return "org_id: no such organization"
		}
		d.OrgID = in.OrgID
	}
	if in.PipelineID != nil {
		if _, ok := Stages[*in.PipelineID]; !ok {
			return "pipeline_id: no such pipeline"
		}
		if d.PipelineID != *in.PipelineID && in.StageID == nil {
			d.StageID = Stages[*in.PipelineID][0]
		}
		d.PipelineID = *in.PipelineID
	}
	if in.StageID != nil {
		if in.PipelineID == nil {
			// A stage alone moves the deal to the stage's pipeline.
			for p, stages := range Stages {
				if slices.Contains(stages, *in.StageID) {
					d.PipelineID = p
				}
			}
		}
		if !slices.Contains(Stages[d.PipelineID], *in.StageID) {
			return fmt.Sprintf("stage_id: stage %d is not in pipeline %d", *in.StageID, d.PipelineID)
		}
		d.StageID = *in.StageID
	}
	if in.Status != nil {
		now := s.stamp()
		switch *in.Status {
		case "open":
			d.CloseTime, d.WonTime, d.LostTime = nil, nil, nil
		case "won":
			d.CloseTime, d.WonTime, d.LostTime = &now, &now, nil
		case "lost":
			d.CloseTime, d.WonTime, d.LostTime = &now, nil, &now
		default:
			return "status must be one of open, won, lost"
		}
		d.Status = *in.Status
	}
	for code, v := range in.CustomFields {
		if !slices.ContainsFunc(s.dealFields, func(f Field) bool { return f.Code == code }) {
			return "Unknown custom field key " + code
		}
		if v == nil {
			delete(d.CustomFields, code)
		} else {
			d.CustomFields[code] = v
		}
	}
	d.UpdateTime = s.stamp()
	return ""
}

func (s *Server) handleDealFieldList(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	all := append(slices.Clone(standardDealFields), s.dealFields...)
	writeData(w, http.StatusOK, all, map[string]any{"next_cursor": nil})
}

var standardDealFields = []Field{
	{Code: "title", Name: "Title", Type: "varchar"}, {Code: "value", Name: "Value", Type: "monetary"},
	{Code: "person_id", Name: "Contact person", Type: "people"}, {Code: "org_id", Name: "Organization", Type: "org"},
	{Code: "stage_id", Name: "Stage", Type: "stage"}, {Code: "status", Name: "Status", Type: "status"},
}

func (s *Server) handleDealFieldCreate(w http.ResponseWriter, r *http.Request) {
	var in struct {
		Name string `json:"field_name"`
		Type string `json:"field_type"`
	}
	if !decode(w, r, &in) {
		return
	}
	if strings.TrimSpace(in.Name) == "" || !slices.Contains(fieldTypes, in.Type) {
		writeError(w, http.StatusBadRequest, "field_name and a valid field_type must be given")
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.seq++
	sum := sha1.Sum([]byte("deal/" + in.Name + "/" + strconv.FormatInt(s.seq, 10)))
	f := Field{Code: hex.EncodeToString(sum[:]), Name: in.Name, Type: in.Type, IsCustom: true}
	s.dealFields = append(s.dealFields, f)
	writeData(w, http.StatusOK, f, nil)
}
