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
func applyErrata(doc *openapi3.T) {
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
