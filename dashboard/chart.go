package dashboard

import (
	"fmt"
	"html"
	"html/template"
	"strings"
	"time"

	"synclayer"
)

// The chart's drawing area, in viewBox units; CSS scales the whole to the
// card's width.
const (
	chartW, chartH = 400.0, 170.0
	plotL, plotR   = 30.0, 356.0 // counts on the left axis, p95 on the right
	plotT, plotB   = 26.0, 146.0
	chartEmpty     = "no deliveries in this window"
	chartBarShare  = 0.36 // of an interval's width, per bar
)

// chartInput is one skill's series over the window.
type chartInput struct {
	ID      string // unique on the page, for aria-labelledby
	Skill   string
	Window  string // "1 hour"
	Step    time.Duration
	Until   time.Time
	Points  []synclayer.StatsPoint
	Pending int // the queue now: its history is not kept
}

// chart draws in as inline SVG: per interval a bar of delivered attempts
// and one of failed attempts (retried and dead) on one scale, and the
// interval's p95 latency as a line on its own scale. Each interval has a
// <title> with its figures, for a tooltip and for screen readers, and the
// axes have text labels; a window with no attempt says so in words. It
// needs no script, and every attribute is a presentation attribute or a
// class, as the page's Content-Security-Policy allows no inline style.
func chart(in chartInput) template.HTML {
	var b strings.Builder
	esc := html.EscapeString
	var delivered, failed, maxCount int
	var maxP95 time.Duration
	for _, p := range in.Points {
		delivered, failed = delivered+p.Delivered, failed+p.Failed()
		maxCount = max(maxCount, p.Delivered, p.Failed())
		maxP95 = max(maxP95, p.P95Latency)
	}
	summary := fmt.Sprintf("%s over the last %s: %d delivered, %d failed", in.Skill, in.Window, delivered, failed)
	if maxP95 > 0 {
		summary += fmt.Sprintf(", p95 latency at most %s", duration(maxP95))
	}
	summary += fmt.Sprintf("; %d pending now.", in.Pending)
	fmt.Fprintf(&b, `<svg class="chart" xmlns="http://www.w3.org/2000/svg" viewBox="0 0 %g %g" preserveAspectRatio="xMidYMid meet" role="img" aria-labelledby="%s-t %s-d">`,
		chartW, chartH, esc(in.ID), esc(in.ID))
	fmt.Fprintf(&b, `<title id="%s-t">Deliveries of %s per %s</title><desc id="%s-d">%s</desc>`,
		esc(in.ID), esc(in.Skill), esc(stepLabel(in.Step)), esc(in.ID), esc(summary))

	// Legend.
	fmt.Fprintf(&b, `<g class="legend"><rect class="bar delivered" x="%g" y="4" width="9" height="9"/><text x="%g" y="12">delivered</text>`, plotL, plotL+13)
	fmt.Fprintf(&b, `<rect class="bar failed" x="%g" y="4" width="9" height="9"/><text x="%g" y="12">failed</text>`, plotL+80, plotL+93)
	fmt.Fprintf(&b, `<line class="p95" x1="%g" y1="8.5" x2="%g" y2="8.5"/><text x="%g" y="12">p95 latency</text></g>`, plotL+140, plotL+154, plotL+158)

	// Frame and axes.
	fmt.Fprintf(&b, `<line class="axis" x1="%g" y1="%g" x2="%g" y2="%g"/>`, plotL, plotB, plotR, plotB)
	if len(in.Points) > 0 {
		start, step := in.Points[0].Start, in.Step
		fmt.Fprintf(&b, `<text class="tick" x="%g" y="%g">%s</text>`, plotL, plotB+18, esc(timeLabel(start, step)))
		fmt.Fprintf(&b, `<text class="tick" x="%g" y="%g" text-anchor="end">now</text>`, plotR, plotB+18)
	}
	// Queue depth has no history: the figure now, under the chart.
	fmt.Fprintf(&b, `<text class="queue-now" x="%g" y="%g" text-anchor="middle">queue now: %d pending</text>`, (plotL+plotR)/2, plotB+18, in.Pending)
	if maxCount == 0 {
		fmt.Fprintf(&b, `<text class="empty" x="%g" y="%g" text-anchor="middle">%s</text></svg>`, (plotL+plotR)/2, (plotT+plotB)/2, chartEmpty)
		return template.HTML(b.String())
	}
	fmt.Fprintf(&b, `<text class="tick" x="%g" y="%g" text-anchor="end">%d</text>`, plotL-4, plotT+4, maxCount)
	fmt.Fprintf(&b, `<text class="tick" x="%g" y="%g" text-anchor="end">0</text>`, plotL-4, plotB)
	fmt.Fprintf(&b, `<line class="grid" x1="%g" y1="%g" x2="%g" y2="%g"/>`, plotL, plotT, plotR, plotT)
	if maxP95 > 0 {
		fmt.Fprintf(&b, `<text class="tick p95-tick" x="%g" y="%g">%s</text>`, plotR+3, plotT+4, esc(duration(maxP95)))
	}

	n := float64(len(in.Points))
	slot := (plotR - plotL) / n
	barW := slot * chartBarShare
	height := func(v int) float64 { return float64(v) / float64(maxCount) * (plotB - plotT) }
	// The p95 line runs through the intervals with deliveries; an interval
	// without any breaks it, and a lone point is a dot.
	var run []string
	var lines strings.Builder
	flush := func() {
		switch len(run) {
		case 0:
		case 1:
			x, y, _ := strings.Cut(run[0], ",")
			fmt.Fprintf(&lines, `<circle class="p95" cx="%s" cy="%s" r="2.5"/>`, x, y)
		default:
			fmt.Fprintf(&lines, `<polyline class="p95" points="%s"/>`, strings.Join(run, " "))
		}
		run = nil
	}
	for i, p := range in.Points {
		x := plotL + float64(i)*slot
		end := p.Start.Add(in.Step)
		if end.After(in.Until) && !in.Until.IsZero() {
			end = in.Until
		}
		tip := fmt.Sprintf("%s–%s: %d delivered, %d failed (%d retried, %d dead)", timeLabel(p.Start, in.Step), timeLabel(end, in.Step), p.Delivered, p.Failed(), p.Retried, p.Dead)
		if p.Delivered > 0 {
			tip += ", p95 latency " + duration(p.P95Latency)
		}
		fmt.Fprintf(&b, `<g class="interval"><title>%s</title><rect class="hit" x="%.1f" y="%g" width="%.1f" height="%g"/>`, esc(tip), x, plotT, slot, plotB-plotT)
		if h := height(p.Delivered); h > 0 {
			fmt.Fprintf(&b, `<rect class="bar delivered" x="%.1f" y="%.2f" width="%.1f" height="%.2f" data-value="%d"/>`, x+slot*0.12, plotB-h, barW, h, p.Delivered)
		}
		if h := height(p.Failed()); h > 0 {
			fmt.Fprintf(&b, `<rect class="bar failed" x="%.1f" y="%.2f" width="%.1f" height="%.2f" data-value="%d"/>`, x+slot*0.12+barW, plotB-h, barW, h, p.Failed())
		}
		b.WriteString(`</g>`)
		if p.Delivered > 0 && maxP95 > 0 {
			y := plotB - float64(p.P95Latency)/float64(maxP95)*(plotB-plotT)
			run = append(run, fmt.Sprintf("%.1f,%.1f", x+slot/2, y))
		} else {
			flush()
		}
	}
	flush()
	b.WriteString(lines.String())
	b.WriteString(`</svg>`)
	return template.HTML(b.String())
}

// timeLabel is t as the chart's axis and tooltips show it: the time of day
// for steps under 6 h, the day too for longer ones.
func timeLabel(t time.Time, step time.Duration) string {
	if step >= 6*time.Hour {
		return t.UTC().Format("Jan 2 15:04")
	}
	return t.UTC().Format("15:04")
}

func stepLabel(step time.Duration) string {
	switch {
	case step >= time.Hour && step%time.Hour == 0:
		if step == time.Hour {
			return "hour"
		}
		return fmt.Sprintf("%d hours", step/time.Hour)
	case step%time.Minute == 0:
		if step == time.Minute {
			return "minute"
		}
		return fmt.Sprintf("%d minutes", step/time.Minute)
	}
	return step.String()
}
