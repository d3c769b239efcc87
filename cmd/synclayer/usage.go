package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"slices"
	"strings"
	"text/tabwriter"
)

// commandDoc is what a command's --help and its usage errors say about it.
type commandDoc struct {
	args    string // what follows the command's name in its usage line
	summary string // one sentence
}

// commandDocs holds every command and subcommand by its full name, as
// parseFlags names its flag set. TestCLI_UsageListsEveryCommand keeps the
// top-level usage in step with it.
var commandDocs = map[string]commandDoc{
	"serve":            {"[--apply-config]", "Run the server: webhooks, the queue and deliveries to the destinations."},
	"config":           {"COMMAND", "Check a config file, and read or roll back the configuration versions the store records."},
	"config validate":  {"", "Check a config file without starting anything."},
	"config history":   {"", "List the configuration versions applied."},
	"config show":      {"N", "Print version N's config, secrets as ${VAR} or [REDACTED]."},
	"config diff":      {"A B", "Print the keys that differ between versions A and B."},
	"config rollback":  {"N", "Record version N's skills as the newest version; running servers apply it within 5 s."},
	"plan":             {"--sample DIR [--json] [--source NAME]", "Dry run: print what the config would send for sample records, against a copy of the current state. Touches nothing live."},
	"trigger":          {"SKILL --event EVENT --data JSON", "Push one event through the pipeline, as a webhook would."},
	"backfill":         {"SKILL --file export.csv|export.jsonl | --from SOURCE [--no-push] [--restart] [--as-of TIME]", "Load a platform export (--file), or every record of the skill's kind listed through a source's API (--from: Shopify's Admin API, Magento's REST API), into the store, then push it to Brevo in batches; resumes where an interrupted run stopped."},
	"resync":           {"SKILL", "Push the skill's whole canonical state to Brevo in batches."},
	"replay":           {"--since TIME [--until TIME] [--skill SKILL] [--source NAME] [--dry-run]", "Queue again, through the current config, the contacts that the events received in a time range touched; consent holds and unchanged contacts are skipped."},
	"dlq":              {"COMMAND", "List dead-lettered deliveries and put them back in the queue."},
	"dlq list":         {"", "List dead-lettered deliveries."},
	"dlq retry":        {"ID...|--all [--skill SKILL]", "Put dead-lettered deliveries back in the queue; --all retries every one, however many."},
	"keys":             {"COMMAND", "Manage the admin API's keys."},
	"keys create":      {"--role admin|operator|viewer [--name NAME]", "Create an admin API key; it is printed once, alone on the last line."},
	"keys list":        {"", "List API keys, never their secrets."},
	"keys revoke":      {"ID", "Revoke a key; it stops working at once."},
	"sources":          {"COMMAND", "Make and check the webhook subscriptions of sources whose platform takes them through its API (Shopify with admin:, BigCommerce, WooCommerce with api:)."},
	"sources register": {"[NAME] [--source NAME] [--json]", "Create or update the webhook subscriptions the enabled skills need from source NAME (without NAME: every source that registers through its platform's API) to deliver to server.public_url/webhooks/NAME; re-running changes nothing."},
	"sources check":    {"[NAME] [--source NAME] [--json]", "Compare the source's webhook subscriptions with what the enabled skills need; exits 1 when a topic is missing, inactive or delivers elsewhere, saying to run synclayer sources register NAME."},
	"version":          {"", "Print the version and the commit it was built from."},
	"healthcheck":      {"[--url URL] [--timeout DURATION]", "Ask the running server's /healthz and fail unless it answers 200; for a container's HEALTHCHECK."},
}

// subcommands lists each parent's commands in the order its help shows them.
var subcommands = map[string][]string{
	"config":  {"validate", "history", "show", "diff", "rollback"},
	"dlq":     {"list", "retry"},
	"keys":    {"create", "list", "revoke"},
	"sources": {"register", "check"},
}

// usageError is a command line that cannot run as given: an unknown
// command or flag, a bad flag value, a missing or extra argument. main
// prints it with the command's usage and exits 2, so scripts can tell a
// mistake in the call from a failure of the work.
type usageError struct {
	msg   string
	usage string // the command's help, printed after msg
}

func (e *usageError) Error() string { return e.msg }

// helpRequest carries a command's help out of its flag parsing, the way
// flag.ErrHelp does; runIO prints it to stdout and returns nil.
type helpRequest struct{ text string }

func (h *helpRequest) Error() string { return "help requested" }

// usageErrorf returns a usageError for the command fs parses, its message
// prefixed with the command's name.
func usageErrorf(fs *flag.FlagSet, format string, args ...any) error {
	return &usageError{msg: fs.Name() + ": " + fmt.Sprintf(format, args...), usage: helpText(fs)}
}

// exitCode maps what a command returned to the process's exit status:
// 0 for success, 2 for a usage error, 1 for any other failure.
func exitCode(err error) int {
	var ue *usageError
	switch {
	case err == nil:
		return 0
	case errors.As(err, &ue):
		return 2
	}
	return 1
}

// report prints err to stderr, followed for a usage error by the
// command's usage so the fix is on screen, and returns the exit status.
func report(stderr io.Writer, err error) int {
	if err == nil {
		return 0
	}
	fmt.Fprintln(stderr, "synclayer:", err)
	var ue *usageError
	if errors.As(err, &ue) {
		fmt.Fprint(stderr, "\n", ue.usage)
	}
	return exitCode(err)
}

// newFlagSet returns a flag set that reports errors only through Parse,
// so parseArgs can turn them into help or usage errors.
func newFlagSet(name string) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	return fs
}

// parseArgs parses args with flags allowed before and after positional
// arguments, and returns the positional ones. -h or --help anywhere
// returns a helpRequest; a bad flag returns a usageError.
func parseArgs(fs *flag.FlagSet, args []string) (positional []string, err error) {
	for {
		if err := fs.Parse(args); errors.Is(err, flag.ErrHelp) {
			return nil, &helpRequest{text: helpText(fs)}
		} else if err != nil {
			return nil, usageErrorf(fs, "%s", flagMessage(err))
		}
		args = fs.Args()
		if len(args) == 0 {
			return positional, nil
		}
		positional = append(positional, args[0])
		args = args[1:]
	}
}

// flagMessage rewords the flag package's two commonest errors with the
// two-dash names the documentation uses.
func flagMessage(err error) string {
	msg := err.Error()
	if name, ok := strings.CutPrefix(msg, "flag provided but not defined: -"); ok {
		return "unknown flag --" + name
	}
	if name, ok := strings.CutPrefix(msg, "flag needs an argument: -"); ok {
		return "--" + name + " needs a value"
	}
	return msg
}

// wantArgs checks that pos holds exactly the arguments named by want,
// each described as the user should read it, e.g. "ID: the key to revoke".
func wantArgs(fs *flag.FlagSet, pos []string, want ...string) error {
	switch {
	case len(pos) < len(want):
		return usageErrorf(fs, "missing %s", want[len(pos)])
	case len(pos) > len(want):
		return usageErrorf(fs, "unexpected argument %q", pos[len(want)])
	}
	return nil
}

// skillArg returns the command's one positional argument, a skill among
// available.
func skillArg(fs *flag.FlagSet, pos []string, available []string) (string, error) {
	list := strings.Join(available, ", ")
	if err := wantArgs(fs, pos, "SKILL: the skill to run, one of "+list); err != nil {
		return "", err
	}
	if !slices.Contains(available, pos[0]) {
		return "", usageErrorf(fs, "unknown skill %q; available: %s", pos[0], list)
	}
	return pos[0], nil
}

// subcommand splits a parent's args into its subcommand and the rest.
// No subcommand is a usage error; -h, --help or help returns the
// parent's help, which lists the subcommands.
func subcommand(parent string, args []string) (string, []string, error) {
	subs := subcommands[parent]
	fail := func(format string, a ...any) error {
		return &usageError{msg: parent + ": " + fmt.Sprintf(format, a...), usage: parentHelp(parent)}
	}
	switch {
	case len(args) == 0:
		return "", nil, fail("missing command: %s", strings.Join(subs, ", "))
	case args[0] == "-h" || args[0] == "-help" || args[0] == "--help" || args[0] == "help":
		return "", nil, &helpRequest{text: parentHelp(parent)}
	case strings.HasPrefix(args[0], "-"):
		return "", nil, fail("give the command before its flags, e.g. synclayer %s %s %s", parent, subs[0], args[0])
	case !slices.Contains(subs, args[0]):
		return "", nil, fail("unknown command %q; available: %s", args[0], strings.Join(subs, ", "))
	}
	return args[0], args[1:], nil
}

// helpText is a command's --help: its usage line, what it does and its
// flags, named with two dashes as the rest of the documentation does.
func helpText(fs *flag.FlagSet) string {
	doc := commandDocs[fs.Name()]
	var b strings.Builder
	line := strings.TrimSpace("synclayer " + fs.Name() + " " + doc.args)
	if fs.Lookup("config") != nil {
		line += " [--config FILE] [--env NAME]"
	}
	fmt.Fprintf(&b, "Usage: %s\n\n%s\n", line, doc.summary)
	n := 0
	fs.VisitAll(func(*flag.Flag) { n++ })
	if n == 0 {
		return b.String()
	}
	b.WriteString("\nFlags:\n")
	tw := tabwriter.NewWriter(&b, 2, 4, 3, ' ', 0)
	fs.VisitAll(func(f *flag.Flag) {
		arg, usage := flag.UnquoteUsage(f)
		if arg != "" {
			arg = " " + arg
		}
		if f.DefValue != "" && f.DefValue != "false" {
			usage += fmt.Sprintf(" (default %s)", f.DefValue)
		}
		fmt.Fprintf(tw, "  --%s%s\t%s\n", f.Name, arg, usage)
	})
	tw.Flush()
	return b.String()
}

// parentHelp is the help of a command with subcommands: what it does and
// the subcommands with their usage lines.
func parentHelp(parent string) string {
	var b strings.Builder
	fmt.Fprintf(&b, "Usage: synclayer %s COMMAND [ARGS] [--config FILE] [--env NAME]\n\n%s\n\nCommands:\n", parent, commandDocs[parent].summary)
	tw := tabwriter.NewWriter(&b, 2, 4, 3, ' ', 0)
	for _, sub := range subcommands[parent] {
		doc := commandDocs[parent+" "+sub]
		fmt.Fprintf(tw, "  %s\t%s\n", strings.TrimSpace(sub+" "+doc.args), doc.summary)
	}
	tw.Flush()
	fmt.Fprintf(&b, "\nRun synclayer %s COMMAND --help for a command's flags.\n", parent)
	return b.String()
}
