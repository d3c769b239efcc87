package brevotest

import (
	"math"
	"net/http"
	"strconv"
	"time"
)

// writeRateHeaders sets the x-sib-ratelimit-* headers. With count it also
// counts the request in the current window and reports whether it is
// within the limit; a refused request is not counted.
func (s *Server) writeRateHeaders(w http.ResponseWriter, count bool) bool {
	s.mu.Lock()
	now := s.now()
	if end := s.windowStart.Add(time.Second); !now.Before(end) {
		s.windowStart, s.windowCount = now.Truncate(time.Second), 0
	}
	limit := s.rateLimit
	if limit <= 0 {
		limit = unlimited
	}
	ok := s.windowCount < limit
	if count && ok {
		s.windowCount++
	}
	remaining := max(limit-s.windowCount, 0)
	reset := int(math.Ceil(s.windowStart.Add(time.Second).Sub(now).Seconds()))
	s.mu.Unlock()

	h := w.Header()
	h.Set("x-sib-ratelimit-limit", strconv.Itoa(limit))
	h.Set("x-sib-ratelimit-remaining", strconv.Itoa(remaining))
	h.Set("x-sib-ratelimit-reset", strconv.Itoa(reset))
	return ok
}
