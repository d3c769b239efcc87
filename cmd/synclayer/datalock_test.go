package main

import (
	"context"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"synclayer/destination/brevo/brevosim"
)

// TestServe_SecondServerOnOneSQLiteFileIsRefused reproduces the trap of a
// second `serve` (a file with only server.listen) against the quick
// start's ./data: it used to record its config as the newest version, and
// the first server then turned customer-sync off. Now the second is
// refused, naming the first, and the first keeps syncing.
func TestServe_SecondServerOnOneSQLiteFileIsRefused(t *testing.T) {
	t.Parallel()
	e := startEnv(t, brevosim.Options{})

	cfg, err := ParseConfig([]byte("server:\n  listen: 127.0.0.1:0\nstorage:\n  dsn: "+e.m.Config.Storage.DSN+"\n"), "")
	if err != nil {
		t.Fatal(err)
	}
	second := &Main{Config: cfg, Stderr: &syncWriter{w: new(strings.Builder)}}
	err = second.Run(context.Background())
	if err == nil {
		second.Close()
		t.Fatal("a second server on the same SQLite file started")
	}
	for _, want := range []string{"storage.dsn", "already in use", "pid " + strconv.Itoa(os.Getpid()), e.m.Addr, "PostgreSQL"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("refusal %q does not say %q", err, want)
		}
	}

	if status, reply := e.shopify("customers/create", shopifyCustomer(9101, "still.synced@example.com", "Stella", 1, "", 0)); status != 200 {
		t.Fatalf("webhook to the first server: %d %v", status, reply)
	}
	e.waitIdle(10 * time.Second)
	e.contact("still.synced@example.com")
	if strings.Contains(e.logs.String(), "applied a config version recorded elsewhere") {
		t.Error("the first server applied a config from the refused second one")
	}

	// Once the first stops, the file is free again.
	e.m.Close()
	third := &Main{Config: cfg, Stderr: &syncWriter{w: new(strings.Builder)}}
	if err := third.Run(context.Background()); err != nil {
		t.Fatalf("after the first server stopped: %v", err)
	}
	third.Close()
}
