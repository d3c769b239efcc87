package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"runtime/debug"
	"slices"
	"strings"
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
  synclayer replay --since TIME [--until TIME] [--skill SKILL] [--source NAME] [--dry-run] [--config FILE]
                                               queue again the contacts that the events received in a
                                               time range touched, through the current config (TIME is
                                               RFC 3339 or a duration ago: 24h, 7d); consent holds and
                                               contacts a destination holds unchanged are skipped
  synclayer dlq list         [--config FILE]   list dead-lettered deliveries
  synclayer dlq retry ID...|--all [--skill SKILL] [--config FILE]
                                               put dead-lettered deliveries back in the queue
                                               (--all: every one, however many)
  synclayer keys create --role admin|operator|viewer [--name NAME] [--config FILE]
                                               create an admin API key; prints it once, on the last line
  synclayer keys list        [--config FILE]   list API keys (never their secrets)
  synclayer keys revoke ID   [--config FILE]   revoke a key; it stops working at once
  synclayer sources register [NAME] [--json] [--config FILE]
                                               create or update the webhook subscriptions the skills
                                               need at server.public_url/webhooks/NAME (Shopify with
                                               admin:, BigCommerce, WooCommerce with api:; no NAME: all)
  synclayer sources check [NAME] [--json] [--config FILE]
                                               compare them with what is registered; exits 1 when one
                                               is missing, inactive or elsewhere
  synclayer DESTINATION webhook [--url URL] [--config FILE]
                                               print the request that registers the destination's
                                               webhook by hand (synclayer brevo webhook), for when
                                               synclayer does not register it itself
  synclayer healthcheck [--url URL] [--config FILE]
                                               GET the running server's /healthz; exits 1 unless 200
                                               (for a container's HEALTHCHECK)
  synclayer version                            the version and the commit it was built from
                                               (also synclayer --version)

Every command and subcommand takes -h or --help for its usage and flags
(also synclayer help COMMAND). Without --config, ./synclayer.yaml is used
when it exists, else the built-in defaults (SQLite under ./data, the
built-in Brevo simulator). Every command but version takes --env NAME to
overlay environments.NAME of the config file.

Exit status: 0 on success, 1 when the command fails, 2 when the command
line is wrong (an unknown command or flag, a bad flag value, a missing or
extra argument).
`

// version is set at build time with -ldflags "-X main.version=...", and
// then wins over the module version Go stamps into the binary.
var version = "dev"

func run(ctx context.Context, args []string) error {
	if len(args) > 0 && (args[0] == "backfill" || args[0] == "resync") {
		limitMemory() // the process runs this one command (backfill.go)
	}
	return runIO(ctx, args, os.Stdout, os.Stderr)
}

// runIO runs one command line. A usageError it returns means the command
// line was wrong (see report); help goes to stdout with a nil error.
func runIO(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	err := dispatch(ctx, args, stdout, stderr)
	var help *helpRequest
	if errors.As(err, &help) {
		_, err = io.WriteString(stdout, help.text)
	}
	return err
}

func dispatch(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		return &usageError{msg: "no command given", usage: usage}
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
	case "replay":
		return cmdReplay(ctx, rest, stdout)
	case "dlq":
		return cmdDLQ(ctx, rest, stdout)
	case "keys":
		return cmdKeys(ctx, rest, stdout)
	case "sources":
		return cmdSources(ctx, rest, stdout, stderr)
	case "healthcheck":
		return cmdHealthcheck(ctx, rest, stdout)
	case "version", "--version", "-version":
		return cmdVersion(rest, stdout)
	case "help", "-h", "-help", "--help":
		if len(rest) > 0 && cmd == "help" {
			return dispatch(ctx, append(rest, "--help"), stdout, stderr)
		}
		return &helpRequest{text: usage}
	default:
		if len(rest) > 0 && rest[0] == "webhook" && !strings.HasPrefix(cmd, "-") {
			return cmdWebhook(ctx, cmd, rest[1:], stdout)
		}
		if strings.HasPrefix(cmd, "-") {
			return &usageError{msg: fmt.Sprintf("unknown flag %s; give the command first, e.g. synclayer serve --config FILE", cmd), usage: usage}
		}
		return &usageError{msg: fmt.Sprintf("unknown command %q", cmd), usage: usage}
	}
}

// configSource is where a command's config comes from: --config and --env.
type configSource struct{ path, env string }

func (s configSource) load() (*Config, error) { return LoadConfig(s.path, s.env) }

// parseFlags returns a flag set named name, with --config, --env and the
// flags setup adds, and parses args with flags allowed before and after
// positional arguments. name keys commandDocs, for --help and usage errors.
// -h or --help returns a helpRequest and a bad flag a usageError, both of
// which a command returns as they are.
func parseFlags(name string, args []string, setup func(*flag.FlagSet)) (fs *flag.FlagSet, src configSource, positional []string, err error) {
	fs = newFlagSet(name)
	fs.StringVar(&src.path, "config", "", "read the config from `FILE` (default ./synclayer.yaml when it exists, else the built-in defaults)")
	fs.StringVar(&src.env, "env", "", "overlay environments.`NAME` of the config file")
	if setup != nil {
		setup(fs)
	}
	if positional, err = parseArgs(fs, args); err != nil {
		return nil, configSource{}, nil, err
	}
	return fs, src, positional, nil
}

func cmdServe(ctx context.Context, args []string, stderr io.Writer) error {
	var apply bool
	fs, src, pos, err := parseFlags("serve", args, func(fs *flag.FlagSet) {
		fs.BoolVar(&apply, "apply-config", false, "record this config file's skills as the newest version even when other instances on the same database run a different one, changing them all (without it, a joining instance runs theirs)")
	})
	if err != nil {
		return err
	}
	if err := wantArgs(fs, pos); err != nil {
		return err
	}
	cfg, err := src.load()
	if err != nil {
		return err
	}
	m := &Main{Config: cfg, Stderr: stderr, ApplyConfig: apply}
	if err := m.Run(ctx); err != nil {
		return err
	}
	<-ctx.Done()
	m.Logger.Info("shutting down; deliveries in flight finish first")
	return m.Close()
}

// cmdVersion is synclayer version and synclayer --version.
func cmdVersion(args []string, stdout io.Writer) error {
	fs := newFlagSet("version")
	pos, err := parseArgs(fs, args)
	if err != nil {
		return err
	}
	if err := wantArgs(fs, pos); err != nil {
		return err
	}
	info, _ := debug.ReadBuildInfo()
	_, err = fmt.Fprintln(stdout, versionString(version, info))
	return err
}

// versionString is what synclayer version prints: the version, then the
// commit, its time and whether the tree had uncommitted changes, so that a
// bug report names exactly what ran. The version is ld, set with -ldflags,
// unless it is "dev"; then the module version Go stamped, when there is one.
// info is nil when the binary carries no build information.
func versionString(ld string, info *debug.BuildInfo) string {
	v := ld
	var details []string
	if info != nil {
		if ld == "dev" && info.Main.Version != "" && info.Main.Version != "(devel)" {
			v = info.Main.Version
		}
		var rev, at string
		var modified bool
		for _, s := range info.Settings {
			switch s.Key {
			case "vcs.revision":
				rev = s.Value
			case "vcs.time":
				at = s.Value
			case "vcs.modified":
				modified = s.Value == "true"
			}
		}
		if rev != "" {
			details = append(details, "commit "+rev[:min(len(rev), 7)])
		}
		if at != "" {
			details = append(details, at)
		}
		if modified {
			details = append(details, "modified")
		}
	}
	if len(details) == 0 {
		return "synclayer " + v
	}
	return fmt.Sprintf("synclayer %s (%s)", v, strings.Join(details, ", "))
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
