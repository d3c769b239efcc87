package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/gofrs/flock"
)

// dataLock is the lock a server holds on its SQLite file for as long as it
// runs. Two servers on one SQLite file would compete for its single writer
// and each apply the config versions the other records, so the second
// turned sync off on the first without a word; the lock refuses it at
// start instead. CLI commands (plan, dlq, backfill) do not take it: they
// are meant to run beside a server.
type dataLock struct {
	lock   *flock.Flock
	path   string
	holder lockHolder
}

// lockHolder is what the lock file says about the server that holds it,
// so the refusal can name it.
type lockHolder struct {
	PID     int       `json:"pid"`
	Host    string    `json:"host"`
	Listen  string    `json:"listen"`
	Config  string    `json:"config"`
	Started time.Time `json:"started"`
}

// lockSQLite takes the lock beside the SQLite file dsn (dsn + ".lock"),
// or fails naming the server that holds it. In-memory databases need none.
func lockSQLite(dsn, listen, config string) (*dataLock, error) {
	if dsn == "" || strings.Contains(dsn, ":memory:") || strings.Contains(dsn, "mode=memory") {
		return nil, nil
	}
	path := dsn + ".lock"
	if err := os.MkdirAll(filepath.Dir(path), 0o750); err != nil {
		return nil, fmt.Errorf("create data directory: %w", err)
	}
	l := flock.New(path)
	ok, err := l.TryLock()
	if err != nil {
		return nil, fmt.Errorf("lock %s: %w", path, err)
	}
	if !ok {
		return nil, errors.New(heldMessage(dsn, path))
	}
	host, _ := os.Hostname()
	d := &dataLock{lock: l, path: path, holder: lockHolder{PID: os.Getpid(), Host: host, Listen: listen, Config: orDefault(config, "the built-in defaults"), Started: time.Now().UTC()}}
	d.write()
	return d, nil
}

// listening records the address the server got (server.listen may say
// port 0), for the next refusal to name.
func (l *dataLock) listening(addr string) {
	if l != nil {
		l.holder.Listen = addr
		l.write()
	}
}

// write records the holder in the lock file. The details are a courtesy
// for the next refusal; the flock itself is the lock, so a failed write
// changes nothing.
func (l *dataLock) write() {
	b, _ := json.Marshal(l.holder)
	_ = os.WriteFile(l.path, append(b, '\n'), 0o640)
}

func heldMessage(dsn, path string) string {
	who := "another synclayer server"
	if b, err := os.ReadFile(path); err == nil {
		var h lockHolder
		if json.Unmarshal(b, &h) == nil && h.PID > 0 {
			who = fmt.Sprintf("another synclayer server (pid %d on %s, listening on %s, config %s, started %s)",
				h.PID, h.Host, h.Listen, h.Config, h.Started.Format(time.RFC3339))
		}
	}
	return fmt.Sprintf("storage.dsn: %s is already in use by %s. "+
		"Two servers on one SQLite file would change each other's config and compete for its one writer. "+
		"Stop the other server, or give this one its own storage.dsn; to run several instances, use PostgreSQL (storage.driver: postgres)", dsn, who)
}

// Unlock releases the lock; the file stays, and is reused by the next start.
func (l *dataLock) Unlock() {
	if l != nil && l.lock != nil {
		_ = l.lock.Unlock()
	}
}
