package hubspotsim

import (
	"encoding/json"
	"maps"
	"net/http"
	"slices"
	"strconv"
	"time"
)

// Deals, companies, tasks and notes, as HubSpot's CRM objects: a batch
// upsert keyed by a property with unique values (HubSpot refuses any
// other idProperty), and default associations between records (v4).

// objectType is the canonical name of a path's object type: HubSpot
// takes the name or the type ID (0-1 contacts, 0-2 companies, 0-3 deals,
// 0-27 tasks, 0-46 notes).
func objectType(t string) string {
	switch t {
	case "0-1", "contact", "contacts":
		return "contacts"
	case "0-2", "company", "companies":
		return "companies"
	case "0-3", "deal", "deals":
		return "deals"
	case "0-27", "task", "tasks":
		return "tasks"
	case "0-46", "note", "notes":
		return "notes"
	}
	return ""
}

// objectProperties are the built-in properties of deals, companies,
// tasks and notes (those synclayer writes, and the record ID).
var objectProperties = map[string][]Property{
	"deals": {
		{Name: "dealname", Label: "Deal Name", Type: "string", FieldType: "text", GroupName: "dealinformation"},
		{Name: "amount", Label: "Amount", Type: "number", FieldType: "number", GroupName: "dealinformation"},
		{Name: "dealstage", Label: "Deal Stage", Type: "enumeration", FieldType: "radio", GroupName: "dealinformation"},
		{Name: "pipeline", Label: "Pipeline", Type: "enumeration", FieldType: "select", GroupName: "dealinformation"},
		{Name: "closedate", Label: "Close Date", Type: "datetime", FieldType: "date", GroupName: "dealinformation"},
		{Name: "deal_currency_code", Label: "Currency", Type: "enumeration", FieldType: "select", GroupName: "dealinformation"},
		{Name: "hs_object_id", Label: "Record ID", Type: "number", FieldType: "number", GroupName: "dealinformation"},
	},
	"companies": {
		{Name: "name", Label: "Company name", Type: "string", FieldType: "text", GroupName: "companyinformation"},
		{Name: "domain", Label: "Company Domain Name", Type: "string", FieldType: "text", GroupName: "companyinformation"},
		{Name: "hs_object_id", Label: "Record ID", Type: "number", FieldType: "number", GroupName: "companyinformation"},
	},
	"tasks": {
		{Name: "hs_task_subject", Label: "Task Title", Type: "string", FieldType: "text", GroupName: "task"},
		{Name: "hs_task_body", Label: "Task notes", Type: "string", FieldType: "html", GroupName: "task"},
		{Name: "hs_task_status", Label: "Task Status", Type: "enumeration", FieldType: "select", GroupName: "task"},
		{Name: "hs_task_priority", Label: "Priority", Type: "enumeration", FieldType: "select", GroupName: "task"},
		{Name: "hs_timestamp", Label: "Due date", Type: "datetime", FieldType: "date", GroupName: "task"},
		{Name: "hubspot_owner_id", Label: "Assigned to", Type: "enumeration", FieldType: "select", GroupName: "task"},
		{Name: "hs_object_id", Label: "Record ID", Type: "number", FieldType: "number", GroupName: "task"},
	},
	"notes": {
		{Name: "hs_note_body", Label: "Note body", Type: "string", FieldType: "html", GroupName: "note"},
		{Name: "hs_timestamp", Label: "Activity date", Type: "datetime", FieldType: "date", GroupName: "note"},
		{Name: "hubspot_owner_id", Label: "Activity assigned to", Type: "enumeration", FieldType: "select", GroupName: "note"},
		{Name: "hs_object_id", Label: "Record ID", Type: "number", FieldType: "number", GroupName: "note"},
	},
}

// TaskStatuses are the values hs_task_status takes.
var TaskStatuses = []string{"NOT_STARTED", "IN_PROGRESS", "WAITING", "COMPLETED", "DEFERRED"}

// DealStages are the stages of HubSpot's default sales pipeline.
var DealStages = []string{"appointmentscheduled", "qualifiedtobuy", "presentationscheduled", "decisionmakerboughtin",
	"contractsent", "closedwon", "closedlost"}

// Record is a deal, company, task or note the simulator holds.
type Record struct {
	ID         string
	Properties map[string]string
}

// Records returns copies of the deals or companies held.
func (s *Server) Records(objectTypeName string) []Record {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []Record
	for _, id := range slices.Sorted(maps.Keys(s.objects[objectType(objectTypeName)])) {
		r := s.objects[objectType(objectTypeName)][id]
		out = append(out, Record{ID: r.ID, Properties: maps.Clone(r.Properties)})
	}
	return out
}

// Associated reports whether two records are associated.
func (s *Server) Associated(fromType, fromID, toType, toID string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.assoc[assocKey(objectType(fromType), fromID, objectType(toType), toID)]
}

// Associations counts the associations held.
func (s *Server) Associations() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.assoc) / 2
}

func assocKey(ft, fid, tt, tid string) string { return ft + "/" + fid + "/" + tt + "/" + tid }

func (s *Server) initObjects() {
	s.objects = map[string]map[string]*Contact{"deals": {}, "companies": {}, "tasks": {}, "notes": {}}
	s.unique = map[string]string{}
	s.assoc = map[string]bool{}
	s.objProps = map[string]map[string]Property{}
	for t, ps := range objectProperties {
		s.objProps[t] = map[string]Property{}
		for _, p := range ps {
			s.objProps[t][p.Name] = p
		}
	}
}

func (s *Server) handleObjectUpsert(w http.ResponseWriter, r *http.Request) {
	t := objectType(r.PathValue("objectType"))
	if t == "" || t == "contacts" {
		writeError(w, http.StatusBadRequest, "VALIDATION_ERROR", "Unable to infer object type from: "+r.PathValue("objectType"), nil)
		return
	}
	var in struct {
		Inputs []upsertInput `json:"inputs"`
	}
	if err := json.NewDecoder(r.Body).Decode(&in); err != nil {
		writeError(w, http.StatusBadRequest, "VALIDATION_ERROR", "Invalid input JSON: "+err.Error(), nil)
		return
	}
	if len(in.Inputs) > 100 {
		writeError(w, http.StatusBadRequest, "VALIDATION_ERROR", "Batch input must contain at most 100 inputs", nil)
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	started := s.now().UTC().Format(time.RFC3339Nano)
	var results []object
	var errs []map[string]any
	for _, x := range in.Inputs {
		p, ok := s.objProps[t][x.IDProperty]
		if !ok || !p.HasUniqueValue {
			errs = append(errs, batchError("VALIDATION_ERROR", "idProperty "+x.IDProperty+" is not a property with unique values", x.ID))
			continue
		}
		if msg := s.unknownObjectProperty(t, x.Properties); msg != "" {
			errs = append(errs, batchError("VALIDATION_ERROR", msg, x.ID))
			continue
		}
		if st, ok := x.Properties["dealstage"]; ok && t == "deals" && !slices.Contains(DealStages, st) {
			errs = append(errs, batchError("VALIDATION_ERROR", "Property values were not valid: "+st+" is not a valid deal stage of the pipeline", x.ID))
			continue
		}
		if msg := engagementProblem(t, x.Properties); msg != "" {
			errs = append(errs, batchError("VALIDATION_ERROR", msg, x.ID))
			continue
		}
		key := t + "/" + x.IDProperty + "/" + x.ID
		id, ok := s.unique[key]
		isNew := !ok
		now := s.now()
		if isNew {
			s.seq++
			id = strconv.Itoa(s.seq)
			s.objects[t][id] = &Contact{ID: id, Properties: map[string]string{}, CreatedAt: now}
			s.unique[key] = id
		}
		rec := s.objects[t][id]
		maps.Copy(rec.Properties, x.Properties)
		rec.Properties[x.IDProperty] = x.ID
		rec.Properties["hs_object_id"] = id
		rec.UpdatedAt = now
		o := s.objectOf(rec)
		o.New = &isNew
		results = append(results, o)
	}
	out := map[string]any{"status": "COMPLETE", "results": results, "startedAt": started, "completedAt": s.now().UTC().Format(time.RFC3339Nano)}
	status := http.StatusOK
	if len(errs) > 0 {
		out["errors"], out["numErrors"], status = errs, len(errs), http.StatusMultiStatus
	}
	writeJSON(w, status, out)
}

func (s *Server) unknownObjectProperty(t string, props map[string]string) string {
	for k := range props {
		if _, ok := s.objProps[t][k]; !ok {
			return "Property values were not valid: Property \"" + k + "\" does not exist"
		}
	}
	return ""
}

// exists reports whether a record of type t (canonical) is held.
func (s *Server) exists(t, id string) bool {
	if t == "contacts" {
		c, ok := s.contacts[id]
		return ok && !c.Archived
	}
	_, ok := s.objects[t][id]
	return ok
}

// defaultTypeID is HubSpot's default (HUBSPOT_DEFINED) association type
// of a pair of object types.
var defaultTypeID = map[string]int{
	"contacts/companies": 279, "companies/contacts": 280,
	"deals/contacts": 3, "contacts/deals": 4,
	"deals/companies": 341, "companies/deals": 342,
	"tasks/contacts": 204, "contacts/tasks": 203,
	"notes/contacts": 202, "contacts/notes": 201,
}

// engagementProblem is HubSpot's refusal of a task or note as given:
// both need hs_timestamp (a task's due date, a note's activity date), as
// an ISO 8601 time or epoch milliseconds, and a task's status is one of
// TaskStatuses.
func engagementProblem(t string, props map[string]string) string {
	if t != "tasks" && t != "notes" {
		return ""
	}
	ts, ok := props["hs_timestamp"]
	if !ok {
		return "Property values were not valid: hs_timestamp is required"
	}
	if _, err := time.Parse(time.RFC3339Nano, ts); err != nil {
		if _, err := strconv.ParseInt(ts, 10, 64); err != nil {
			return "Property values were not valid: " + ts + " is not a valid hs_timestamp"
		}
	}
	if st, ok := props["hs_task_status"]; ok && t == "tasks" && !slices.Contains(TaskStatuses, st) {
		return "Property values were not valid: " + st + " is not a valid hs_task_status"
	}
	return ""
}

func (s *Server) handleAssociateDefault(w http.ResponseWriter, r *http.Request) {
	ft, tt := objectType(r.PathValue("fromType")), objectType(r.PathValue("toType"))
	fid, tid := r.PathValue("fromId"), r.PathValue("toId")
	typeID, ok := defaultTypeID[ft+"/"+tt]
	if ft == "" || tt == "" || !ok {
		writeError(w, http.StatusBadRequest, "VALIDATION_ERROR", "There is no default association between "+r.PathValue("fromType")+" and "+r.PathValue("toType"), nil)
		return
	}
	s.mu.Lock()
	if !s.exists(ft, fid) || !s.exists(tt, tid) {
		s.mu.Unlock()
		writeError(w, http.StatusNotFound, "OBJECT_NOT_FOUND", "One or more of the objects could not be found", nil)
		return
	}
	s.assoc[assocKey(ft, fid, tt, tid)] = true
	s.assoc[assocKey(tt, tid, ft, fid)] = true
	s.mu.Unlock()
	now := s.now().UTC().Format(time.RFC3339Nano)
	writeJSON(w, http.StatusOK, map[string]any{"status": "COMPLETE", "startedAt": now, "completedAt": now, "results": []any{map[string]any{
		"from": map[string]string{"id": fid}, "to": map[string]string{"id": tid},
		"associationSpec": map[string]any{"associationCategory": "HUBSPOT_DEFINED", "associationTypeId": typeID}}}})
}

// handleBatchAssociateDefault serves POST
// /crm/v4/associations/{fromObjectType}/{toObjectType}/batch/associate/default:
// each input's pair linked by the types' default association. A pair
// whose record is missing is an error of the batch (207), the others are
// linked.
func (s *Server) handleBatchAssociateDefault(w http.ResponseWriter, r *http.Request) {
	ft, tt := objectType(r.PathValue("fromType")), objectType(r.PathValue("toType"))
	typeID, ok := defaultTypeID[ft+"/"+tt]
	if ft == "" || tt == "" || !ok {
		writeError(w, http.StatusBadRequest, "VALIDATION_ERROR", "There is no default association between "+r.PathValue("fromType")+" and "+r.PathValue("toType"), nil)
		return
	}
	var body struct {
		Inputs []struct {
			From struct {
				ID string `json:"id"`
			} `json:"from"`
			To struct {
				ID string `json:"id"`
			} `json:"to"`
		} `json:"inputs"`
	}
	if err := json.NewDecoder(r.Body).Decode(&body); err != nil || len(body.Inputs) == 0 {
		writeError(w, http.StatusBadRequest, "VALIDATION_ERROR", "Invalid input JSON: inputs is required", nil)
		return
	}
	if len(body.Inputs) > 2000 {
		writeError(w, http.StatusBadRequest, "VALIDATION_ERROR", "Batch input of "+strconv.Itoa(len(body.Inputs))+" exceeds the limit of 2000", nil)
		return
	}
	var results, errs []any
	s.mu.Lock()
	for _, in := range body.Inputs {
		if !s.exists(ft, in.From.ID) || !s.exists(tt, in.To.ID) {
			errs = append(errs, map[string]any{"status": "error", "category": "OBJECT_NOT_FOUND",
				"message": "One or more of the objects could not be found", "context": map[string][]string{"ids": {in.From.ID}}})
			continue
		}
		s.assoc[assocKey(ft, in.From.ID, tt, in.To.ID)] = true
		s.assoc[assocKey(tt, in.To.ID, ft, in.From.ID)] = true
		results = append(results, map[string]any{"from": map[string]string{"id": in.From.ID}, "to": map[string]string{"id": in.To.ID},
			"associationSpec": map[string]any{"associationCategory": "HUBSPOT_DEFINED", "associationTypeId": typeID}})
	}
	s.mu.Unlock()
	now := s.now().UTC().Format(time.RFC3339Nano)
	out := map[string]any{"status": "COMPLETE", "startedAt": now, "completedAt": now, "results": orNone(results)}
	status := http.StatusOK
	if len(errs) > 0 {
		out["errors"], out["numErrors"], status = errs, len(errs), http.StatusMultiStatus
	}
	writeJSON(w, status, out)
}

func orNone(v []any) []any {
	if v == nil {
		return []any{}
	}
	return v
}
