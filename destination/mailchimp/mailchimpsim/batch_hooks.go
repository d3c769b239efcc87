package mailchimpsim

import (
	"cmp"
	"slices"
)

// Test hooks for batches: how far Mailchimp has got with them.

// BatchInfo is a batch as the server holds it.
type BatchInfo struct {
	ID         string
	Status     string
	Operations []Operation
	Results    []Result // set once the operations ran
	Errored    int
}

// HoldBatches keeps every batch where it is (hold true): polls answer
// the same status until HoldBatches(false) or FinishBatches.
func (s *Server) HoldBatches(hold bool) { s.mu.Lock(); s.holdBatches = hold; s.mu.Unlock() }

// FinishBatches runs every unfinished batch to finished at once, held or
// not.
func (s *Server) FinishBatches() {
	s.mu.Lock()
	var open []*batch
	for _, b := range s.batches {
		if b.status != "finished" {
			open = append(open, b)
		}
	}
	s.mu.Unlock()
	for _, b := range open {
		for range batchSteps {
			s.step(b, true)
		}
	}
}

// ExpireBatchResults makes batch id's results link answer 403, as a
// storage link does once it has expired.
func (s *Server) ExpireBatchResults(id string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if b := s.batches[id]; b != nil {
		b.expired = true
	}
}

// Batches returns every batch submitted, in the order submitted.
func (s *Server) Batches() []BatchInfo {
	s.mu.Lock()
	defer s.mu.Unlock()
	var all []*batch
	for _, b := range s.batches {
		all = append(all, b)
	}
	slices.SortFunc(all, func(x, y *batch) int { return cmp.Compare(x.seq, y.seq) })
	out := make([]BatchInfo, len(all))
	for i, b := range all {
		out[i] = BatchInfo{ID: b.id, Status: b.status, Operations: slices.Clone(b.ops), Results: slices.Clone(b.results), Errored: b.errored}
	}
	return out
}
