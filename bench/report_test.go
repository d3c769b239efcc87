package main

import (
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
