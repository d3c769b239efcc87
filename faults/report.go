package faults

import (
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Report is everything one run measured and found.
type Report struct {
	Driver, Mode string
	Seed         uint64
	Elapsed      time.Duration

	Contacts, Events      int // generated
	Sends                 int // HTTP attempts, including retries and redeliveries
	Acked                 int // answered 2xx
	Unanswered, Status5xx int // attempts that got no answer or a 5xx, all retried
	Redeliveries          int // deliberate resends of an event with its webhook id
	Rejected              int // 4xx answers: the harness or synclayer is wrong
	FailedEvents          int // accepted with status "failed"
	GaveUp                int // events never acknowledged; their contacts are left out of the checks
	DedupeMisses          int // webhook ids answered "accepted" more than once
	FirstProblem          string

	Kills      int
	AimedKills int // kills while Brevo's answer to an applied consent change was held
	Recoveries []Recovery
	PGRestarts []time.Duration // downtime of each
	PGSkip     string

	Outage, OutageEach      time.Duration
	OutageModes             string
	OutageBacklog           int           // jobs pending or running when the outage ended
	DrainTime               time.Duration // from the outage's end until the queue was idle
	DrainRate               float64       // contacts delivered per second over DrainTime
	MaxDepthOutage          int
	MaxDepth                int
	Storm                   time.Duration
	StormLimit, Answered429 int
	StormWrites             int // contact writes Brevo applied during the storm
	StormDrain              time.Duration
	DeadJobs                int
	Undrained               string // set when the queue never went idle

	Findings
	Shop      ShopReport
	WriteBack WriteBackReport
}

// Recovery is what one kill -9 cost.
type Recovery struct {
	AtKill       int           // jobs pending or running when the process died
	Running      int           // of which running (their lease must expire first)
	Ready        time.Duration // restart until /readyz answered 200
	First        time.Duration // restart until the first at-kill job was delivered; -1: none
	FirstRunning time.Duration // the same for a job that was running; -1: none
	All          time.Duration // restart until every at-kill job was; -1: not within a minute
}

// Failed reports whether the promise was broken, or the run could not
// show that it was kept.
func (r *Report) Failed() bool {
	return r.Lost > 0 || r.Duplicated > 0 || r.Resubscribed > 0 || r.DedupeMisses > 0 || r.OwnedOverwrites > 0 ||
		r.Rejected > 0 || r.FailedEvents > 0 || r.GaveUp > 0 || r.Undrained != "" || r.Shop.Failed() || r.WriteBack.Failed()
}

// WriteText prints the report.
func (r *Report) WriteText(w io.Writer) {
	p := func(format string, args ...any) { fmt.Fprintf(w, format+"\n", args...) }
	verdict := "PASS"
	if r.Failed() {
		verdict = "FAIL"
	}
	p("synclayer faults: %s, %s mode, seed %d, %s: %s", r.Driver, r.Mode, r.Seed, r.Elapsed.Round(time.Second), verdict)
	p("  traffic:   %d contacts, %d events; %d sends, %d acknowledged (2xx), %d unanswered + %d 5xx retried, %d redeliveries",
		r.Contacts, r.Events, r.Sends, r.Acked, r.Unanswered, r.Status5xx, r.Redeliveries)
	p("  crashes:   %d kill -9 at random moments, %d aimed (while Brevo's answer to an applied consent change was in flight)", r.Kills, r.AimedKills)
	p("  recovery:  %s", r.recoverySummary())
	switch {
	case r.PGSkip != "":
		p("  postgres:  restart SKIPPED: %s", r.PGSkip)
	case len(r.PGRestarts) > 0:
		p("  postgres:  %d immediate restarts of the private cluster, down %s", len(r.PGRestarts), durations(r.PGRestarts))
	}
	p("  outage:    %s (%s, %s each): max queue depth %d; backlog %d jobs drained in %s = %.1f contacts/s",
		r.Outage, r.OutageModes, r.OutageEach, r.MaxDepthOutage, r.OutageBacklog, r.DrainTime.Round(time.Millisecond), r.DrainRate)
	p("  429 storm: %s at %d/s: %d contact writes applied, %d answers 429, drained %s after", r.Storm, r.StormLimit, r.StormWrites, r.Answered429, r.StormDrain.Round(time.Millisecond))
	p("  queue:     max depth %d (pending+running); %d dead-lettered", r.MaxDepth, r.DeadJobs)
	p("  result:    lost %d (fields %d, consent %d), duplicated %d, wrongly resubscribed %d, stale overwrites %d, dedupe misses %d, TOTAL_ORDERS set by a platform %d",
		r.Lost, r.LostFields, r.LostConsent, r.Duplicated, r.Resubscribed, r.StaleOverwrites, r.DedupeMisses, r.OwnedOverwrites)
	r.Shop.writeText(p)
	r.WriteBack.writeText(p, r.BrevoKept)
	if r.Rejected+r.FailedEvents+r.GaveUp > 0 || r.Undrained != "" {
		p("  problems:  %d rejected (4xx), %d events failed, %d never acknowledged; %s %s", r.Rejected, r.FailedEvents, r.GaveUp, r.Undrained, r.FirstProblem)
	}
	for _, d := range slices.Concat(r.Details, r.Shop.Details, r.WriteBack.Details) {
		p("    %s", d)
	}
}

func (s *ShopReport) writeText(p func(string, ...any)) {
	p("  orders:    %d acknowledged (%d of %s or more), %d webhooks about them; Slack: %d messages, %d in-doubt repeats, %d answered 503 and retried",
		s.Orders, s.HighOrders, highValue, s.OrderWebhooks, s.SlackMessages, s.InDoubtSlack, s.SlackRefused)
	p("  webhook:   %d deliveries processed, %d repeats of a webhook-id ignored (%d with no fault between)", s.HookDeliveries, s.HookRepeats, s.HookRepeatsNoFault)
	p("  carts:     %d (%s); %d abandonments wanted, %d cart_abandoned events, %d in-doubt repeats; %d late conversions (%d sent); %d waits had a fault in them",
		s.Carts, s.CartKinds, s.Abandonments, s.CartEvents, s.InDoubtEvents, s.LateConversions, s.LateSent, s.WaitsAcrossFaults)
	p("  aimed:     %d kill with answers held (%s); %d done jobs replayed from the dead-letter queue, %d sent again; %d orders or carts undetermined",
		s.AimedKills, s.AimedHeld, s.Replayed, s.ReplaySent, s.Undetermined)
	p("  actions:   Slack lost %d, duplicated %d, unwanted %d; webhook lost %d, duplicated %d, unwanted %d, forged %d; cart events lost %d, duplicated %d, unwanted %d",
		s.SlackLost, s.SlackDuplicated, s.SlackUnwanted, s.HookLost, s.HookDuplicated, s.HookUnwanted, s.HookForged, s.EventsLost, s.EventsDuplicated, s.EventsUnwanted)
	for _, n := range s.Notes {
		p("    note: %s", n)
	}
}

// writeText prints the write-back's lines; kept is Findings.BrevoKept.
func (s *WriteBackReport) writeText(p func(string, ...any), kept int) {
	p("  brevo:     %d opt-outs made in Brevo sent (%s), %d acknowledged, %d redelivered, %d with a kill or restart during or within %s of their delivery; %d skipped (not in Brevo in time)",
		s.BrevoSent, strings.Join(s.BrevoKinds, ", "), s.BrevoAcked, s.BrevoRedelivered, s.BrevoNearFaults, nearFault, s.BrevoSkipped)
	p("             then %d stale owner opt-ins acknowledged (must lift nothing); %d contacts opted in again by a newer one, %d of them still blocked by Brevo itself",
		s.StaleOptIns, s.ReOptIns, kept)
	p("  shopify:   %d write-backs expected, %d done; %d opt-outs written, %d in-doubt repeats; %d aimed kill; %d Admin calls (%d 429, %d THROTTLED, %d 5xx, %d unanswered); %d echoes sent (%d acknowledged, %d more in a quiet queue); %d done jobs replayed, %d wrote again",
		s.Expected, s.Done, s.Written, s.InDoubt, s.AimedKills, s.Calls, s.Answered429, s.Throttled, s.Status5xx, s.Unanswered, s.Echoes, s.EchoesAcked,
		s.QuietEchoes, s.Replayed, s.ReplayWrote)
	p("  writeback: lost %d, written SUBSCRIBED %d, duplicated %d, unwanted %d, echoes that changed something %d; store consent unlike the model's %d",
		s.Lost, s.Subscribed, s.Duplicated, s.Unwanted, s.EchoChanged, s.ConsentWrong)
	for _, n := range s.Notes {
		p("    note: %s", n)
	}
}

func (r *Report) recoverySummary() string {
	if len(r.Recoveries) == 0 {
		return "n/a"
	}
	var ready, first, running, all []time.Duration
	atKill := 0
	for _, x := range r.Recoveries {
		ready = append(ready, x.Ready)
		atKill += x.AtKill
		for _, d := range []struct {
			v   time.Duration
			out *[]time.Duration
		}{{x.First, &first}, {x.FirstRunning, &running}, {x.All, &all}} {
			if d.v >= 0 {
				*d.out = append(*d.out, d.v)
			}
		}
	}
	return fmt.Sprintf("restart → first delivery of a job pending or running at the kill %s, of a running one %s, of all %s; /readyz after %s; %d jobs at %d kills",
		spread(first), spread(running), spread(all), spread(ready), atKill, len(r.Recoveries))
}

// spread prints min / median / max.
func spread(d []time.Duration) string {
	if len(d) == 0 {
		return "n/a"
	}
	s := slices.Clone(d)
	slices.Sort(s)
	return fmt.Sprintf("min %s med %s max %s", short(s[0]), short(s[len(s)/2]), short(s[len(s)-1]))
}

func durations(d []time.Duration) string {
	parts := make([]string, len(d))
	for i, x := range d {
		parts[i] = short(x)
	}
	return strings.Join(parts, ", ")
}

func short(d time.Duration) string {
	if d < time.Second {
		return d.Round(time.Millisecond).String()
	}
	return d.Round(10 * time.Millisecond).String()
}

// mark is a fault the harness injected, for histories.
type mark struct {
	at   time.Time
	text string
}

// history is what happened to one contact, in time order: each webhook
// acknowledged (with its consent claim), each contact write Brevo got (with
// its answer), each consent write Shopify got, and the faults injected
// meanwhile, so that a finding can be traced to its cause.
func history(email string, m *Model, writes []Write, admin []AdminWrite, marks []mark) []string {
	var lines []mark
	customer := ""
	for _, ev := range m.Acked() {
		if emailOf(ev.Contact) != email {
			continue
		}
		customer = strconv.FormatInt(shopifyID(ev.Contact), 10)
		claim := ""
		if c := ev.Consent; c != nil {
			claim = fmt.Sprintf(" consent %s@%s owner=%v", c.State, c.At.Format("15:04"), c.Owner)
		}
		lines = append(lines, mark{m.AckedAt(ev), fmt.Sprintf("webhook %s %s v%d%s", ev.Source, ev.Topic, ev.Version, claim)})
	}
	ext := map[string]bool{}
	for _, w := range writes {
		if w.Email == email {
			ext[w.ExtID] = true
		}
	}
	for _, w := range writes {
		if w.Email != email && !ext[w.ExtID] {
			continue
		}
		answer := fmt.Sprint(w.Status)
		if w.Applied != 0 {
			answer = fmt.Sprintf("%d, answer lost", w.Applied)
		}
		lines = append(lines, mark{w.At, fmt.Sprintf("brevo %s → %s %s", w.Method, answer, w.Body)})
	}
	for _, w := range admin {
		if w.CustomerID == customer && customer != "" {
			lines = append(lines, mark{w.At, fmt.Sprintf("shopify %s %s at %s → %d %s applied=%v", w.Op, w.State, clock(w.ConsentAt), w.Status, w.Code, w.Applied)})
		}
	}
	if len(lines) == 0 {
		return nil
	}
	// A fault is shown when one of the contact's lines follows it within
	// 10 s, which is as far as it could be the cause.
	own := slices.Clone(lines)
	for _, k := range marks {
		if slices.ContainsFunc(own, func(l mark) bool { return !l.at.Before(k.at) && l.at.Sub(k.at) < 10*time.Second }) {
			lines = append(lines, mark{k.at, "harness: " + k.text})
		}
	}
	slices.SortStableFunc(lines, func(a, b mark) int { return a.at.Compare(b.at) })
	out := make([]string, len(lines))
	for i, l := range lines {
		out[i] = "  " + l.at.Format("15:04:05.000") + " " + l.text
	}
	return out
}
