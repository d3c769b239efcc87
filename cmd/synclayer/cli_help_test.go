package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime/debug"
	"strings"
	"testing"
)

// cliRun runs one command line as main would, and returns its stdout,
// stderr and error.
func cliRun(t *testing.T, args ...string) (stdout, stderr string, err error) {
	t.Helper()
	var out, errOut bytes.Buffer
	err = runIO(context.Background(), args, &out, &errOut)
	return out.String(), errOut.String(), err
}

// missingConfig is a --config that cannot be read, so a command that got
// past its argument checks by mistake fails instead of touching ./data.
func missingConfig(t *testing.T) string {
	return filepath.Join(t.TempDir(), "missing.yaml")
}

// writeSQLiteConfig writes a config whose store is SQLite in a temp dir.
func writeSQLiteConfig(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	doc := fmt.Sprintf("storage:\n  driver: sqlite\n  dsn: %q\n", filepath.Join(dir, "synclayer.db"))
	p := filepath.Join(dir, "synclayer.yaml")
	if err := os.WriteFile(p, []byte(doc), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// TestCLI_Help: -h and --help on every command and subcommand print its
// usage line, summary and flags to stdout and succeed.
func TestCLI_Help(t *testing.T) {
	t.Parallel()
	for name, doc := range commandDocs {
		for _, flag := range []string{"--help", "-h"} {
			t.Run(strings.ReplaceAll(name, " ", "_")+flag, func(t *testing.T) {
				t.Parallel()
				args := append(strings.Fields(name), flag)
				_, isParent := subcommands[name]
				if !isParent && name != "version" {
					args = append(args, "--config", missingConfig(t))
				}
				out, stderr, err := cliRun(t, args...)
				if err != nil {
					t.Fatalf("%v: %v\n%s", args, err, stderr)
				}
				if !contains(out, "Usage: synclayer "+name, doc.summary) {
					t.Errorf("%v printed:\n%s", args, out)
				}
				if !isParent && name != "version" && !contains(out, "Flags:", "--config FILE", "--env NAME") {
					t.Errorf("%v lacks the flags:\n%s", args, out)
				}
			})
		}
	}
	t.Run("ServeListsItsFlags", func(t *testing.T) {
		t.Parallel()
		out, _, err := cliRun(t, "serve", "--help")
		if err != nil || !contains(out, "--config", "--env", "read the config from FILE") {
			t.Errorf("serve --help: %v\n%s", err, out)
		}
	})
	t.Run("FlagsAfterArguments", func(t *testing.T) {
		t.Parallel()
		out, _, err := cliRun(t, "trigger", "customer-sync", "--help")
		if err != nil || !contains(out, "--data JSON", "--event EVENT") {
			t.Errorf("trigger customer-sync --help: %v\n%s", err, out)
		}
	})
	t.Run("HelpCommand", func(t *testing.T) {
		t.Parallel()
		out, _, err := cliRun(t, "help", "keys", "revoke")
		if err != nil || !strings.Contains(out, "Usage: synclayer keys revoke ID") {
			t.Errorf("help keys revoke: %v\n%s", err, out)
		}
		for _, args := range [][]string{{"help"}, {"--help"}, {"-h"}} {
			if out, _, err := cliRun(t, args...); err != nil || out != usage {
				t.Errorf("%v: %v\n%s", args, err, out)
			}
		}
	})
}

// TestCLI_ParentHelp: a parent's --help lists its subcommands, and the
// parent alone is a usage error that lists them too.
func TestCLI_ParentHelp(t *testing.T) {
	t.Parallel()
	for parent, subs := range subcommands {
		t.Run(parent, func(t *testing.T) {
			t.Parallel()
			for _, h := range []string{"--help", "-h", "help"} {
				out, stderr, err := cliRun(t, parent, h)
				if err != nil || stderr != "" {
					t.Fatalf("%s %s: %v\n%s", parent, h, err, stderr)
				}
				for _, sub := range subs {
					if !strings.Contains(out, "  "+sub) {
						t.Errorf("%s %s does not list %s:\n%s", parent, h, sub, out)
					}
				}
			}
			_, _, err := cliRun(t, parent)
			var ue *usageError
			if !errors.As(err, &ue) || !strings.Contains(ue.usage, "Commands:") {
				t.Fatalf("%s alone: %v, want a usage error listing the commands", parent, err)
			}
			for _, sub := range subs {
				if !strings.Contains(ue.msg, sub) || !strings.Contains(ue.usage, "  "+sub) {
					t.Errorf("%s alone does not name %s: %s\n%s", parent, sub, ue.msg, ue.usage)
				}
			}
		})
	}
}

// TestCLI_UsageErrors: each mistake in a command line is a usageError
// (exit status 2) that names what is wrong and carries the command's usage.
func TestCLI_UsageErrors(t *testing.T) {
	t.Parallel()
	cfg := missingConfig(t)
	for _, tc := range []struct {
		args       []string
		msg, usage string
	}{
		{nil, "no command given", "synclayer: a self-hosted"},
		{[]string{"frobnicate"}, `unknown command "frobnicate"`, "synclayer: a self-hosted"},
		{[]string{"--config", cfg, "serve"}, "unknown flag --config; give the command first", "synclayer: a self-hosted"},
		{[]string{"serve", "--bogus", "--config", cfg}, "serve: unknown flag --bogus", "Usage: synclayer serve"},
		{[]string{"serve", "now", "--config", cfg}, `serve: unexpected argument "now"`, "Usage: synclayer serve"},
		{[]string{"serve", "--config"}, "serve: --config needs a value", "Usage: synclayer serve"},
		{[]string{"version", "--bogus"}, "version: unknown flag --bogus", "Usage: synclayer version"},
		{[]string{"version", "now"}, `version: unexpected argument "now"`, "Usage: synclayer version"},
		{[]string{"config", "frob"}, `config: unknown command "frob"; available: validate, history, show, diff, rollback`, "Commands:"},
		{[]string{"config", "--config", cfg, "validate"}, "config: give the command before its flags", "Commands:"},
		{[]string{"config", "history", "3", "--config", cfg}, `config history: unexpected argument "3"`, "Usage: synclayer config history"},
		{[]string{"config", "show", "--config", cfg}, "config show: missing N: the version to print", "Usage: synclayer config show N"},
		{[]string{"config", "show", "x", "--config", cfg}, `config show: "x" is not a version number`, "Usage: synclayer config show N"},
		{[]string{"config", "diff", "1", "--config", cfg}, "config diff: missing B", "Usage: synclayer config diff A B"},
		{[]string{"config", "diff", "--config", cfg}, "config diff: missing A", "Usage: synclayer config diff A B"},
		{[]string{"config", "rollback", "--config", cfg}, "config rollback: missing N", "Usage: synclayer config rollback N"},
		{[]string{"plan", "--config", cfg}, "plan: --sample is required", "--sample DIR"},
		{[]string{"trigger", "--event", "x", "--data", "{}", "--config", cfg}, "trigger: missing SKILL", "Usage: synclayer trigger"},
		{[]string{"trigger", "nope", "--event", "x", "--data", "{}", "--config", cfg}, `trigger: unknown skill "nope"; available: customer-sync`, "Usage: synclayer trigger"},
		{[]string{"trigger", "customer-sync", "--data", "{}", "--config", cfg}, "trigger: --event is required", "--event EVENT"},
		{[]string{"trigger", "customer-sync", "--event", "x", "--config", cfg}, `trigger: --data is required: the event's fields as JSON, e.g. --data '{"email":"ada@example.com"}'`, "--data JSON"},
		{[]string{"trigger", "customer-sync", "--event", "x", "--data", "{oops", "--config", cfg}, "trigger: --data is not valid JSON", "--data JSON"},
		{[]string{"backfill", "customer-sync", "--config", cfg}, "backfill: --file or --from is required", "--file FILE"},
		{[]string{"backfill", "--file", "x.csv", "--config", cfg}, "backfill: missing SKILL: the skill to run, one of customer-sync, order-events, product-catalog", "Usage: synclayer backfill"},
		{[]string{"backfill", "customer-sync", "--file", "x.csv", "--as-of", "yesterday", "--config", cfg}, `backfill: --as-of: "yesterday" is not an RFC 3339 time`, "--as-of TIME"},
		{[]string{"backfill", "customer-sync", "--no-push=perhaps", "--config", cfg}, `backfill: invalid boolean value "perhaps" for -no-push`, "--no-push"},
		{[]string{"resync", "--config", cfg}, "resync: missing SKILL", "Usage: synclayer resync SKILL"},
		{[]string{"resync", "customer-sync", "order-events", "--config", cfg}, `resync: unexpected argument "order-events"`, "Usage: synclayer resync SKILL"},
		{[]string{"dlq", "purge"}, `dlq: unknown command "purge"; available: list, retry`, "Commands:"},
		{[]string{"dlq", "retry", "--config", cfg}, "dlq retry: give the IDs of the jobs to retry (see synclayer dlq list), or --all", "--all"},
		{[]string{"dlq", "retry", "7", "--all", "--config", cfg}, "dlq retry: give job IDs or --all, not both", "--all"},
		{[]string{"dlq", "retry", "seven", "--config", cfg}, `dlq retry: "seven" is not a job ID`, "--all"},
		{[]string{"dlq", "list", "--all", "--config", cfg}, "dlq list: unknown flag --all", "Usage: synclayer dlq list"},
		{[]string{"keys", "create", "--config", cfg}, "keys create: --role is required: admin, operator or viewer", "--role ROLE"},
		{[]string{"keys", "create", "--role", "root", "--config", cfg}, `keys create: --role must be admin, operator or viewer, not "root"`, "--role ROLE"},
		{[]string{"keys", "revoke", "--config", cfg}, "keys revoke: missing ID: the key to revoke", "Usage: synclayer keys revoke ID"},
		{[]string{"keys", "list", "extra", "--config", cfg}, `keys list: unexpected argument "extra"`, "Usage: synclayer keys list"},
	} {
		t.Run(strings.Join(tc.args, "_"), func(t *testing.T) {
			t.Parallel()
			out, _, err := cliRun(t, tc.args...)
			var ue *usageError
			if !errors.As(err, &ue) {
				t.Fatalf("%v: %v (%T), want a usage error", tc.args, err, err)
			}
			if !strings.Contains(ue.msg, tc.msg) {
				t.Errorf("%v: %q, want it to contain %q", tc.args, ue.msg, tc.msg)
			}
			if !strings.Contains(ue.usage, tc.usage) {
				t.Errorf("%v: the usage lacks %q:\n%s", tc.args, tc.usage, ue.usage)
			}
			if exitCode(err) != 2 {
				t.Errorf("%v: exit status %d, want 2", tc.args, exitCode(err))
			}
			if out != "" {
				t.Errorf("%v wrote to stdout: %s", tc.args, out)
			}
		})
	}
}

// TestCLI_DLQRetryAll: retrying everything when nothing is dead-lettered
// succeeds and says so.
func TestCLI_DLQRetryAll(t *testing.T) {
	t.Parallel()
	cfg := writeSQLiteConfig(t)
	out, stderr, err := cliRun(t, "dlq", "retry", "--all", "--config", cfg)
	if err != nil {
		t.Fatalf("dlq retry --all on an empty queue: %v\n%s", err, stderr)
	}
	if want := "nothing to retry: the dead-letter queue is empty\n"; out != want {
		t.Errorf("dlq retry --all printed %q, want %q", out, want)
	}
	if out, _, err := cliRun(t, "dlq", "list", "--config", cfg); err != nil || !strings.HasPrefix(out, "ID") {
		t.Errorf("dlq list: %v\n%s", err, out)
	}
	// A job that is not dead is a failure of the work, not of the call.
	_, _, err = cliRun(t, "dlq", "retry", "42", "--config", cfg)
	if err == nil || exitCode(err) != 1 {
		t.Errorf("dlq retry of a missing job: %v, exit status %d; want a runtime error, 1", err, exitCode(err))
	}
}

// TestCLI_RuntimeError: a command line that is right but whose work fails
// exits 1, and report prints no usage for it.
func TestCLI_RuntimeError(t *testing.T) {
	t.Parallel()
	_, _, err := cliRun(t, "config", "validate", "--config", missingConfig(t))
	var ue *usageError
	if err == nil || errors.As(err, &ue) {
		t.Fatalf("config validate of a missing file: %v, want a runtime error", err)
	}
	var stderr bytes.Buffer
	if code := report(&stderr, err); code != 1 || strings.Contains(stderr.String(), "Usage:") {
		t.Errorf("report: %d\n%s", code, stderr.String())
	}
}

// TestCLI_ExitCode: what main exits with for each kind of error, and what
// report prints for a usage error.
func TestCLI_ExitCode(t *testing.T) {
	t.Parallel()
	ue := &usageError{msg: "trigger: --data is required", usage: "Usage: synclayer trigger SKILL\n"}
	for _, tc := range []struct {
		err  error
		want int
	}{
		{nil, 0},
		{ue, 2},
		{fmt.Errorf("wrapped: %w", ue), 2},
		{errors.New("open db: disk full"), 1},
		{context.Canceled, 1},
	} {
		if got := exitCode(tc.err); got != tc.want {
			t.Errorf("exitCode(%v) = %d, want %d", tc.err, got, tc.want)
		}
	}
	var stderr bytes.Buffer
	if code := report(&stderr, ue); code != 2 {
		t.Errorf("report: %d, want 2", code)
	}
	if want := "synclayer: trigger: --data is required\n\nUsage: synclayer trigger SKILL\n"; stderr.String() != want {
		t.Errorf("report printed %q, want %q", stderr.String(), want)
	}
	if code := report(&stderr, nil); code != 0 {
		t.Errorf("report(nil): %d, want 0", code)
	}
}

// TestCLI_Version: version and --version print the version line.
func TestCLI_Version(t *testing.T) {
	t.Parallel()
	for _, arg := range []string{"version", "--version", "-version"} {
		out, _, err := cliRun(t, arg)
		if err != nil || !strings.HasPrefix(out, "synclayer ") || strings.Count(out, "\n") != 1 {
			t.Errorf("%s: %v, %q", arg, err, out)
		}
	}
}

// TestCLI_VersionString: the version comes from -ldflags, else from the
// module version Go stamped, followed by the commit Go recorded.
func TestCLI_VersionString(t *testing.T) {
	t.Parallel()
	stamped := &debug.BuildInfo{Main: debug.Module{Path: "synclayer", Version: "v0.0.0-20261207030000-45fbbb24a3a9+dirty"},
		Settings: []debug.BuildSetting{
			{Key: "vcs", Value: "git"},
			{Key: "vcs.revision", Value: "45fbbb24a3a9d305a44e600d700b7d9fd13edf2d"},
			{Key: "vcs.time", Value: "2026-12-07T03:00:00Z"},
			{Key: "vcs.modified", Value: "true"},
		}}
	clean := &debug.BuildInfo{Main: debug.Module{Path: "synclayer", Version: "(devel)"},
		Settings: []debug.BuildSetting{
			{Key: "vcs.revision", Value: "45fbbb24a3a9d305a44e600d700b7d9fd13edf2d"},
			{Key: "vcs.time", Value: "2026-12-07T03:00:00Z"},
			{Key: "vcs.modified", Value: "false"},
		}}
	for _, tc := range []struct {
		name, ld string
		info     *debug.BuildInfo
		want     string
	}{
		{"Stamped", "dev", stamped, "synclayer v0.0.0-20261207030000-45fbbb24a3a9+dirty (commit 45fbbb2, 2026-12-07T03:00:00Z, modified)"},
		{"LdflagsWin", "v1.4.0", stamped, "synclayer v1.4.0 (commit 45fbbb2, 2026-12-07T03:00:00Z, modified)"},
		{"DevelClean", "dev", clean, "synclayer dev (commit 45fbbb2, 2026-12-07T03:00:00Z)"},
		{"NoVCS", "dev", &debug.BuildInfo{Main: debug.Module{Version: "(devel)"}}, "synclayer dev"},
		{"NoBuildInfo", "dev", nil, "synclayer dev"},
		{"NoBuildInfoLdflags", "v1.4.0", nil, "synclayer v1.4.0"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := versionString(tc.ld, tc.info); got != tc.want {
				t.Errorf("got  %q\nwant %q", got, tc.want)
			}
		})
	}
}

// TestCLI_UsageListsEveryCommand keeps the top-level usage in step with
// the commands --help knows.
func TestCLI_UsageListsEveryCommand(t *testing.T) {
	t.Parallel()
	for name := range commandDocs {
		if !strings.Contains(usage, "synclayer "+name) {
			t.Errorf("the usage does not mention synclayer %s", name)
		}
	}
	if !strings.Contains(usage, "--version") || !strings.Contains(usage, "--help") {
		t.Error("the usage does not mention --version and --help")
	}
}
