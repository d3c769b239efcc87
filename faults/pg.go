package faults

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"net/url"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"slices"
	"strconv"
	"syscall"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib" // registers "pgx"
)

// pgServer is the PostgreSQL the harness's synclayer stores its data in:
// a private cluster the harness may crash and restart, or, when one cannot
// be started, a fresh database on the machine's shared server, which other
// tests use and which is never restarted.
type pgServer struct {
	DSN        string
	Private    bool
	SkipReason string // why restarts are skipped; "" for a private cluster

	dir, data, bin, port string
	uid, gid             int // -1 when running as the current user
	cmd                  *exec.Cmd
	exited               chan struct{}
	drop                 func()
}

// startPostgres starts a private cluster, or falls back to the shared one.
func startPostgres(ctx context.Context, logf func(string, ...any)) (*pgServer, error) {
	p, err := startPrivatePostgres(ctx)
	if err == nil {
		return p, nil
	}
	reason := fmt.Sprintf("no private PostgreSQL cluster (%v): using a fresh database on the shared server; the PostgreSQL restart step is SKIPPED", err)
	logf("%s", reason)
	p, err = sharedPostgres(ctx)
	if err != nil {
		return nil, err
	}
	p.SkipReason = reason
	return p, nil
}

// startPrivatePostgres runs initdb in a temp dir and starts the postmaster
// as a child of this process, on 127.0.0.1 and a free port. initdb refuses
// to run as root, so as root both run as the postgres user.
func startPrivatePostgres(ctx context.Context) (*pgServer, error) {
	initdbs, _ := filepath.Glob("/usr/lib/postgresql/*/bin/initdb")
	if len(initdbs) == 0 {
		return nil, errors.New("no /usr/lib/postgresql/*/bin/initdb")
	}
	slices.Sort(initdbs)
	port, err := freePort()
	if err != nil {
		return nil, err
	}
	dir, err := os.MkdirTemp("", "synclayer-faults-pg-")
	if err != nil {
		return nil, err
	}
	p := &pgServer{Private: true, dir: dir, data: filepath.Join(dir, "data"), bin: filepath.Dir(initdbs[len(initdbs)-1]), port: port, uid: -1, gid: -1}
	if os.Geteuid() == 0 {
		u, err := user.Lookup("postgres")
		if err != nil {
			os.RemoveAll(dir)
			return nil, fmt.Errorf("running as root and no postgres user: %w", err)
		}
		p.uid, _ = strconv.Atoi(u.Uid)
		p.gid, _ = strconv.Atoi(u.Gid)
		if err := os.Chown(dir, p.uid, p.gid); err != nil {
			os.RemoveAll(dir)
			return nil, err
		}
	}
	initdb := p.command("initdb", "-D", p.data, "-U", "postgres", "-A", "trust", "-E", "UTF8", "--no-locale", "--no-sync")
	if out, err := initdb.CombinedOutput(); err != nil {
		os.RemoveAll(dir)
		return nil, fmt.Errorf("initdb: %w: %s", err, out)
	}
	if err := p.start(ctx); err != nil {
		p.Stop()
		return nil, err
	}
	if err := p.exec(ctx, p.url("postgres"), "CREATE DATABASE faults"); err != nil {
		p.Stop()
		return nil, err
	}
	p.DSN = p.url("faults")
	return p, nil
}

func (p *pgServer) url(db string) string {
	return "postgres://postgres@127.0.0.1:" + p.port + "/" + db + "?sslmode=disable"
}

// command runs a PostgreSQL program as the cluster's owner.
func (p *pgServer) command(name string, args ...string) *exec.Cmd {
	cmd := exec.Command(filepath.Join(p.bin, name), args...)
	cmd.SysProcAttr = childAttr()
	if p.uid >= 0 {
		runAs(cmd.SysProcAttr, p.uid, p.gid)
	}
	cmd.Env = append(os.Environ(), "LC_ALL=C")
	return cmd
}

// start runs the postmaster and waits until it accepts connections. It is
// this process's child, not pg_ctl's, so it dies with the harness.
func (p *pgServer) start(ctx context.Context) error {
	logf, err := os.OpenFile(filepath.Join(p.dir, "postgres.log"), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return err
	}
	defer logf.Close()
	cmd := p.command("postgres", "-D", p.data, "-p", p.port, "-c", "listen_addresses=127.0.0.1",
		"-c", "unix_socket_directories="+p.dir, "-c", "max_connections=80", "-c", "shared_buffers=32MB")
	cmd.Stdout, cmd.Stderr = logf, logf
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("start postgres: %w", err)
	}
	exited := make(chan struct{})
	go func() { _ = cmd.Wait(); close(exited) }()
	p.cmd, p.exited = cmd, exited
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		select {
		case <-exited:
			return fmt.Errorf("postgres exited during start:\n%s", tail(filepath.Join(p.dir, "postgres.log"), 10))
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(100 * time.Millisecond):
		}
		if p.exec(ctx, p.url("postgres"), "SELECT 1") == nil {
			return nil
		}
	}
	return errors.New("postgres not ready after 30s")
}

// Restart crashes the cluster (an immediate shutdown, which skips the
// checkpoint, so the restart replays the WAL as after a power cut of the
// database alone) and starts it again. It returns how long it was down.
func (p *pgServer) Restart(ctx context.Context) (time.Duration, error) {
	if !p.Private {
		return 0, errors.New("not a private cluster")
	}
	begin := time.Now()
	_ = p.cmd.Process.Signal(syscall.SIGQUIT)
	select {
	case <-p.exited:
	case <-time.After(20 * time.Second):
		_ = p.cmd.Process.Kill()
		<-p.exited
	}
	err := p.start(ctx)
	return time.Since(begin), err
}

// Stop stops the cluster and removes its files, or drops the database on
// the shared server.
func (p *pgServer) Stop() {
	if p.drop != nil {
		p.drop()
	}
	if p.cmd != nil {
		_ = p.cmd.Process.Signal(syscall.SIGQUIT)
		select {
		case <-p.exited:
		case <-time.After(20 * time.Second):
			_ = p.cmd.Process.Kill()
			<-p.exited
		}
	}
	if p.dir != "" {
		os.RemoveAll(p.dir)
	}
}

func (p *pgServer) exec(ctx context.Context, dsn, stmt string) error {
	db, err := sql.Open("pgx", dsn)
	if err != nil {
		return err
	}
	defer db.Close()
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	_, err = db.ExecContext(ctx, stmt)
	return err
}

// sharedPostgres creates a database of its own on the shared server
// ($SYNCLAYER_TEST_POSTGRES, as the other tests use).
func sharedPostgres(ctx context.Context) (*pgServer, error) {
	admin := os.Getenv("SYNCLAYER_TEST_POSTGRES")
	if admin == "" {
		admin = "postgres://postgres@127.0.0.1:5432/test?sslmode=disable"
	}
	b := make([]byte, 6)
	_, _ = rand.Read(b)
	name := "synclayer_faults_" + hex.EncodeToString(b)
	p := &pgServer{}
	if err := p.exec(ctx, admin, "CREATE DATABASE "+name); err != nil {
		return nil, fmt.Errorf("create database on the shared server: %w", err)
	}
	p.drop = func() { _ = p.exec(context.Background(), admin, "DROP DATABASE IF EXISTS "+name+" WITH (FORCE)") }
	u, err := url.Parse(admin)
	if err != nil {
		return nil, err
	}
	u.Path = "/" + name
	p.DSN = u.String()
	return p, nil
}
