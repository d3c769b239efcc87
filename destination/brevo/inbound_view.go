package brevo

import (
	"slices"
	"strings"
	"sync"
	"weak"
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
	for _, s := range d.syncs.live() {
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

// contactSyncs are the contact syncs built on a destination, held weakly:
// the program builds them again on every live config change, and dry runs
// build throwaway ones on the live destination, so a plain list would keep
// every list ID and mapping ever configured until a restart. Once nothing
// uses one, the garbage collector drops it from here too.
type contactSyncs struct {
	mu   sync.Mutex
	refs []weak.Pointer[ContactSync]
}

func (c *contactSyncs) add(s *ContactSync) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.prune()
	c.refs = append(c.refs, weak.Make(s))
}

// live returns the contact syncs still in use.
func (c *contactSyncs) live() []*ContactSync {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.prune()
	out := make([]*ContactSync, 0, len(c.refs))
	for _, r := range c.refs {
		if s := r.Value(); s != nil {
			out = append(out, s)
		}
	}
	return out
}

func (c *contactSyncs) prune() {
	c.refs = slices.DeleteFunc(c.refs, func(r weak.Pointer[ContactSync]) bool { return r.Value() == nil })
}
