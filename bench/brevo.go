package main

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"strings"
	"sync"
	"time"

	"synclayer/destination/brevo/brevosim"
)

// callHistory is how many calls brevosim keeps; the tracker polls often
// enough that none fall out of it unseen, and counts a gap if one might.
const callHistory = 10000

// simulator is the Brevo stand-in, served from this process on a real
// socket so the server's Brevo client pays for HTTP as it would against
// Brevo, and with no rate limit so Brevo is never the limit.
type simulator struct {
	*brevosim.Server
	http *http.Server
	url  string

	mu        sync.Mutex
	first     map[string]time.Time // email → arrival of its first POST /contacts
	watermark time.Time            // newest call seen by the last poll
	gapCount  int
}

func startSimulator(apiKey string) (*simulator, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	s := &simulator{Server: brevosim.New(brevosim.Options{APIKey: apiKey}), first: map[string]time.Time{}}
	s.http = &http.Server{Handler: s.Server, ReadHeaderTimeout: 10 * time.Second}
	s.url = "http://" + ln.Addr().String() + "/v3"
	go func() { _ = s.http.Serve(ln) }()
	return s, nil
}

func (s *simulator) close() { _ = s.http.Close() }

// track polls the call history until ctx ends. brevosim keeps only the
// last 10,000 calls, fewer than a default run makes, so the first arrival
// of each email is collected as the run goes.
func (s *simulator) track(ctx context.Context) {
	t := time.NewTicker(200 * time.Millisecond)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			s.poll()
		}
	}
}

func (s *simulator) poll() {
	calls := s.Calls()
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(calls) >= callHistory && !s.watermark.IsZero() && calls[0].At.After(s.watermark) {
		s.gapCount++
	}
	// Calls are stamped just before they are appended, so arrival order and
	// At can disagree slightly; re-reading a short overlap covers that.
	cut := s.watermark.Add(-100 * time.Millisecond)
	for _, c := range calls {
		if c.At.After(s.watermark) {
			s.watermark = c.At
		}
		if c.Method != http.MethodPost || c.Path != "/contacts" || c.At.Before(cut) {
			continue
		}
		var body struct {
			Email string `json:"email"`
		}
		if json.Unmarshal(c.Body, &body) != nil || body.Email == "" {
			continue
		}
		email := strings.ToLower(body.Email)
		if old, ok := s.first[email]; !ok || c.At.Before(old) {
			s.first[email] = c.At
		}
	}
}

func (s *simulator) firstPost(email string) time.Time {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.first[email]
}

func (s *simulator) gaps() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.gapCount
}

// waitFor returns when every email has been POSTed and exists as a
// contact, or when timeout passes, with the latest first arrival and how
// many are still missing. Contacts() copies every contact, so it is
// checked only once the arrivals say it can pass. Only an interrupt is an
// error: a timeout is a result worth printing.
func (s *simulator) waitFor(ctx context.Context, emails []string, timeout time.Duration) (last time.Time, missing int, err error) {
	deadline, lastReport := time.Now().Add(timeout), time.Now()
	for {
		s.poll()
		last, missing = s.arrivals(emails)
		if missing == 0 {
			have := map[string]bool{}
			for _, c := range s.Contacts() {
				have[c.Email] = true
			}
			for _, e := range emails {
				if !have[e] {
					missing++
				}
			}
			if missing == 0 {
				return last, 0, nil
			}
		}
		if time.Now().After(deadline) {
			progress(fmt.Sprintf("%d of %d contacts not in Brevo after %s (--timeout)", missing, len(emails), timeout))
			return last, missing, nil
		}
		if time.Since(lastReport) >= 10*time.Second {
			progress(fmt.Sprintf("%d of %d contacts in Brevo", len(emails)-missing, len(emails)))
			lastReport = time.Now()
		}
		select {
		case <-ctx.Done():
			return time.Time{}, 0, ctx.Err()
		case <-time.After(250 * time.Millisecond):
		}
	}
}

// arrivals returns the latest first POST among emails and how many have none.
func (s *simulator) arrivals(emails []string) (last time.Time, missing int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, e := range emails {
		at, ok := s.first[e]
		if !ok {
			missing++
		} else if at.After(last) {
			last = at
		}
	}
	return last, missing
}
