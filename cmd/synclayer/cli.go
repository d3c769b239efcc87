package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"slices"
)

const usage = `synclayer: a self-hosted customer data sync layer

Usage:
  synclayer serve            [--config FILE]   run the server (webhooks, queue, deliveries)
  synclayer config validate  [--config FILE]   check a config file without starting anything
  synclayer config history   [--config FILE]   list the configuration versions applied
  synclayer config show N    [--config FILE]   print version N's config (secrets as ${VAR} or [REDACTED])
  synclayer config diff A B  [--config FILE]   the keys that differ between versions A and B
  synclayer config rollback N [--config FILE]  record version N's skills as the newest version;
                                               running servers apply it within 5 s
  synclayer plan --sample DIR [--json] [--source NAME] [--config FILE]
                                               dry run: what the config would send for sample records,
                                               against a copy of the current state; touches nothing live
  synclayer trigger SKILL --event EVENT --data JSON [--config FILE]
                                               push one event through the pipeline, as a webhook would
  synclayer backfill SKILL --file export.csv|.jsonl [--no-push] [--restart] [--as-of TIME] [--config FILE]
                                               load a platform export into the store, then push it to
                                               Brevo in batches; resumes where an interrupted run stopped
  synclayer resync SKILL     [--config FILE]   push the skill's whole canonical state to Brevo in batches
  synclayer dlq list         [--config FILE]   list dead-lettered deliveries
  synclayer dlq retry ID...|--all [--config FILE]
                                               put dead-lettered deliveries back in the queue
  synclayer keys create --role admin|operator|viewer [--name NAME] [--config FILE]
                                               create an admin API key; prints it once, on the last line
  synclayer keys list        [--config FILE]   list API keys (never their secrets)
  synclayer keys revoke ID   [--config FILE]   revoke a key; it stops working at once
  synclayer version

Without --config, ./synclayer.yaml is used when it exists, else the built-in
defaults (SQLite under ./data, the built-in Brevo simulator). Every command
takes --env NAME to overlay environments.NAME of the config file.
`

// version is set at build time with -ldflags "-X main.version=...".
var version = "dev"

func run(ctx context.Context, args []string) error {
	if len(args) > 0 && (args[0] == "backfill" || args[0] == "resync") {
		limitMemory() // the process runs this one command (backfill.go)
	}
	return runIO(ctx, args, os.Stdout, os.Stderr)
}

func runIO(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return errors.New("no command given")
	}
	switch cmd, rest := args[0], args[1:]; cmd {
	case "serve":
		return cmdServe(ctx, rest, stderr)
	case "config":
		return cmdConfig(ctx, rest, stdout)
	case "plan":
		return cmdPlan(ctx, rest, stdout)
	case "trigger":
		return cmdTrigger(ctx, rest, stdout)
	case "backfill":
		return cmdBackfill(ctx, rest, stdout, stderr)
	case "resync":
		return cmdResync(ctx, rest, stdout, stderr)
	case "dlq":
		return cmdDLQ(ctx, rest, stdout)
	case "keys":
		return cmdKeys(ctx, rest, stdout)
	case "version":
		fmt.Fprintln(stdout, "synclayer", version)
		return nil
	case "help", "-h", "--help":
		fmt.Fprint(stdout, usage)
		return nil
	default:
		fmt.Fprint(stderr, usage)
		return fmt.Errorf("unknown command %q", cmd)
	}
}

// configSource is where a command's config comes from: --config and --env.
type configSource struct{ path, env string }

func (s configSource) load() (*Config, error) { return LoadConfig(s.path, s.env) }

// parseFlags returns a flag set with --config and --env, parsing args
// with flags allowed before and after positional arguments.
func parseFlags(name string, args []string, setup func(*flag.FlagSet)) (fs *flag.FlagSet, src configSource, positional []string, err error) {
	fs = flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	fs.StringVar(&src.path, "config", "", "config file")
	fs.StringVar(&src.env, "env", "", "environment under environments: to overlay")
	if setup != nil {
		setup(fs)
	}
	for {
		if err := fs.Parse(args); err != nil {
			return nil, configSource{}, nil, fmt.Errorf("%s: %w", name, err)
		}
		args = fs.Args()
		if len(args) == 0 {
			return fs, src, positional, nil
		}
		positional = append(positional, args[0])
		args = args[1:]
	}
}

func cmdServe(ctx context.Context, args []string, stderr io.Writer) error {
	_, src, _, err := parseFlags("serve", args, nil)
	if err != nil {
		return err
	}
	cfg, err := src.load()
	if err != nil {
		return err
	}
	m := &Main{Config: cfg, Stderr: stderr}
	if err := m.Run(ctx); err != nil {
		return err
	}
	<-ctx.Done()
	m.Logger.Info("shutting down; deliveries in flight finish first")
	return m.Close()
}

func jsonEncode(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

func sortedNames[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}
