package mailchimp

import (
	"slices"
	"strings"
	"sync"
	"weak"
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
	for _, s := range d.syncs.live() {
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

// contactSyncs are the contact syncs built on a destination, held weakly:
// the program builds them again on every live config change, and dry runs
// build throwaway ones on the live destination, so a plain list would keep
// every audience and mapping ever configured until a restart. Once nothing
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
