package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"text/tabwriter"
	"time"

	"synclayer"
	"synclayer/store"
)

// cmdKeys manages admin API keys in the configured store, so it works
// beside a running server: the server looks keys up on every request, and
// a revocation applies at once.
func cmdKeys(ctx context.Context, args []string, stdout io.Writer) error {
	sub, args, err := subcommand("keys", args)
	if err != nil {
		return err
	}
	var role, name string
	fs, src, pos, err := parseFlags("keys "+sub, args, func(fs *flag.FlagSet) {
		if sub == "create" {
			fs.StringVar(&role, "role", "", "the key's `ROLE`: admin, operator or viewer")
			fs.StringVar(&name, "name", "", "a `NAME` saying what the key is for, shown in keys list")
		}
	})
	if err != nil {
		return err
	}
	if sub == "revoke" {
		err = wantArgs(fs, pos, "ID: the key to revoke (see synclayer keys list)")
	} else {
		err = wantArgs(fs, pos)
	}
	if err != nil {
		return err
	}
	if sub == "create" {
		if role == "" {
			return usageErrorf(fs, "--role is required: admin, operator or viewer, e.g. --role operator")
		}
		if _, err := synclayer.ParseRole(role); err != nil {
			return usageErrorf(fs, "--role must be admin, operator or viewer, not %q", role)
		}
	}
	cfg, err := src.load()
	if err != nil {
		return err
	}
	db, err := store.Open(ctx, cfg.Storage.Driver, cfg.Storage.DSN)
	if err != nil {
		return err
	}
	defer db.Close()
	switch sub {
	case "create":
		return keysCreate(ctx, db, role, name, stdout)
	case "list":
		return keysList(ctx, db, stdout)
	}
	if err := db.RevokeKey(ctx, pos[0], time.Now()); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "key %s revoked; it stops working at its next request\n", pos[0])
	return nil
}

// keysCreate prints the new key alone on the last line, so a script can
// take it with tail -n 1. It is shown once: only its hash is stored.
func keysCreate(ctx context.Context, db *store.DB, role, name string, stdout io.Writer) error {
	r, err := synclayer.ParseRole(role)
	if err != nil {
		return fmt.Errorf("keys create: --role must be admin, operator or viewer, not %q", role)
	}
	k, secret, err := synclayer.NewAPIKey(r, name, time.Now())
	if err != nil {
		return err
	}
	if err := db.CreateKey(ctx, k); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "created %s key %s (prefix %s). Store it now; it is not shown again:\n%s\n", k.Role, k.ID, k.Prefix, secret)
	return nil
}

func keysList(ctx context.Context, db *store.DB, stdout io.Writer) error {
	keys, err := db.FindKeys(ctx)
	if err != nil {
		return err
	}
	tw := tabwriter.NewWriter(stdout, 2, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tNAME\tROLE\tPREFIX\tCREATED\tLAST USED\tREVOKED")
	for _, k := range keys {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\n", k.ID, orDash(k.Name), k.Role, k.Prefix, stamp(k.CreatedAt), stamp(k.LastUsedAt), stamp(k.RevokedAt))
	}
	return tw.Flush()
}

func stamp(t time.Time) string {
	if t.IsZero() {
		return "-"
	}
	return t.Local().Format(time.RFC3339)
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}
