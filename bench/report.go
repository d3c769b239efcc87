package main

import (
	"encoding/json"
	"fmt"
	"io"
	"math"
	"slices"
	"time"
)

// report is everything the bench prints.
type report struct {
	Driver    string  `json:"driver"`
	Cores     int     `json:"cores"`
	Clients   int     `json:"clients"`
	Burst     phase   `json:"burst"`
	Paced     *phase  `json:"paced,omitempty"`
	PeakMiB   float64 `json:"server_vmhwm_mib"`
	RSSMiB    float64 `json:"server_vmrss_mib"`
	ServerCPU float64 `json:"server_cpu_seconds"`
	BenchCPU  float64 `json:"bench_cpu_seconds"` // load generator and simulator

	Orders   *orderPhase  `json:"orders,omitempty"`
	Requests *requestsRun `json:"requests,omitempty"` // --requests runs alone
	// Instances is --instances's run, which runs alone.
	Instances *instancesRun `json:"instances,omitempty"`
	// BackfillAPI is --backfill-api's run, which runs alone.
	BackfillAPI *backfillAPIRun `json:"backfill_api,omitempty"`
	Backfills   []*backfillRun  `json:"backfills,omitempty"`
}

// orderPhase is the burst of signed orders/create webhooks.
type orderPhase struct {
	Webhooks          int     `json:"webhooks"`
	Accepted          int     `json:"accepted"`
	Non200            int     `json:"non_200"`
	Errors            int     `json:"transport_errors"`
	AcceptedPerSecond float64 `json:"accepted_per_second"`
}

// phase is one run of webhooks: the saturated burst or the paced one.
type phase struct {
	Webhooks          int           `json:"webhooks"`
	Rate              float64       `json:"rate_per_second,omitempty"` // 0: as fast as accepted
	Accepted          int           `json:"accepted"`
	Non200            int           `json:"non_200"`
	Errors            int           `json:"transport_errors"`
	Missing           int           `json:"missing_in_brevo"` // accepted but not in Brevo by --timeout
	AcceptedPerSecond float64       `json:"accepted_per_second"`
	Send              time.Duration `json:"-"`
	Delivered         time.Duration `json:"-"` // first send to the last arrival in Brevo
	Latency           latency       `json:"-"`
}

// MarshalJSON writes durations as seconds, which a reader need not decode.
func (p phase) MarshalJSON() ([]byte, error) {
	type plain phase
	return json.Marshal(struct {
		plain
		SendSeconds      float64 `json:"send_seconds"`
		DeliveredSeconds float64 `json:"all_in_brevo_seconds"`
		P50              float64 `json:"latency_p50_seconds"`
		P99              float64 `json:"latency_p99_seconds"`
		Max              float64 `json:"latency_max_seconds"`
	}{plain(p), p.Send.Seconds(), p.Delivered.Seconds(), p.Latency.P50.Seconds(), p.Latency.P99.Seconds(), p.Latency.Max.Seconds()})
}

// latency is the event-to-Brevo distribution: from a webhook's send to its
// contact's first POST /contacts arriving at the simulator.
type latency struct{ P50, P99, Max time.Duration }

// summarize returns nearest-rank percentiles, so each figure is a latency
// some contact actually had.
func summarize(d []time.Duration) latency {
	if len(d) == 0 {
		return latency{}
	}
	s := slices.Clone(d)
	slices.Sort(s)
	rank := func(p float64) time.Duration {
		i := int(math.Ceil(p/100*float64(len(s)))) - 1
		return s[max(i, 0)]
	}
	return latency{P50: rank(50), P99: rank(99), Max: s[len(s)-1]}
}

func (r *report) writeJSON(w io.Writer) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(r)
}

func (r *report) writeText(w io.Writer) error {
	if r.Requests != nil {
		fmt.Fprintf(w, "synclayer bench (%s, %d cores)\n", r.Driver, r.Cores)
		r.Requests.print(w)
		return nil
	}
	if r.Instances != nil {
		fmt.Fprintf(w, "synclayer bench (%s, %d cores)\n", r.Driver, r.Cores)
		r.Instances.print(w)
		return nil
	}
	if r.BackfillAPI != nil {
		fmt.Fprintf(w, "synclayer bench (%s, %d cores)\n", r.Driver, r.Cores)
		r.BackfillAPI.print(w)
		return nil
	}
	b := r.Burst
	lines := []string{
		fmt.Sprintf("synclayer bench (%s, %d cores)", r.Driver, r.Cores),
		fmt.Sprintf("ingest:   %d webhooks, %d clients: %.0f accepted/s (%d non-200, %d errors)",
			b.Webhooks, r.Clients, b.AcceptedPerSecond, b.Non200, b.Errors),
		b.delivery(),
		"latency (saturated burst):   " + b.Latency.String(),
	}
	if p := r.Paced; p != nil {
		lines = append(lines, fmt.Sprintf("latency (%g/s paced, %d):%s%s", p.Rate, p.Webhooks, pad(p), p.Latency))
		if p.Non200+p.Errors+p.Missing > 0 {
			lines = append(lines, fmt.Sprintf("          paced run: %d non-200, %d errors, %d not in Brevo by --timeout", p.Non200, p.Errors, p.Missing))
		}
	}
	lines = append(lines,
		fmt.Sprintf("server peak memory (VmHWM): %.1f MiB (VmRSS at end %.1f MiB)", r.PeakMiB, r.RSSMiB),
		fmt.Sprintf("cpu: server %.1f s, bench load generator + Brevo simulator %.1f s", r.ServerCPU, r.BenchCPU))
	if o := r.Orders; o != nil {
		lines = append(lines, fmt.Sprintf("orders:   %d orders/create webhooks, %d clients: %.0f accepted/s (%d non-200, %d errors)",
			o.Webhooks, r.Clients, o.AcceptedPerSecond, o.Non200, o.Errors))
	}
	for _, b := range r.Backfills {
		lines = append(lines, fmt.Sprintf("backfill: %d contacts, Shopify CSV to Brevo imports, in %.1f s: %.0f contacts/s, %d import calls, peak memory (VmHWM) %.1f MiB",
			b.Contacts, b.Seconds, b.ContactsPerSecond, b.Imports, b.PeakMiB))
	}
	for _, l := range lines {
		if _, err := fmt.Fprintln(w, l); err != nil {
			return err
		}
	}
	return nil
}

func (p phase) delivery() string {
	if p.Missing > 0 {
		return fmt.Sprintf("delivery: INCOMPLETE: %d of %d contacts in Brevo by --timeout, the last %s after the first webhook (sending took %s)",
			p.Accepted-p.Missing, p.Accepted, seconds(p.Delivered), seconds(p.Send))
	}
	return fmt.Sprintf("delivery: all %d contacts in Brevo %s after the first webhook (sending took %s)",
		p.Accepted, seconds(p.Delivered), seconds(p.Send))
}

func (r *report) incomplete() bool {
	return r.Burst.Missing > 0 || (r.Paced != nil && r.Paced.Missing > 0)
}

// pad aligns the paced latency line with the burst one.
func pad(p *phase) string {
	n := 29 - len(fmt.Sprintf("latency (%g/s paced, %d):", p.Rate, p.Webhooks))
	return fmt.Sprintf("%*s", max(n, 1), "")
}

func (l latency) String() string {
	return fmt.Sprintf("p50 %s  p99 %s  max %s", short(l.P50), short(l.P99), short(l.Max))
}

func seconds(d time.Duration) string { return fmt.Sprintf("%.1f s", d.Seconds()) }

// short prints milliseconds under a second and seconds above.
func short(d time.Duration) string {
	if d < time.Second {
		return fmt.Sprintf("%.1f ms", float64(d)/float64(time.Millisecond))
	}
	return seconds(d)
}
