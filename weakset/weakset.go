// Package weakset holds values weakly: a destination keeps sight of the
// contact syncs built on it (their lists and mappings, which its webhook
// needs to read deliveries), but the program builds them again on every
// live config change and dry runs build throwaway ones, so a plain list
// would keep every one ever configured until a restart. Once nothing else
// uses one, the garbage collector drops it from the set too.
package weakset

import (
	"slices"
	"sync"
	"weak"
)

// Set is a set of weakly held *T. The zero value is empty and ready; it
// is safe for concurrent use.
type Set[T any] struct {
	mu   sync.Mutex
	refs []weak.Pointer[T]
}

// Add holds v, weakly.
func (s *Set[T]) Add(v *T) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.prune()
	s.refs = append(s.refs, weak.Make(v))
}

// Live returns the values still in use, in the order they were added.
func (s *Set[T]) Live() []*T {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.prune()
	out := make([]*T, 0, len(s.refs))
	for _, r := range s.refs {
		if v := r.Value(); v != nil {
			out = append(out, v)
		}
	}
	return out
}

func (s *Set[T]) prune() {
	s.refs = slices.DeleteFunc(s.refs, func(r weak.Pointer[T]) bool { return r.Value() == nil })
}
