package main

import (
	"cmp"
	"context"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"time"

	"synclayer"
)

// defaultCheckPoll is how often a destination that failed its check at
// start is checked again.
const defaultCheckPoll = 10 * time.Second

// readiness is what /readyz reports beyond storage: that shutdown has
// begun, and which destinations in use reject their credentials. The
// destinations' checks (skills.go, commerce.go) report to it.
type readiness struct {
	mu       sync.Mutex
	closing  bool
	rejected map[string]*synclayer.Error // destination name → why, naming its key
}

// ready is the server's readiness probe: 503 once shutdown has begun,
// while storage does not answer, and while a destination in use answers
// its check with 401 or 403.
func (m *Main) ready(ctx context.Context) error {
	m.readiness.mu.Lock()
	closing := m.readiness.closing
	var rejected []*synclayer.Error
	for _, name := range sortedNames(m.readiness.rejected) {
		rejected = append(rejected, m.readiness.rejected[name])
	}
	m.readiness.mu.Unlock()
	if closing {
		return synclayer.Errorf(synclayer.ECONFLICT, "shutting down")
	}
	if err := m.DB.Ping(ctx); err != nil {
		return err
	}
	switch len(rejected) {
	case 0:
		return nil
	case 1:
		return rejected[0]
	}
	msgs, fields := make([]string, len(rejected)), make([]string, len(rejected))
	for i, e := range rejected {
		msgs[i], fields[i] = e.Message, e.Field
	}
	return &synclayer.Error{Code: synclayer.EUNAUTHORIZED, Message: strings.Join(msgs, "; "), Field: strings.Join(fields, ", ")}
}

// rejectedCredentials returns why destination name's platform refuses its
// key, naming the key, as /readyz reports it; nil while the key is
// accepted or has not been checked. It is the dashboard's view of
// readiness and changes nothing.
func (m *Main) rejectedCredentials(name string) *synclayer.Error {
	m.readiness.mu.Lock()
	defer m.readiness.mu.Unlock()
	return m.readiness.rejected[name]
}

// shuttingDown makes /readyz answer 503 from now on, so a load balancer
// stops sending traffic while deliveries in flight finish.
func (m *Main) shuttingDown() {
	m.readiness.mu.Lock()
	m.readiness.closing = true
	m.readiness.mu.Unlock()
}

// checkPoll is how often a destination's failed check is tried again.
func (m *Main) checkPoll() time.Duration { return cmp.Or(m.CheckPoll, defaultCheckPoll) }

// destinationChecked records the outcome of checking destination name
// (err nil when the check passed). A 401 or 403 is a key the platform
// rejects: /readyz answers 503 naming the key until a check passes, and it
// is logged at ERROR the first time, at DEBUG after, and at INFO once it
// passes again. It reports whether err was that, so the caller need not log
// it again.
func (m *Main) destinationChecked(name string, err error) (credentials bool) {
	key := "destinations." + name + ".api_key"
	platform := name
	if d, ok := m.destinations[name]; ok {
		platform = platformName(d.Type())
	}
	status := synclayer.HTTPStatus(err)
	r := &m.readiness
	r.mu.Lock()
	_, was := r.rejected[name]
	switch {
	case status == http.StatusUnauthorized || status == http.StatusForbidden:
		if r.rejected == nil {
			r.rejected = map[string]*synclayer.Error{}
		}
		msg := fmt.Sprintf("%s rejected by %s (%d): check the key", key, platform, status)
		r.rejected[name] = &synclayer.Error{Code: synclayer.EUNAUTHORIZED, Message: msg, Field: key}
		r.mu.Unlock()
		level := m.Logger.Error
		if was {
			level = m.Logger.Debug
		}
		level(msg+"; webhooks are accepted and queued, deliveries start once the key is accepted", "destination", name, "status", status)
		return true
	case err == nil && was:
		delete(r.rejected, name)
		r.mu.Unlock()
		m.Logger.Info(key+" accepted by "+platform+" again; deliveries resume", "destination", name)
		return false
	}
	r.mu.Unlock()
	return false
}

// platformName is a destination type as its vendor spells it.
func platformName(typ string) string {
	names := map[string]string{"brevo": "Brevo", "klaviyo": "Klaviyo", "mailchimp": "Mailchimp"}
	if n, ok := names[typ]; ok {
		return n
	}
	return typ
}
