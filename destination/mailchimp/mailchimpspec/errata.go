package mailchimpspec

import "github.com/getkin/kin-openapi/openapi3"

// applyErrata corrects the places where the vendored spec contradicts
// Mailchimp's own documentation, each named here so the deviation is
// visible.
//
//   - Add_List_Members_2 and _3 (the PUT and PATCH member bodies) type
//     each merge_fields value as "object". Mailchimp's merge-field docs
//     (mailchimp.com/developer/marketing/docs/merge-fields/) send text,
//     number, date and phone values as JSON strings or numbers, and only
//     address values as objects. The type is dropped from the values, so
//     any JSON value is accepted; the keys are still free-form as in the
//     spec.
//   - E_commerce_Order_Line_Item_2 (a line in the PATCH order body) has no
//     id, although a line is known by its id (POST requires one, and
//     DELETE …/orders/{order_id}/lines/{line_id} names it), so a PATCH
//     could not say which line it changes. The id property of the POST
//     line (E_commerce_Order_Line_Item_1) is added, optional.
//   - Batch (the answer of POST /batches and GET /batches/{batch_id})
//     types completed_at as a date-time, but Mailchimp answers "" until
//     the batch is finished: a real answer to POST /batches quoted in
//     github.com/mailchimp/APIv3-examples/issues/26 has "completed_at": ""
//     (and "response_body_url": ""). The format is dropped there.
func applyErrata(doc *openapi3.T) {
	if b := doc.Components.Schemas["Batch"]; b != nil && b.Value != nil {
		if c := b.Value.Properties["completed_at"]; c != nil && c.Value != nil {
			c.Value.Format = ""
		}
	}
	if patch, post := doc.Components.Schemas["E_commerce_Order_Line_Item_2"], doc.Components.Schemas["E_commerce_Order_Line_Item_1"]; patch != nil && post != nil &&
		patch.Value != nil && post.Value != nil && patch.Value.Properties["id"] == nil {
		patch.Value.Properties["id"] = post.Value.Properties["id"]
	}
	for _, name := range []string{"Add_List_Members_2", "Add_List_Members_3"} {
		s := doc.Components.Schemas[name]
		if s == nil || s.Value == nil {
			continue
		}
		mf := s.Value.Properties["merge_fields"]
		if mf == nil || mf.Value == nil || mf.Value.AdditionalProperties.Schema == nil {
			continue
		}
		if v := mf.Value.AdditionalProperties.Schema.Value; v != nil {
			v.Type = nil
		}
	}
}
