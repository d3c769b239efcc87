// Command synclayer runs the sync layer and its operator commands.
package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"
)

// main exits 0 on success, 2 for a usage error and 1 for any other
// failure (see report).
func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := report(os.Stderr, run(ctx, os.Args[1:]))
	stop()
	os.Exit(code)
}
