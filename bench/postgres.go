package main

import (
	"context"
	"database/sql"
	"fmt"
	"net/url"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib"
)

// createDatabase creates a database of its own on the server at adminURL,
// so a run starts empty and leaves nothing behind. It returns the new
// database's URL and a func that drops it.
func createDatabase(ctx context.Context, adminURL string) (string, func(), error) {
	u, err := url.Parse(adminURL)
	if err != nil {
		return "", nil, fmt.Errorf("--dsn: %w", err)
	}
	name := "synclayer_bench_" + randomHex(6)
	if err := adminExec(ctx, adminURL, "CREATE DATABASE "+name); err != nil {
		return "", nil, fmt.Errorf("create database on %s (is PostgreSQL running?): %w", u.Redacted(), err)
	}
	drop := func() {
		// Not ctx: the database must go even after an interrupt.
		if err := adminExec(context.Background(), adminURL, "DROP DATABASE IF EXISTS "+name+" WITH (FORCE)"); err != nil {
			progress("could not drop database " + name + ": " + err.Error())
		}
	}
	u.Path = "/" + name
	return u.String(), drop, nil
}

func adminExec(ctx context.Context, adminURL, stmt string) error {
	db, err := sql.Open("pgx", adminURL)
	if err != nil {
		return err
	}
	defer db.Close()
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	_, err = db.ExecContext(ctx, stmt)
	return err
}
