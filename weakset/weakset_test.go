package weakset_test

import (
	"runtime"
	"testing"

	"synclayer/weakset"
)

// sync stands for a contact sync: a list and a mapping. (It holds a
// pointer, as a real one does: the runtime batches tiny pointer-free
// values into one block, which is then freed only as a whole.)
type sync struct {
	list    int
	mapping map[string]string
}

// TestSet: a value still in use is live; one nothing else holds is gone
// after a collection, so a long-running server does not keep every
// config it was ever given.
func TestSet(t *testing.T) {
	var s weakset.Set[sync]
	kept := &sync{list: 5}
	s.Add(kept)
	s.Add(&sync{list: 7}) // a dry run's throwaway
	runtime.GC()
	live := s.Live()
	if len(live) != 1 || live[0].list != 5 {
		t.Errorf("live %v, want only the one in use (list 5)", live)
	}
	runtime.KeepAlive(kept)
}
