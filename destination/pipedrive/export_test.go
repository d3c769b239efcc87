package pipedrive

import "time"

// SetClaimTimes shortens d's claim ttl, wait and poll (shared.go) for a
// test.
func SetClaimTimes(d *Destination, ttl, wait, poll time.Duration) {
	d.client.claimTTL, d.client.claimWait, d.client.claimPoll = ttl, wait, poll
}
