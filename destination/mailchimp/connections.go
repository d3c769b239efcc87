package mailchimp

import (
	"context"
	"crypto/sha256"
	"strconv"
	"sync"
	"time"
)

// slots is a counting semaphore of connection slots for one API key.
// Mailchimp counts simultaneous connections per key, so every Client of
// this process that uses the key shares one (slotsFor): two destinations
// configured with the same key cannot together exceed the limit.
type slots struct{ ch chan struct{} }

var (
	slotsMu sync.Mutex
	slotsBy = map[[32]byte]*slots{}
)

// slotsFor returns the shared slots of key, created with max slots on
// first use. The key is held only as a hash.
func slotsFor(key string, max int) *slots {
	id := sha256.Sum256([]byte(key + "\x00" + strconv.Itoa(max)))
	slotsMu.Lock()
	defer slotsMu.Unlock()
	s := slotsBy[id]
	if s == nil {
		s = &slots{ch: make(chan struct{}, max)}
		slotsBy[id] = s
	}
	return s
}

// acquire takes a slot, waiting while all are busy, and returns how long
// it waited (0 when a slot was free).
func (s *slots) acquire(ctx context.Context) (time.Duration, error) {
	select {
	case s.ch <- struct{}{}:
		return 0, nil
	default:
	}
	start := time.Now()
	select {
	case s.ch <- struct{}{}:
		return time.Since(start), nil
	case <-ctx.Done():
		return 0, ctx.Err()
	}
}

func (s *slots) release() { <-s.ch }
