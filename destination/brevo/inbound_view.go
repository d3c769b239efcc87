package brevo

import (
	"slices"
	"strings"
)

// inboundView is what a delivery is read against: the lists the contact
// syncs add opted-in contacts to, and each mapped Brevo attribute (upper
// case) with the canonical fields mapped to it.
type inboundView struct {
	lists  map[int64]bool
	fields map[string][]string
}

func (v inboundView) synced(lists []int64) bool {
	return slices.ContainsFunc(lists, func(id int64) bool { return v.lists[id] })
}

func (d *Destination) inboundView() inboundView {
	v := inboundView{lists: map[int64]bool{}, fields: map[string][]string{}}
	for _, s := range d.syncs.Live() {
		if s.ListID > 0 {
			v.lists[s.ListID] = true
		}
		for field, attr := range s.FieldMapping {
			if strings.EqualFold(attr, "email") {
				continue // the contact's identity, read from the delivery's email
			}
			a := strings.ToUpper(attr)
			if !slices.Contains(v.fields[a], field) {
				v.fields[a] = append(v.fields[a], field)
				slices.Sort(v.fields[a])
			}
		}
	}
	return v
}
