package mailchimp

import (
	"slices"
	"strings"
)

// inboundView is what a delivery is read against: for each audience a
// contact sync delivers to, each mapped merge tag (upper case) with the
// canonical fields mapped to it.
type inboundView struct {
	audiences map[string]map[string][]string
}

// synced reports whether a contact sync delivers to audience list.
func (v inboundView) synced(list string) bool { _, ok := v.audiences[list]; return ok }

// fields are the canonical fields merge tag maps back to in audience list.
func (v inboundView) fields(list, tag string) []string {
	return v.audiences[list][strings.ToUpper(tag)]
}

func (d *Destination) inboundView() inboundView {
	v := inboundView{audiences: map[string]map[string][]string{}}
	for _, s := range d.syncs.Live() {
		tags := v.audiences[s.audience]
		if tags == nil {
			tags = map[string][]string{}
			v.audiences[s.audience] = tags
		}
		for field, target := range s.mapping {
			if target == "email" || target == "tags" {
				continue // the member's identity, and Mailchimp tags: neither is a merge field
			}
			t := strings.ToUpper(target)
			if !slices.Contains(tags[t], field) {
				tags[t] = append(tags[t], field)
				slices.Sort(tags[t])
			}
		}
	}
	return v
}
