package queue_test

import (
	"errors"
	"testing"
	"time"

	"synclayer"
	"synclayer/queue"
)

// TestDelay: a failure backs off exponentially up to the cap; a rate
// limit waits what it asks, spread a little, and does not grow with the
// job's attempts, so a backlog held by a limit drains at the limit's pace
// rather than at ever longer backoffs.
func TestDelay(t *testing.T) {
	fail := errors.New("503")
	for attempt, want := range map[int]time.Duration{1: time.Second, 4: 8 * time.Second, 20: 5 * time.Minute} {
		d := queue.Delay(attempt, time.Second, 5*time.Minute, fail)
		if d < want/2 || d > want {
			t.Errorf("attempt %d after a failure: %s, want within [%s, %s]", attempt, d, want/2, want)
		}
	}
	limited := synclayer.Throttled(fail, 2*time.Second)
	for _, attempt := range []int{1, 10, 30} {
		d := queue.Delay(attempt, time.Second, 5*time.Minute, limited)
		if d < 2*time.Second || d > 3*time.Second {
			t.Errorf("attempt %d after a 2 s rate limit: %s, want within [2s, 3s]", attempt, d)
		}
	}
	// Any other RetryAfter (a contact not there yet) is a floor: the
	// backoff still grows past it.
	notYet := synclayer.RetryAfter(fail, 30*time.Second)
	if d := queue.Delay(1, time.Second, 5*time.Minute, notYet); d < 30*time.Second || d > 31*time.Second {
		t.Errorf("attempt 1 after a 30 s RetryAfter: %s, want about 30 s", d)
	}
	if d := queue.Delay(12, time.Second, 5*time.Minute, notYet); d < 150*time.Second {
		t.Errorf("attempt 12 after a 30 s RetryAfter: %s, want the backoff (2.5 to 5 min)", d)
	}
}
