package normalize

import (
	"strings"
	"time"

	"synclayer"
)

// offsetless is the layout platforms such as WooCommerce use for UTC times
// (date_modified_gmt): RFC 3339 without the offset.
const offsetless = "2006-01-02T15:04:05"

// Time parses an RFC 3339 timestamp, or one without an offset
// ("2006-01-02T15:04:05", read as UTC), with optional fractional seconds, and
// returns it in UTC. Anything else is an EINVALID error without a Field; the
// caller knows which field it read.
func Time(s string) (time.Time, error) {
	s = strings.TrimSpace(s)
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		t, err = time.Parse(offsetless, s)
	}
	if err != nil {
		return time.Time{}, synclayer.Errorf(synclayer.EINVALID,
			"%q is not a timestamp: use RFC 3339, such as 2024-10-02T09:24:09-05:00 or 2024-10-02T14:24:09Z", clip(s))
	}
	t = t.UTC()
	if y := t.Year(); y < 1 || y > 9999 {
		return time.Time{}, synclayer.Errorf(synclayer.EINVALID, "%q is out of range: the year in UTC must be between 0001 and 9999", clip(s))
	}
	return t, nil
}
