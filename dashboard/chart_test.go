package dashboard

import (
	"encoding/xml"
	"io"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"synclayer"
)

// svgRect is a bar as the chart draws it.
type svgRect struct {
	Class  string  `xml:"class,attr"`
	Height float64 `xml:"height,attr"`
	Value  string  `xml:"data-value,attr"`
}

// parseChart decodes svg as XML, failing on any error, and returns its
// bars and its text.
func parseChart(t *testing.T, svg string) (bars []svgRect, text string) {
	t.Helper()
	dec := xml.NewDecoder(strings.NewReader(svg))
	dec.Strict = true
	var texts []string
	depth := 0
	for {
		tok, err := dec.Token()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatalf("the chart is not well-formed XML: %v\n%s", err, svg)
		}
		switch el := tok.(type) {
		case xml.StartElement:
			if depth == 0 && (el.Name.Local != "svg" || el.Name.Space != "http://www.w3.org/2000/svg") {
				t.Fatalf("root element %v, want svg in the SVG namespace", el.Name)
			}
			depth++
			if el.Name.Local == "rect" {
				var r svgRect
				if err := dec.DecodeElement(&r, &el); err != nil {
					t.Fatal(err)
				}
				depth--
				if strings.HasPrefix(r.Class, "bar ") && r.Value != "" {
					bars = append(bars, r)
				}
			}
		case xml.EndElement:
			depth--
		case xml.CharData:
			texts = append(texts, string(el))
		}
	}
	if depth != 0 {
		t.Fatalf("unbalanced elements: depth %d", depth)
	}
	return bars, strings.Join(texts, " ")
}

func TestChart(t *testing.T) {
	start := time.Date(2026, 11, 1, 12, 0, 0, 0, time.UTC)
	pts := []synclayer.StatsPoint{
		{Start: start, Delivered: 10, P95Latency: 200 * time.Millisecond},
		{Start: start.Add(5 * time.Minute), Delivered: 5, Retried: 1, Dead: 1, P95Latency: 2 * time.Second},
		{Start: start.Add(10 * time.Minute)},
		{Start: start.Add(15 * time.Minute), Delivered: 2, P95Latency: time.Second},
	}
	svg := string(chart(chartInput{ID: "c0", Skill: "customer-sync <&>", Window: "1 hour", Step: 5 * time.Minute,
		Until: start.Add(20 * time.Minute), Points: pts, Pending: 3}))
	bars, text := parseChart(t, svg)

	t.Run("BarsAreProportional", func(t *testing.T) {
		if len(bars) != 4 { // 10, 5 and 2 delivered; 2 failed
			t.Fatalf("%d bars, want 4: %+v", len(bars), bars)
		}
		unit := bars[0].Height / 10
		for _, b := range bars {
			v, _ := strconv.Atoi(b.Value)
			if got, want := b.Height, unit*float64(v); got < want-0.02 || got > want+0.02 {
				t.Errorf("%s bar of %d is %.2f high, want %.2f", b.Class, v, got, want)
			}
		}
		if bars[0].Class != "bar delivered" || bars[2].Class != "bar failed" || bars[2].Value != "2" {
			t.Errorf("bars: %+v", bars)
		}
	})
	t.Run("LabelsAndTooltips", func(t *testing.T) {
		for _, want := range []string{
			"Deliveries of customer-sync <&> per 5 minutes",
			"12:05–12:10: 5 delivered, 2 failed (1 retried, 1 dead), p95 latency 2.0 s",
			"12:10–12:15: 0 delivered, 0 failed",
			"queue now: 3 pending", "delivered", "failed", "p95 latency", "12:00", "now", "2.0 s",
		} {
			if !strings.Contains(text, want) {
				t.Errorf("the chart's text has no %q:\n%s", want, text)
			}
		}
		if !strings.Contains(svg, `role="img"`) || !strings.Contains(svg, `aria-labelledby="c0-t c0-d"`) {
			t.Error("the chart is not labelled for screen readers")
		}
		// The empty interval breaks the p95 line: a line of two points, then a dot.
		if strings.Count(svg, "<polyline") != 1 || strings.Count(svg, `<circle class="p95"`) != 1 {
			t.Errorf("p95 line: %d polylines, %d dots; want 1 and 1", strings.Count(svg, "<polyline"), strings.Count(svg, `<circle class="p95"`))
		}
	})
	t.Run("NoScriptNoStyle", func(t *testing.T) {
		if strings.Contains(svg, "<script") || strings.Contains(svg, "style=") || regexp.MustCompile(` on[a-z]+=`).MatchString(svg) {
			t.Errorf("the chart has script or inline style, which the CSP forbids:\n%s", svg)
		}
	})
	t.Run("Empty", func(t *testing.T) {
		empty := []synclayer.StatsPoint{{Start: start}, {Start: start.Add(time.Minute)}}
		svg := string(chart(chartInput{ID: "c1", Skill: "idle", Window: "15 minutes", Step: time.Minute, Points: empty}))
		bars, text := parseChart(t, svg)
		if len(bars) != 0 || !strings.Contains(text, "no deliveries in this window") || !strings.Contains(text, "queue now: 0 pending") {
			t.Errorf("empty chart: %d bars, text %q", len(bars), text)
		}
		if _, text := parseChart(t, string(chart(chartInput{ID: "c2", Skill: "none", Step: time.Minute}))); !strings.Contains(text, "no deliveries in this window") {
			t.Errorf("chart of no points: %q", text)
		}
	})
}
