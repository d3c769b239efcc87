package main

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"synclayer"
	"synclayer/store"
)

func TestRetention_Config(t *testing.T) {
	for _, tc := range []struct {
		name, doc string
		want      time.Duration
		warning   string
	}{
		{"Default", "storage:\n  driver: sqlite\n", 90 * day, ""},
		{"Off", "storage:\n  retention: off\n", 0, ""},
		{"Zero", "storage:\n  retention: 0\n", 0, ""},
		{"False", "storage:\n  retention: false\n", 0, ""}, // YAML 1.1's off
		{"Days", "storage:\n  retention: 30d\n", 30 * day, "line 2: storage.retention: 30d is shorter than a month: the monthly health report counts only"},
		{"DaysAndHours", "storage:\n  retention: 40d12h\n", 40*day + 12*time.Hour, ""},
		{"Hours", "storage:\n  retention: 2160h\n", 90 * day, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg, err := ParseConfig([]byte(tc.doc), "")
			if err != nil {
				t.Fatal(err)
			}
			if cfg.Storage.retention != tc.want {
				t.Errorf("retention %s, want %s", cfg.Storage.retention, tc.want)
			}
			warned := strings.Join(cfg.warnings, "\n")
			if (tc.warning == "") != (warned == "") || !strings.Contains(warned, tc.warning) {
				t.Errorf("warnings %q, want %q", cfg.warnings, tc.warning)
			}
		})
	}
	for _, tc := range []struct{ name, env, doc, want string }{
		{"Bad", "", "server:\n  listen: 127.0.0.1:0\nstorage:\n  retention: forever\n", `line 4: storage.retention: "forever" is not a duration; write it like 90d or 720h, or off to keep everything`},
		{"TooShort", "", "storage:\n  retention: 3d\n", `line 2: storage.retention: "3d" is too short: an event's dedupe key is pruned with it`},
		{"Negative", "", "storage:\n  retention: -90d\n", `line 2: storage.retention: "-90d" is too short`},
		{"InEnvironment", "prod", "environments:\n  prod:\n    storage:\n      retention: 1w\n", `line 4: storage.retention: "1w" is not a duration`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := ParseConfig([]byte(tc.doc), tc.env)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("err %v, want %q", err, tc.want)
			}
		})
	}
	// Every duration in the config takes days now.
	cfg, err := ParseConfig([]byte("queue:\n  max_age: 2d\n"), "")
	if err != nil || cfg.Queue.MaxAge != 2*day {
		t.Errorf("queue.max_age: 2d: %v, %v; want 48h", cfg.Queue.MaxAge, err)
	}
}

func TestParseDurationText(t *testing.T) {
	for in, want := range map[string]time.Duration{"90d": 90 * day, "1d12h": 36 * time.Hour, "0d": 0, "-2d": -2 * day, "5m": 5 * time.Minute, "1h30m": 90 * time.Minute} {
		if got, err := parseDurationText(in); err != nil || got != want {
			t.Errorf("%s: %s, %v; want %s", in, got, err, want)
		}
	}
	for _, in := range []string{"d", "1.5d", "1d-2h", "1dd", "9999999999999d", "1w", ""} {
		if got, err := parseDurationText(in); err == nil {
			t.Errorf("%s: %s, want an error", in, got)
		}
	}
}

// TestRetention_Prune runs Main's prune against a real store: the events
// and trace entries older than the retention go, in batches, and the
// newer ones and the contact stay; with retention off nothing goes.
func TestRetention_Prune(t *testing.T) {
	ctx := context.Background()
	db, err := store.Open(ctx, "sqlite", filepath.Join(t.TempDir(), "synclayer.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	now := time.Date(2026, 12, 1, 12, 0, 0, 0, time.UTC)
	c := &synclayer.Contact{Email: "ann@example.com", SourceIDs: map[string]string{"shopify": "1"}, UpdatedAt: now}
	if err := db.Tx(ctx, func(tx synclayer.Tx) error { return tx.SaveContact(ctx, c) }); err != nil {
		t.Fatal(err)
	}
	const old = 2*pruneBatch + 5 // three batches
	if err := db.Tx(ctx, func(tx synclayer.Tx) error {
		for i := range old + 3 {
			at := now.Add(-100*day + time.Duration(i)*time.Second)
			if i >= old {
				at = now.Add(-time.Duration(i) * time.Minute) // within the retention
			}
			ev := &synclayer.Event{Source: "shopify", DedupeKey: fmt.Sprint(i), Topic: "customers/update", Type: synclayer.EventCustomerUpdated,
				OccurredAt: at, ReceivedAt: at, ContactID: c.ID}
			if err := tx.InsertEvent(ctx, ev); err != nil {
				return err
			}
			ev.Status = synclayer.EventApplied
			if err := tx.UpdateEvent(ctx, ev); err != nil {
				return err
			}
			if err := tx.AppendTrace(ctx, &synclayer.TraceEntry{ContactID: c.ID, At: at, Kind: synclayer.TraceEvent, EventID: ev.ID, Summary: "updated from shopify"}); err != nil {
				return err
			}
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}

	var logs bytes.Buffer
	m := &Main{Config: &Config{}, DB: db, Logger: slog.New(slog.NewTextHandler(&logs, nil))}
	if ev, tr, err := m.prune(ctx, now); err != nil || ev != 0 || tr != 0 {
		t.Fatalf("retention off: pruned %d events, %d trace entries, %v; want none", ev, tr, err)
	}
	m.Config.Storage.retention = DefaultRetention
	ev, tr, err := m.prune(ctx, now)
	if err != nil || ev != old || tr != old {
		t.Fatalf("pruned %d events, %d trace entries, %v; want %d of each", ev, tr, err, old)
	}
	if n, err := db.CountEvents(ctx, synclayer.EventFilter{}); err != nil || n != 3 {
		t.Errorf("events left: %d, %v; want 3", n, err)
	}
	trace, err := db.Trace(ctx, c.ID)
	if err != nil || len(trace) != 3 {
		t.Errorf("trace left: %d entries, %v; want 3", len(trace), err)
	}
	if got, err := db.FindContactByID(ctx, c.ID); err != nil || got.Email != "ann@example.com" {
		t.Errorf("contact after the prune: %+v, %v", got, err)
	}
	if want := fmt.Sprintf("msg=pruned events=%d trace=%d", old, old); !strings.Contains(logs.String(), want) {
		t.Errorf("log: %s; want %q", logs.String(), want)
	}
}
