package main

import (
	"context"
	"fmt"
	"io"
	"strconv"
	"text/tabwriter"
	"time"

	"synclayer"
	"synclayer/store"
)

// configArgs names the positional arguments of each config subcommand, as
// a missing one's usage error says it.
var configArgs = map[string][]string{
	"show":     {"N: the version to print (see synclayer config history)"},
	"diff":     {"A: the first version to compare (see synclayer config history)", "B: the second version to compare"},
	"rollback": {"N: the version to roll back to (see synclayer config history)"},
}

// cmdConfig runs the config subcommands. All but validate open the
// configured store, so they work beside a running server.
func cmdConfig(ctx context.Context, args []string, stdout io.Writer) error {
	sub, args, err := subcommand("config", args)
	if err != nil {
		return err
	}
	fs, src, pos, err := parseFlags("config "+sub, args, nil)
	if err != nil {
		return err
	}
	if err := wantArgs(fs, pos, configArgs[sub]...); err != nil {
		return err
	}
	versions := make([]int, len(pos))
	for i, p := range pos {
		if versions[i], err = strconv.Atoi(p); err != nil || versions[i] < 1 {
			return usageErrorf(fs, "%q is not a version number; see synclayer config history", p)
		}
	}
	cfg, err := src.load()
	if err != nil {
		return err
	}
	if sub == "validate" {
		fmt.Fprintf(stdout, "%s: ok\n", describeSource(cfg))
		for _, w := range cfg.warnings {
			fmt.Fprintf(stdout, "  warning: %s\n", w)
		}
		if len(cfg.defaulted) > 0 {
			fmt.Fprintf(stdout, "  from the built-in defaults: %s\n", cfg.defaultedKeys())
		}
		return nil
	}
	db, err := store.Open(ctx, cfg.Storage.Driver, cfg.Storage.DSN)
	if err != nil {
		return err
	}
	defer db.Close()
	switch sub {
	case "history":
		return configHistory(ctx, db, stdout)
	case "show":
		v, err := db.FindConfigVersion(ctx, versions[0])
		if err != nil {
			return err
		}
		_, err = io.WriteString(stdout, v.YAML)
		return err
	case "diff":
		return configDiff(ctx, db, versions[0], versions[1], stdout)
	}
	return configRollback(ctx, db, cfg, versions[0], stdout)
}

func describeSource(cfg *Config) string {
	where := orDefault(cfg.path, "built-in defaults")
	if cfg.env != "" {
		where += " (environment " + cfg.env + ")"
	}
	return where
}

func configHistory(ctx context.Context, db *store.DB, stdout io.Writer) error {
	list, err := db.FindConfigVersions(ctx, 1000)
	if err != nil {
		return err
	}
	tw := tabwriter.NewWriter(stdout, 2, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "VERSION\tCREATED\tORIGIN\tBY\tNOTE")
	for _, v := range list {
		fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%s\n", v.Version, stamp(v.CreatedAt), v.Origin, orDash(v.Actor), orDash(v.Note))
	}
	return tw.Flush()
}

func configDiff(ctx context.Context, db *store.DB, a, b int, stdout io.Writer) error {
	va, err := db.FindConfigVersion(ctx, a)
	if err != nil {
		return err
	}
	vb, err := db.FindConfigVersion(ctx, b)
	if err != nil {
		return err
	}
	lines, err := diffConfig(va.YAML, vb.YAML)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "--- version %d (%s, %s by %s)\n+++ version %d (%s, %s by %s)\n",
		va.Version, stamp(va.CreatedAt), va.Origin, va.Actor, vb.Version, stamp(vb.CreatedAt), vb.Origin, vb.Actor)
	if len(lines) == 0 {
		fmt.Fprintln(stdout, "no differences")
	}
	for _, l := range lines {
		fmt.Fprintln(stdout, l)
	}
	return nil
}

// configRollback records version n's skills, checked against the config
// file's sources, as a new version. It reaches running servers through the
// store: each polls the history every few seconds and runs the newest
// version, checking Brevo attributes first. One that cannot run it logs
// why and keeps its config.
func configRollback(ctx context.Context, db *store.DB, cfg *Config, n int, stdout io.Writer) error {
	v, err := db.FindConfigVersion(ctx, n)
	if err != nil {
		return err
	}
	m := &Main{Config: cfg}
	cs, err := m.storedCustomerSync(v)
	if err != nil {
		return err
	}
	doc, err := cfg.withCustomerSync(cs).versionYAML()
	if err != nil {
		return err
	}
	nv := &synclayer.ConfigVersion{CreatedAt: time.Now().UTC(), Actor: "cli", Origin: synclayer.ConfigFromRollback,
		Note: fmt.Sprintf("rollback to version %d", n), YAML: doc}
	if err := db.AddConfigVersion(ctx, nv, -1); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "recorded version %d: rollback to version %d. Running servers apply it within %s.\n", nv.Version, n, DefaultConfigPoll)
	return nil
}
