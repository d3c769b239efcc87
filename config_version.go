package synclayer

import (
	"context"
	"time"
)

// ConfigOrigin says how a configuration version came to be.
type ConfigOrigin string

const (
	ConfigFromFile     ConfigOrigin = "file"     // a config file loaded at start that differed from the history
	ConfigFromAPI      ConfigOrigin = "api"      // a skill changed through the admin API
	ConfigFromRollback ConfigOrigin = "rollback" // an earlier version applied again, from the API or the CLI
)

// ConfigVersion is one configuration that was applied, kept so that a
// change can be explained, diffed and undone. YAML is the whole effective
// config with every secret as its ${VAR} reference or [REDACTED], never
// the value: anyone who can read the database can read the history.
type ConfigVersion struct {
	Version   int          `json:"version"`
	CreatedAt time.Time    `json:"createdAt"`
	Actor     string       `json:"actor"` // the API key's name (its ID when unnamed), or "cli"
	Origin    ConfigOrigin `json:"origin"`
	Note      string       `json:"note,omitempty"` // e.g. "rollback to version 3"
	YAML      string       `json:"config,omitempty"`
}

// ConfigStore keeps the configuration history. Every running server polls
// LatestConfigVersion, so a version written by one instance or by the CLI
// reaches all of them.
type ConfigStore interface {
	// AddConfigVersion stores v as the next version and sets v.Version.
	// With ifLatest >= 0 it stores v only while the newest version is still
	// ifLatest (0: none yet), and is ECONFLICT otherwise, so two instances
	// starting at once do not both record the same file.
	AddConfigVersion(ctx context.Context, v *ConfigVersion, ifLatest int) error
	// FindConfigVersion returns version n with its YAML, or ENOTFOUND.
	FindConfigVersion(ctx context.Context, n int) (*ConfigVersion, error)
	// FindConfigVersions lists versions newest first, without their YAML.
	FindConfigVersions(ctx context.Context, limit int) ([]*ConfigVersion, error)
	// FindLatestConfigVersion returns the newest version with its YAML
	// (origin "" for any), or ENOTFOUND when there is none.
	FindLatestConfigVersion(ctx context.Context, origin ConfigOrigin) (*ConfigVersion, error)
}

// Instance is one running server sharing the store. Servers record
// themselves at start and on every config poll, so one started with a
// config file that differs from the fleet's can tell that others are
// running, and must not change them without being asked to.
type Instance struct {
	ID            string    `json:"id"` // random, per start
	Host          string    `json:"host"`
	PID           int       `json:"pid"`
	Addr          string    `json:"addr"`
	ConfigVersion int       `json:"configVersion"` // the version it runs
	StartedAt     time.Time `json:"startedAt"`
	SeenAt        time.Time `json:"seenAt"` // its last heartbeat
}

// InstanceStore records the running servers.
type InstanceStore interface {
	// RecordInstance inserts or refreshes in, setting its SeenAt.
	RecordInstance(ctx context.Context, in *Instance) error
	// RemoveInstance forgets an instance that stopped.
	RemoveInstance(ctx context.Context, id string) error
	// FindInstances lists instances seen at or after since, oldest first.
	FindInstances(ctx context.Context, since time.Time) ([]*Instance, error)
}
