package dashboard

import (
	"fmt"
	"net/http"
	"time"

	"synclayer"
)

// Connections are the configured sources and destinations, as the program
// knows them; the dashboard adds what the store knows.
type Connections struct {
	Sources      []Source
	Destinations []Destination
}

// Source is one configured webhook source.
type Source struct {
	Name, Type string
	// WebhookURL is where the platform sends: server.public_url, or else
	// the listen address, with /webhooks/<name>.
	WebhookURL string
	// WriteBackQueue is the queue of the opt-outs written back to the
	// platform (consent-writeback@<name>); "" when it takes none.
	WriteBackQueue string
}

// Destination is one configured destination.
type Destination struct {
	Name, Type string
	// CredentialsKey is the config key of its credentials
	// ("destinations.brevo.api_key").
	CredentialsKey string
	// Simulated is true when it has no credentials and runs the built-in
	// simulator.
	Simulated bool
	// Rejected is why the platform refuses the credentials now, naming
	// the key; nil while they are accepted or not yet checked.
	Rejected error
	// Budget reports the client's rate-limit budget; nil when its client
	// keeps none.
	Budget synclayer.RateBudgeter
	// Inbound is the path its webhook comes back to (/webhooks/<name>);
	// "" when it reports nothing back by webhook.
	Inbound string
	// ReconcileEvery is how often what changed on its side is read; 0
	// when it is not. LastReconciled is when a run last stored its
	// cursor; zero before the first.
	ReconcileEvery time.Duration
	LastReconciled time.Time
}

// silentAfter is how long a source may send nothing before the page flags it.
const silentAfter = 24 * time.Hour

type sourceRow struct {
	Source
	Last       time.Time // the newest event received; zero for none
	Silent     string    // "silent for 30 h", "no webhook received yet", or ""
	Rejects    int       // in the window
	LastReject *synclayer.Rejection
	// WriteBackPending and WriteBackDead count the write-back's jobs.
	WriteBackPending, WriteBackDead int
}

type destinationRow struct {
	Destination
	Budgets        []synclayer.RateBudget
	KeepsBudget    bool // its client reports budgets, though maybe none yet
	Pending, Dead  int
	Backlog        int // pending + dead jobs of its queues
	CredentialsBad string
}

type connectionsData struct {
	Window       synclayer.StatsWindow
	Windows      []windowLink
	Sources      []sourceRow
	Destinations []destinationRow
}

// handleConnections lists each source with its last webhook, the window's
// rejects and whether it has gone silent, and each destination with its
// credentials, rate-limit budget and backlog.
func (s *Server) handleConnections(w http.ResponseWriter, r *http.Request, req *request) {
	win, links, err := windowOf(r, "/ui/connections")
	if err != nil {
		s.fail(w, r, req, err)
		return
	}
	conns, err := s.cfg.Connections(r.Context())
	if err != nil {
		s.fail(w, r, req, err)
		return
	}
	now := s.cfg.Now()
	names := make([]string, len(conns.Sources))
	for i, src := range conns.Sources {
		names[i] = src.Name
	}
	last, err := s.cfg.Store.LastEventsReceived(r.Context(), names...)
	if err != nil {
		s.fail(w, r, req, err)
		return
	}
	rejects := map[string]*synclayer.RejectionSummary{}
	if s.cfg.Rejections != nil {
		sums, err := s.cfg.Rejections.SummarizeRejections(r.Context(), now.Add(-win.Duration))
		if err != nil {
			s.fail(w, r, req, err)
			return
		}
		for _, sum := range sums {
			rejects[sum.Source] = sum
		}
	}
	counts, err := s.cfg.Stats.CountJobsBySkill(r.Context())
	if err != nil {
		s.fail(w, r, req, err)
		return
	}
	d := connectionsData{Window: win, Windows: links}
	writeBacks := map[string]bool{}
	for _, src := range conns.Sources {
		if src.WriteBackQueue != "" {
			writeBacks[src.WriteBackQueue] = true
		}
		row := sourceRow{Source: src, Last: last[src.Name]}
		switch {
		case row.Last.IsZero():
			row.Silent = "no webhook received yet"
		case now.Sub(row.Last) > silentAfter:
			row.Silent = fmt.Sprintf("silent for %d h", int(now.Sub(row.Last).Hours()))
		}
		if sum := rejects[src.Name]; sum != nil {
			row.Rejects, row.LastReject = sum.Count, sum.Last
		}
		if q := src.WriteBackQueue; q != "" {
			row.WriteBackPending, row.WriteBackDead = counts[q][synclayer.JobPending], counts[q][synclayer.JobDead]
		}
		d.Sources = append(d.Sources, row)
	}

	for _, dst := range conns.Destinations {
		row := destinationRow{Destination: dst}
		if dst.Budget != nil {
			row.Budgets, row.KeepsBudget = dst.Budget.RateBudgets(), true
		}
		if dst.Rejected != nil {
			row.CredentialsBad = synclayer.ErrorMessage(dst.Rejected)
		}
		for queue, byState := range counts {
			if queue == synclayer.NotifySkill || writeBacks[queue] {
				continue // notifications go to their channels, write-backs to a source
			}
			if _, to, _ := synclayer.QueueParts(queue); to == dst.Name {
				row.Pending += byState[synclayer.JobPending]
				row.Dead += byState[synclayer.JobDead]
			}
		}
		row.Backlog = row.Pending + row.Dead
		d.Destinations = append(d.Destinations, row)
	}
	s.render(w, r, http.StatusOK, "connections.html", page{Title: "Connections", Active: "connections", Key: req.key, CSRF: req.csrf, Data: d})
}
