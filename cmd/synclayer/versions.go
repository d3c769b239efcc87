package main

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"synclayer"
	"synclayer/api"
)

// DefaultConfigPoll is how often a server looks for a config version
// recorded elsewhere: by another instance sharing the database, or by
// synclayer config rollback.
const DefaultConfigPoll = 5 * time.Second

// resumeConfig decides which customer-sync config runs at start, and its
// version. The newest deliberate change wins:
//
//   - the file differs from the last version loaded from a file (or there
//     is no history): it is recorded as a new version and runs;
//   - the file is what was last loaded: the newest version runs, so a
//     change made through the API or a rollback survives a restart;
//   - but while other instances run on the same database, a file whose
//     customer-sync differs from the fleet's newest version is not
//     recorded unless ApplyConfig says so (serve --apply-config): the
//     instance runs the fleet's version and says loudly which keys differ.
//     One instance's file must never silently change the others.
//
// Only skills change at runtime; the rest of the config is the file's.
func (m *Main) resumeConfig(ctx context.Context) (*CustomerSyncConfig, int, error) {
	doc, err := m.Config.versionYAML()
	if err != nil {
		return nil, 0, err
	}
	for range 3 {
		latest, err := m.DB.FindLatestConfigVersion(ctx, "")
		if err != nil && synclayer.ErrorCode(err) != synclayer.ENOTFOUND {
			return nil, 0, err
		}
		ifLatest := 0
		if latest != nil {
			ifLatest = latest.Version
			fromFile, err := m.DB.FindLatestConfigVersion(ctx, synclayer.ConfigFromFile)
			if err != nil && synclayer.ErrorCode(err) != synclayer.ENOTFOUND {
				return nil, 0, err
			}
			if fromFile != nil && fromFile.YAML == doc {
				if latest.Version == fromFile.Version {
					return m.Config.Skills.CustomerSync, latest.Version, nil
				}
				cs, err := m.storedCustomerSync(latest)
				if err == nil {
					m.Logger.Info("resuming the newest config version; the config file is unchanged since it was loaded as an earlier one",
						"version", latest.Version, "origin", latest.Origin, "by", latest.Actor, "file_version", fromFile.Version)
					return cs, latest.Version, nil
				}
				m.Logger.Warn("the newest config version cannot run with this config file; running the file", "version", latest.Version, "err", err)
			}
			cs, keep, err := m.keepFleetConfig(ctx, latest, doc)
			if err != nil || keep {
				return cs, latest.Version, err
			}
		}
		note := "loaded at start from " + orDefault(m.Config.path, "the built-in defaults")
		if m.Config.env != "" {
			note += " (environment " + m.Config.env + ")"
		}
		v := &synclayer.ConfigVersion{CreatedAt: time.Now().UTC(), Actor: "cli", Origin: synclayer.ConfigFromFile, Note: note, YAML: doc}
		err = m.DB.AddConfigVersion(ctx, v, ifLatest)
		if synclayer.ErrorCode(err) == synclayer.ECONFLICT {
			continue // another instance recorded one meanwhile: decide again
		}
		if err != nil {
			return nil, 0, err
		}
		m.Logger.Info("recorded the config file as a new config version", "version", v.Version)
		return m.Config.Skills.CustomerSync, v.Version, nil
	}
	return nil, 0, errors.New("config history keeps changing under this server; retry the start")
}

// storedCustomerSync reads customer-sync's config from a stored version
// and checks it against the running config (its sources, for one), with
// the same code as the file. A version without the skill is a disabled,
// empty one. Errors are EINVALID naming "version".
func (m *Main) storedCustomerSync(v *synclayer.ConfigVersion) (*CustomerSyncConfig, error) {
	skills, err := skillsOf(v.YAML)
	if err != nil {
		return nil, err
	}
	cs := skills.CustomerSync
	if cs == nil {
		cs = &CustomerSyncConfig{}
	}
	e := &configErrors{}
	m.Config.finishCustomerSync(e, cs)
	if len(e.errs) > 0 {
		return nil, synclayer.FieldErrorf("version", "version %d cannot run with the current config: %s", v.Version, strings.Join(e.errs, "; "))
	}
	return cs, nil
}

// watchConfig applies versions recorded elsewhere until Close, looking
// every poll: the CLI's rollback writes a version to the store, and
// instances sharing a PostgreSQL database each run the newest.
func (r *skillRuntime) watchConfig(poll time.Duration) {
	ctx, cancel := context.WithCancel(context.Background())
	r.m.addCancel(cancel)
	r.m.wg.Add(1)
	go func() {
		defer r.m.wg.Done()
		t := time.NewTicker(poll)
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-t.C:
			}
			if err := r.adoptLatest(ctx); err != nil && ctx.Err() == nil {
				r.m.Logger.Warn("check the config history; will retry", "err", err)
			}
			if err := r.m.heartbeat(ctx); err != nil && ctx.Err() == nil {
				r.m.Logger.Warn("record this instance as running; will retry", "err", err)
			}
		}
	}()
}

// adoptLatest runs the newest version when it is newer than any this
// server has looked at. One it cannot run (a source it lacks, attributes
// Brevo refuses) is logged and skipped: the running config stays, and
// the next version recorded is tried in turn.
func (r *skillRuntime) adoptLatest(ctx context.Context) error {
	latest, err := r.m.DB.FindLatestConfigVersion(ctx, "")
	if synclayer.ErrorCode(err) == synclayer.ENOTFOUND {
		return nil
	}
	if err != nil {
		return err
	}
	r.change.Lock()
	defer r.change.Unlock()
	if latest.Version <= r.seen {
		return nil
	}
	r.seen = latest.Version
	if running, err := r.m.Config.withCustomerSync(r.cfg).versionYAML(); err == nil {
		if diff, err := fleetDiff(running, latest.YAML); err == nil && len(diff) == 0 {
			// A version that changes nothing this server runs (another
			// instance's file with its own listen address, say) is only
			// noted: restarting the workers for it would be noise.
			r.mu.Lock()
			r.version = latest.Version
			r.mu.Unlock()
			r.m.Logger.Debug("a newer config version changes nothing in customer-sync", "version", latest.Version, "origin", latest.Origin)
			return nil
		}
	}
	cs, err := r.m.storedCustomerSync(latest)
	if err == nil {
		err = r.swapChecked(ctx, cs, latest.Version)
	}
	if err != nil {
		r.m.Logger.Error("a newer config version cannot run here; still running the previous one",
			"version", latest.Version, "running", r.version, "err", err)
		return nil
	}
	r.m.Logger.Info("applied a config version recorded elsewhere", "version", latest.Version, "origin", latest.Origin, "by", latest.Actor)
	return nil
}

func orDefault(s, def string) string {
	if s == "" {
		return def
	}
	return s
}

var _ api.ConfigManager = (*skillRuntime)(nil)

// ConfigVersions lists the history, newest first, and the version this
// server runs.
func (r *skillRuntime) ConfigVersions(ctx context.Context, limit int) ([]*synclayer.ConfigVersion, int, error) {
	list, err := r.m.DB.FindConfigVersions(ctx, limit)
	return list, r.running(), err
}

// ConfigVersion returns one version with its YAML.
func (r *skillRuntime) ConfigVersion(ctx context.Context, n int) (*synclayer.ConfigVersion, error) {
	return r.m.DB.FindConfigVersion(ctx, n)
}

// Rollback runs version n's customer-sync config at once, checked like any
// change, and records it as a new version: the rest of the config is the
// running one, since only skills change without a restart.
func (r *skillRuntime) Rollback(ctx context.Context, n int, actor string) (*synclayer.ConfigVersion, error) {
	v, err := r.m.DB.FindConfigVersion(ctx, n)
	if err != nil {
		return nil, err
	}
	cs, err := r.m.storedCustomerSync(v)
	if err != nil {
		return nil, err
	}
	version, err := r.apply(ctx, cs, change{origin: synclayer.ConfigFromRollback, actor: actor, note: fmt.Sprintf("rollback to version %d", n), always: true})
	if err != nil {
		return nil, err
	}
	return r.m.DB.FindConfigVersion(ctx, version)
}

// keepFleetConfig decides, for a config file that differs from the last
// one loaded, whether to leave the fleet's newest version alone: it does
// when the file's customer-sync differs from it, other instances are
// running, and ApplyConfig is off. Then this instance runs the fleet's
// version (keep), or refuses to start when that cannot run with its file.
func (m *Main) keepFleetConfig(ctx context.Context, latest *synclayer.ConfigVersion, doc string) (*CustomerSyncConfig, bool, error) {
	diff, err := fleetDiff(latest.YAML, doc)
	if err != nil || len(diff) == 0 {
		return nil, false, err
	}
	others, err := m.otherInstances(ctx)
	if err != nil {
		return nil, false, err
	}
	if len(others) == 0 {
		return nil, false, nil
	}
	if m.ApplyConfig {
		m.Logger.Warn("applying this config file's customer-sync to every instance, as --apply-config asks",
			"instances", describeInstances(others), "changes", strings.Join(diff, "; "))
		return nil, false, nil
	}
	cs, err := m.storedCustomerSync(latest)
	if err != nil {
		return nil, false, fmt.Errorf("%d other instance(s) run customer-sync from config version %d (%s), which cannot run with this config file: %w; "+
			"give this instance a config that matches theirs, or start it with --apply-config to change every instance to this file's",
			len(others), latest.Version, describeInstances(others), err)
	}
	m.Logger.Warn("NOT APPLIED: this config file's customer-sync differs from the one the other instances run; "+
		"this instance runs theirs too. To change every instance, restart one with --apply-config, or use PUT /api/v1/skills/customer-sync",
		"version", latest.Version, "instances", describeInstances(others), "differences (fleet → file)", strings.Join(diff, "; "))
	return cs, true, nil
}
