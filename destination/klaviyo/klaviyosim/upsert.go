package klaviyosim

import (
	"encoding/json"
	"slices"
	"strings"
)

// upsert is a parsed profile-import body. In strs, location and
// properties a nil value clears; keys left out stay as they are.
type upsert struct {
	ids           map[string]string // email, phone_number, external_id sent non-null
	strs          map[string]*string
	clearLocation bool
	location      map[string]any
	properties    map[string]any
	clearProps    bool
	unset         []string
}

// parseUpsert checks the attributes as Klaviyo does: the spec's attribute
// names only (custom data goes in properties, which takes any name),
// strings where the spec says string, a valid email and an E.164 phone.
func parseUpsert(b upsertBody) (*upsert, *apiError) {
	u := &upsert{ids: map[string]string{}, strs: map[string]*string{}}
	for k, raw := range b.Data.Attributes {
		ptr := "/data/attributes/" + k
		switch {
		case k == "email" || k == "phone_number" || k == "external_id" || k == "_kx" || slices.Contains(stringAttrs, k):
			var v *string
			if err := json.Unmarshal(raw, &v); err != nil {
				return nil, invalid(k+" must be a string or null.", ptr)
			}
			if v != nil && k == "email" && !validEmail(*v) {
				return nil, invalid("Invalid email address.", ptr)
			}
			if v != nil && k == "phone_number" && !e164.MatchString(*v) {
				return nil, invalid("Invalid phone number format (Example of a valid format: +12345678901).", ptr)
			}
			if v != nil && (k == "email" || k == "phone_number" || k == "external_id") {
				u.ids[k] = *v
			}
			u.strs[k] = v
		case k == "location":
			var loc map[string]json.RawMessage
			if err := json.Unmarshal(raw, &loc); err != nil {
				return nil, invalid("location must be an object or null.", ptr)
			}
			if loc == nil {
				u.clearLocation = true
				continue
			}
			u.location = map[string]any{}
			for lk, lv := range loc {
				if !slices.Contains(locationKeys, lk) {
					return nil, invalid("'"+lk+"' is not a valid location field.", ptr+"/"+lk)
				}
				var v any
				_ = json.Unmarshal(lv, &v)
				u.location[lk] = v
			}
		case k == "properties":
			if err := json.Unmarshal(raw, &u.properties); err != nil {
				return nil, invalid("properties must be an object or null.", ptr)
			}
			u.clearProps = u.properties == nil
		default:
			return nil, invalid("'"+k+"' is not a valid field for the resource 'profile'.", ptr)
		}
	}
	if m := b.Data.Meta; m != nil && m.PatchProperties != nil && len(m.PatchProperties.Unset) > 0 {
		var one string
		if json.Unmarshal(m.PatchProperties.Unset, &one) == nil {
			u.unset = []string{one}
		} else if err := json.Unmarshal(m.PatchProperties.Unset, &u.unset); err != nil {
			return nil, invalid("unset must be a property name or a list of them.", "/data/meta/patch_properties/unset")
		}
	}
	return u, nil
}

func (u *upsert) apply(p *Profile) {
	for k, v := range u.strs {
		val := ""
		if v != nil {
			val = *v
		}
		switch k {
		case "email":
			p.Email = val
		case "phone_number":
			p.PhoneNumber = val
		case "external_id":
			p.ExternalID = val
		case "_kx":
		default:
			if v == nil {
				delete(p.Attributes, k)
			} else {
				p.Attributes[k] = val
			}
		}
	}
	if u.clearLocation {
		p.Location = map[string]any{}
	}
	for k, v := range u.location {
		if v == nil {
			delete(p.Location, k)
		} else {
			p.Location[k] = v
		}
	}
	if u.clearProps {
		p.Properties = map[string]any{}
	}
	for k, v := range u.properties {
		p.Properties[k] = v
	}
	for _, k := range u.unset {
		delete(p.Properties, strings.TrimSpace(k))
	}
}

// resource renders p as a profile resource object; s.mu is held.
func (s *Server) resource(p *Profile, subscriptions bool) map[string]any {
	attrs := map[string]any{
		"email": nullable(p.Email), "phone_number": nullable(p.PhoneNumber), "external_id": nullable(p.ExternalID),
		"created": timestamp(p.Created), "updated": timestamp(p.Updated), "last_event_date": timestamp(p.LastEvent),
	}
	for _, k := range stringAttrs {
		attrs[k] = nullable(p.Attributes[k])
	}
	loc := map[string]any{}
	for _, k := range locationKeys {
		loc[k] = p.Location[k]
	}
	attrs["location"] = loc
	props := map[string]any{}
	for k, v := range p.Properties {
		props[k] = v
	}
	attrs["properties"] = props
	if subscriptions {
		attrs["subscriptions"] = s.subscriptions(p)
	}
	return map[string]any{"type": "profile", "id": p.ID, "attributes": attrs,
		"links": map[string]any{"self": "/api/profiles/" + p.ID}}
}

func (s *Server) subscriptions(p *Profile) map[string]any {
	sup := []any{}
	for _, x := range p.Suppressions {
		sup = append(sup, map[string]any{"reason": x.Reason, "timestamp": timestamp(x.At)})
	}
	lsup := []any{}
	for _, x := range p.ListSuppressions {
		lsup = append(lsup, map[string]any{"list_id": x.ListID, "reason": x.Reason, "timestamp": timestamp(x.At)})
	}
	return map[string]any{"email": map[string]any{"marketing": map[string]any{
		"can_receive_email_marketing": len(p.Suppressions) == 0,
		"consent":                     p.EmailConsent,
		"consent_timestamp":           timestamp(p.ConsentAt),
		"last_updated":                timestamp(p.ConsentAt),
		"method":                      nullable(p.ConsentMethod),
		"method_detail":               "",
		"suppression":                 sup,
		"list_suppressions":           lsup,
	}}}
}

func nullable(s string) any {
	if s == "" {
		return nil
	}
	return s
}
