package brevospec

import "github.com/getkin/kin-openapi/openapi3"

// applyErrata corrects the few places where the spec copy contradicts
// Brevo's own documentation, each named here so the deviation is visible.
//
//   - POST /categories and POST /categories/batch give the category id
//     "format: email" (with the example "CAT123", which is not an email).
//     The id is the shop's category ID (developers.brevo.com; Brevo's own
//     shop plugins send numeric IDs). The format is dropped there only;
//     every other email format, contacts' included, is still checked.
//   - GET /processes and GET /processes/{processId} list a running
//     process's status as "processing"; Brevo reports "in_process" (its
//     own SDKs' GetProcess model lists queued, in_process, completed).
//     "in_process" is added to both enums; "processing" stays allowed.
func applyErrata(doc *openapi3.T) {
	addInProcess(doc)
	clearFormat := func(s *openapi3.SchemaRef) {
		if s != nil && s.Value != nil && s.Value.Format == "email" {
			s.Value.Format = ""
		}
	}
	body := func(path string) *openapi3.Schema {
		item := doc.Paths.Value(path)
		if item == nil || item.Post == nil || item.Post.RequestBody == nil || item.Post.RequestBody.Value == nil {
			return nil
		}
		mt := item.Post.RequestBody.Value.Content.Get("application/json")
		if mt == nil || mt.Schema == nil {
			return nil
		}
		return mt.Schema.Value
	}
	if s := body("/categories"); s != nil {
		clearFormat(s.Properties["id"])
	}
	if s := body("/categories/batch"); s != nil {
		if items := s.Properties["categories"]; items != nil && items.Value != nil && items.Value.Items != nil && items.Value.Items.Value != nil {
			clearFormat(items.Value.Items.Value.Properties["id"])
		}
	}
}

// addInProcess adds "in_process" to the process status enums.
func addInProcess(doc *openapi3.T) {
	status := func(s *openapi3.SchemaRef) {
		if s == nil || s.Value == nil {
			return
		}
		if st := s.Value.Properties["status"]; st != nil && st.Value != nil && len(st.Value.Enum) > 0 {
			st.Value.Enum = append(st.Value.Enum, "in_process")
		}
	}
	schemaOf := func(path string) *openapi3.SchemaRef {
		item := doc.Paths.Value(path)
		if item == nil || item.Get == nil || item.Get.Responses == nil {
			return nil
		}
		r := item.Get.Responses.Value("200")
		if r == nil || r.Value == nil {
			return nil
		}
		mt := r.Value.Content.Get("application/json")
		if mt == nil {
			return nil
		}
		return mt.Schema
	}
	status(schemaOf("/processes/{processId}"))
	if list := schemaOf("/processes"); list != nil && list.Value != nil {
		if ps := list.Value.Properties["processes"]; ps != nil && ps.Value != nil {
			status(ps.Value.Items)
		}
	}
}
