package notify

import (
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	"synclayer"
)

// ReportDue is when a period's report is sent: 08:00 UTC on the first day
// of the next period (Monday for a week, the 1st for a month).
const ReportDue = 8 * time.Hour

// ReportGrace is how long after it is due a report is still sent, so a
// server down at 08:00 sends it when it is back, and one started
// mid-month does not send last month's.
const ReportGrace = 3 * 24 * time.Hour

// PeriodStart returns the start of the period of p holding t: the
// Monday 00:00 UTC of its ISO week, or the 1st of its month.
func PeriodStart(p synclayer.ReportPeriod, t time.Time) time.Time {
	t = t.UTC()
	d := time.Date(t.Year(), t.Month(), t.Day(), 0, 0, 0, 0, time.UTC)
	if p == synclayer.ReportMonth {
		return d.AddDate(0, 0, 1-d.Day())
	}
	return d.AddDate(0, 0, -((int(d.Weekday()) + 6) % 7))
}

// PeriodKey names the period of p starting at start: 2026-W49, 2026-12.
func PeriodKey(p synclayer.ReportPeriod, start time.Time) string {
	if p == synclayer.ReportMonth {
		return start.Format("2006-01")
	}
	y, w := start.ISOWeek()
	return fmt.Sprintf("%d-W%02d", y, w)
}

func periodEnd(p synclayer.ReportPeriod, start time.Time) time.Time {
	if p == synclayer.ReportMonth {
		return start.AddDate(0, 1, 0)
	}
	return start.AddDate(0, 0, 7)
}

// BuildReport computes the health report of the period of p that starts
// at start, up to its end or now if sooner, over sources' traffic.
// Delivery skills are listed except notify; failures are ranked by count
// with values masked (MaskValues), the top 10 kept; a source is silent
// when it sent nothing in the 24 hours before now.
func BuildReport(ctx context.Context, rs synclayer.ReportStore, p synclayer.ReportPeriod, start, now time.Time, sources []string) (*synclayer.HealthReport, error) {
	to := periodEnd(p, start)
	f, err := rs.HealthFigures(ctx, start, minTime(to, now), now, sources)
	if err != nil {
		return nil, err
	}
	r := &synclayer.HealthReport{Period: p, Key: PeriodKey(p, start), From: start, To: to, CoveredFrom: f.CoveredFrom,
		MergesBy: map[string]int{}, ConflictsBy: map[string]int{}, Skills: []synclayer.SkillHealth{}, Failures: []synclayer.FailureCount{},
		Consent: []synclayer.ConsentCount{}, Sources: []synclayer.SourceHealth{}}
	for _, sk := range slices.Sorted(maps.Keys(f.Skills)) {
		st := f.Skills[sk]
		if sk == synclayer.NotifySkill {
			continue
		}
		h := synclayer.SkillHealth{Skill: sk, Delivered: st.Delivered, Retried: st.Retried, Dead: st.Dead, SuccessRate: -1,
			P95Latency: st.P95Latency, P95LatencyMS: st.P95Latency.Milliseconds(), Pending: st.Pending, OldestPending: st.OldestPending}
		if fin := st.Delivered + st.Dead; fin > 0 {
			h.SuccessRate = float64(st.Delivered) / float64(fin)
		}
		r.Skills = append(r.Skills, h)
	}
	byReason := map[synclayer.FailureCount]int{}
	for _, fc := range f.Failures {
		if fc.Name == synclayer.NotifySkill {
			continue
		}
		byReason[synclayer.FailureCount{Stage: fc.Stage, Name: fc.Name, Reason: clip(MaskValues(fc.Reason))}] += fc.Count
	}
	for k, c := range byReason {
		k.Count = c
		r.Failures = append(r.Failures, k)
	}
	slices.SortFunc(r.Failures, func(a, b synclayer.FailureCount) int {
		return cmp.Or(b.Count-a.Count, strings.Compare(a.Stage, b.Stage), strings.Compare(a.Name, b.Name), strings.Compare(a.Reason, b.Reason))
	})
	r.Failures = r.Failures[:min(len(r.Failures), 10)]
	for src, c := range f.Tallies[synclayer.TallyMerge] {
		r.Merges += c
		r.MergesBy[src] = c
	}
	for src, c := range f.Tallies[synclayer.TallyConflict] {
		r.Conflicts += c
		r.ConflictsBy[src] = c
	}
	consent := map[string]*synclayer.ConsentCount{}
	for _, kind := range []synclayer.Tally{synclayer.TallyOptIn, synclayer.TallyOptOut} {
		for src, c := range f.Tallies[kind] {
			if consent[src] == nil {
				consent[src] = &synclayer.ConsentCount{Source: src}
			}
			if kind == synclayer.TallyOptIn {
				consent[src].OptIns += c
			} else {
				consent[src].OptOuts += c
			}
		}
	}
	for _, src := range slices.Sorted(maps.Keys(consent)) {
		r.Consent = append(r.Consent, *consent[src])
	}
	for _, sf := range f.Sources {
		r.Sources = append(r.Sources, synclayer.SourceHealth{Source: sf.Source, Events: sf.Events, LastReceivedAt: sf.LastReceivedAt,
			Silent: sf.LastReceivedAt.IsZero() || now.Sub(sf.LastReceivedAt) > 24*time.Hour})
	}
	return r, nil
}

// SendReports makes the health reports that are due (ReportDue, within
// ReportGrace) and not yet made: for each, a key report:<weekly|monthly>:<period>
// is added in the transaction that stores its notifications, so of
// several notifiers on one database exactly one makes them.
func (n *Notifier) SendReports(ctx context.Context) error {
	if n.cfg.Figures == nil || !n.cfg.Webhook && !n.cfg.Slack {
		return nil
	}
	now := n.cfg.Now()
	for _, p := range n.cfg.Reports {
		cur := PeriodStart(p, now)
		due := cur.Add(ReportDue)
		if now.Before(due) || !now.Before(due.Add(ReportGrace)) {
			continue
		}
		start := PeriodStart(p, cur.Add(-time.Nanosecond))
		key := "report:" + reportName(p) + ":" + PeriodKey(p, start)
		if n.sent[key] {
			continue
		}
		r, err := BuildReport(ctx, n.cfg.Figures, p, start, now, n.cfg.Sources)
		if err != nil {
			return err
		}
		err = n.cfg.Store.NotificationTx(ctx, func(tx synclayer.NotificationTx) error {
			added, err := tx.AddKey(ctx, key, due)
			if err != nil || !added {
				return err
			}
			return n.addReport(ctx, tx, r, due)
		})
		if err != nil {
			return err
		}
		n.sent[key] = true
	}
	return nil
}

func reportName(p synclayer.ReportPeriod) string {
	if p == synclayer.ReportMonth {
		return "monthly"
	}
	return "weekly"
}

func (n *Notifier) addReport(ctx context.Context, tx synclayer.NotificationTx, r *synclayer.HealthReport, at time.Time) error {
	id := "report_" + reportName(r.Period) + "_" + r.Key
	if n.cfg.Webhook {
		body, err := json.Marshal(struct {
			Type      synclayer.NotificationType `json:"type"`
			Timestamp time.Time                  `json:"timestamp"`
			Data      *synclayer.HealthReport    `json:"data"`
		}{synclayer.NotifyHealthReport, at.UTC(), r})
		if err != nil {
			return err
		}
		if _, err := tx.AddNotification(ctx, &synclayer.Notification{ID: "msg_health_" + id, Channel: synclayer.ChannelWebhook,
			Type: synclayer.NotifyHealthReport, Body: body, CreatedAt: at}); err != nil {
			return err
		}
	}
	if n.cfg.Slack {
		if _, err := tx.AddNotification(ctx, &synclayer.Notification{ID: "slack_health_" + id, Channel: synclayer.ChannelSlack,
			Type: synclayer.NotifyHealthReport, Body: reportText(r), CreatedAt: at}); err != nil {
			return err
		}
	}
	return nil
}

// reportText is the report as a compact Slack message.
func reportText(r *synclayer.HealthReport) json.RawMessage {
	var b strings.Builder
	fmt.Fprintf(&b, "*synclayer %s health report %s* (%s to %s)\n", reportName(r.Period), r.Key,
		r.From.Format("Jan 2"), r.To.Add(-time.Nanosecond).Format("Jan 2"))
	for _, s := range r.Skills {
		rate := "no finished delivery"
		if s.SuccessRate >= 0 {
			rate = fmt.Sprintf("%.1f%% of %d finished deliveries arrived", 100*s.SuccessRate, s.Delivered+s.Dead)
		}
		fmt.Fprintf(&b, "• %s: %s, %d dead-lettered, p95 latency %s, %d pending now\n", s.Skill, rate, s.Dead, s.P95Latency.Round(time.Millisecond), s.Pending)
	}
	for i, f := range r.Failures[:min(len(r.Failures), 3)] {
		if i == 0 {
			b.WriteString("• Top failures:")
		}
		fmt.Fprintf(&b, " %d× %s %s: %s;", f.Count, f.Stage, f.Name, clip(f.Reason))
	}
	if len(r.Failures) > 0 {
		b.WriteString("\n")
	}
	in, out := 0, 0
	for _, c := range r.Consent {
		in, out = in+c.OptIns, out+c.OptOuts
	}
	fmt.Fprintf(&b, "• Duplicates merged: %d · opt-ins: %d · opt-outs: %d\n", r.Merges, in, out)
	if r.Conflicts > 0 {
		var by []string
		for _, src := range slices.Sorted(maps.Keys(r.ConflictsBy)) {
			by = append(by, fmt.Sprintf("%s %d", src, r.ConflictsBy[src]))
		}
		fmt.Fprintf(&b, "• Changes refused because another system owns the field: %d (%s)\n", r.Conflicts, strings.Join(by, ", "))
	}
	var silent []string
	for _, s := range r.Sources {
		if s.Silent {
			silent = append(silent, s.Source)
		}
	}
	if len(silent) > 0 {
		fmt.Fprintf(&b, "• Silent for over 24 h: %s\n", strings.Join(silent, ", "))
	}
	fmt.Fprintf(&b, "The full report is on the dashboard: /ui/report?period=%s&prev=1", r.Period)
	return slackBody(b.String())
}

func minTime(a, b time.Time) time.Time {
	if a.Before(b) {
		return a
	}
	return b
}
