package main

import (
	"strings"
	"testing"
	"time"
)

func TestSummarize(t *testing.T) {
	ms := func(n ...int) []time.Duration {
		var out []time.Duration
		for _, v := range n {
			out = append(out, time.Duration(v)*time.Millisecond)
		}
		return out
	}
	// 1..100 ms in reverse order: nearest rank gives p50 = 50 and p99 = 99.
	var hundred []int
	for i := 100; i >= 1; i-- {
		hundred = append(hundred, i)
	}
	for _, tc := range []struct {
		name          string
		in            []time.Duration
		p50, p99, max time.Duration
	}{
		{"Empty", nil, 0, 0, 0},
		{"One", ms(7), 7 * time.Millisecond, 7 * time.Millisecond, 7 * time.Millisecond},
		{"Hundred", ms(hundred...), 50 * time.Millisecond, 99 * time.Millisecond, 100 * time.Millisecond},
		{"TailDominatesP99", ms(1, 1, 1, 1, 1, 1, 1, 1, 1, 1000), time.Millisecond, time.Second, time.Second},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := summarize(tc.in)
			if got.P50 != tc.p50 || got.P99 != tc.p99 || got.Max != tc.max {
				t.Errorf("summarize = %+v, want p50 %v p99 %v max %v", got, tc.p50, tc.p99, tc.max)
			}
		})
	}
}

func TestInstancesTable(t *testing.T) {
	r := &instancesRun{Webhooks: 6000, Clients: 32, LeaseSeconds: 5, Runs: []instanceRun{
		{Instances: 1, Killed: -1, AcceptedPerSecond: 800, DeliveredPerSec: 450, Shares: []int{6000}},
		{Instances: 2, Killed: 1, AcceptedPerSecond: 810, DeliveredPerSec: 440, Retries: 120, Shares: []int{4500, 1500},
			KilledAcked: 1400, KilledFinishedByOthers: 300, KilledDoneSeconds: 5.4, AllDoneAfterKill: 6.1, Redone: 2},
	}}
	var b strings.Builder
	r.print(&b)
	lines := strings.Split(strings.TrimSpace(b.String()), "\n")
	if len(lines) != 5 {
		t.Fatalf("got %d lines, want a title, a header, two runs and the legend:\n%s", len(lines), b.String())
	}
	for i, want := range []string{
		"instances: 6000 webhooks, 32 clients, round-robin; queue.lease 5.0 s",
		"instances   acks/s  delivered/s  retries  contact writes each",
		"1              800          450        0  100%                        0    0  —",
		"2              810          440      120  75% 25%†                    0    0  its 1400 acked: 300 written by others, the last in Brevo 5.4 s after; all 6.1 s after; 2 rewritten",
	} {
		if !strings.HasPrefix(lines[i], want) {
			t.Errorf("line %d:\n got %q\nwant %q…", i, lines[i], want)
		}
	}
	if r.failed() {
		t.Error("failed() with no loss, duplicate or refusal")
	}
	r.Runs[1].Lost = 1
	if !r.failed() {
		t.Error("not failed() with a lost contact")
	}
}
