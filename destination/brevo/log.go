package brevo

import (
	"encoding/json"
	"log/slog"
	"maps"
	"slices"
)

// requestSummary describes a request body for the debug log without a
// single value that could identify a person: attribute names but not their
// values, list IDs, blacklist flags, and whether an email or ext_id was
// sent, never which.
func requestSummary(body any) []slog.Attr {
	var attrs []slog.Attr
	switch b := body.(type) {
	case CreateContactRequest:
		attrs = append(attrs, slog.Bool("email", b.Email != ""), slog.Bool("ext_id", b.ExtID != ""), slog.Bool("updateEnabled", b.UpdateEnabled))
		attrs = append(attrs, contactAttrs(b.Attributes, b.ListIDs, nil, b.EmailBlacklisted, b.SMSBlacklisted)...)
	case UpdateContactRequest:
		attrs = append(attrs, slog.Bool("ext_id", b.ExtID != ""))
		attrs = append(attrs, contactAttrs(b.Attributes, b.ListIDs, b.UnlinkListIDs, b.EmailBlacklisted, b.SMSBlacklisted)...)
	case Order:
		ids := b.Identifiers
		attrs = append(attrs, slog.String("status", b.Status), slog.Int("products", len(b.Products)),
			slog.Bool("email_id", ids != nil && ids.EmailID != ""), slog.Bool("ext_id", ids != nil && ids.ExtID != ""))
	case Product:
		attrs = append(attrs, slog.Bool("isDeleted", b.IsDeleted != nil && *b.IsDeleted), slog.Bool("stock", b.Stock != nil),
			slog.Int("categories", len(b.Categories)), slog.Bool("updateEnabled", b.UpdateEnabled))
	case Category:
		attrs = append(attrs, slog.Bool("isDeleted", b.IsDeleted), slog.Bool("updateEnabled", b.UpdateEnabled))
	default:
		return nil
	}
	return []slog.Attr{{Key: "request", Value: slog.GroupValue(attrs...)}}
}

func contactAttrs(attributes map[string]any, lists, unlink []int64, emailBL, smsBL *bool) []slog.Attr {
	var out []slog.Attr
	if len(attributes) > 0 {
		out = append(out, slog.Any("attributes", slices.Sorted(maps.Keys(attributes))))
	}
	if len(lists) > 0 {
		out = append(out, slog.Any("listIds", lists))
	}
	if len(unlink) > 0 {
		out = append(out, slog.Any("unlinkListIds", unlink))
	}
	if emailBL != nil {
		out = append(out, slog.Bool("emailBlacklisted", *emailBL))
	}
	if smsBL != nil {
		out = append(out, slog.Bool("smsBlacklisted", *smsBL))
	}
	return out
}

// responseSummary describes a successful answer's body the same way: for
// a contact, its attribute names, lists and blacklist flags; for a list of
// attributes, how many.
func responseSummary(data []byte) []slog.Attr {
	var w struct {
		Attributes       json.RawMessage `json:"attributes"`
		ListIDs          []int64         `json:"listIds"`
		EmailBlacklisted *bool           `json:"emailBlacklisted"`
		SMSBlacklisted   *bool           `json:"smsBlacklisted"`
	}
	if len(data) == 0 || json.Unmarshal(data, &w) != nil {
		return nil
	}
	var out []slog.Attr
	var obj map[string]json.RawMessage
	var list []json.RawMessage
	switch {
	case json.Unmarshal(w.Attributes, &obj) == nil && obj != nil:
		out = append(out, slog.Any("attributes", slices.Sorted(maps.Keys(obj))))
	case json.Unmarshal(w.Attributes, &list) == nil && list != nil:
		out = append(out, slog.Int("attributeCount", len(list)))
	}
	if w.ListIDs != nil {
		out = append(out, slog.Any("listIds", w.ListIDs))
	}
	if w.EmailBlacklisted != nil {
		out = append(out, slog.Bool("emailBlacklisted", *w.EmailBlacklisted))
	}
	if w.SMSBlacklisted != nil {
		out = append(out, slog.Bool("smsBlacklisted", *w.SMSBlacklisted))
	}
	if len(out) == 0 {
		return nil
	}
	return []slog.Attr{{Key: "response", Value: slog.GroupValue(out...)}}
}
