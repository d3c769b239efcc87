package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"os"
	"strings"
	"time"

	"synclayer"
)

// instanceTTL is how long an instance counts as running after its last
// heartbeat. Heartbeats come with every config poll (DefaultConfigPoll),
// so three missed ones mean it stopped or was killed.
const instanceTTL = 3 * DefaultConfigPoll

// fleetSkill is the part of the config every instance sharing a database
// runs the same: the one a version recorded by any of them changes in all
// (watchConfig). The rest (server, storage, log, other skills) is each
// instance's own file.
const fleetSkill = "skills.customer-sync"

// newInstance describes this server for the instances table.
func newInstance() *synclayer.Instance {
	var b [8]byte
	_, _ = rand.Read(b[:])
	host, _ := os.Hostname()
	return &synclayer.Instance{ID: hex.EncodeToString(b[:]), Host: host, PID: os.Getpid(), StartedAt: time.Now().UTC()}
}

// otherInstances lists the running instances other than this one.
func (m *Main) otherInstances(ctx context.Context) ([]*synclayer.Instance, error) {
	list, err := m.DB.FindInstances(ctx, time.Now().Add(-instanceTTL))
	if err != nil {
		return nil, err
	}
	var out []*synclayer.Instance
	for _, in := range list {
		if m.instance == nil || in.ID != m.instance.ID {
			out = append(out, in)
		}
	}
	return out, nil
}

// heartbeat records this instance as running, with the version it runs.
func (m *Main) heartbeat(ctx context.Context) error {
	if m.instance == nil {
		return nil
	}
	m.instance.Addr = m.Addr
	if m.skills != nil {
		m.instance.ConfigVersion = m.skills.running()
	}
	return m.DB.RecordInstance(ctx, m.instance)
}

// fleetDiff returns the keys of customer-sync that differ between two
// stored configs, as synclayer config diff prints them ("~ key: a → b").
func fleetDiff(a, b string) ([]string, error) {
	lines, err := diffConfig(a, b)
	if err != nil {
		return nil, err
	}
	var out []string
	for _, l := range lines {
		if len(l) > 2 && strings.HasPrefix(l[2:], fleetSkill) {
			out = append(out, l)
		}
	}
	return out, nil
}

// describeInstances names instances for a log line: "host:pid at addr".
func describeInstances(list []*synclayer.Instance) string {
	parts := make([]string, len(list))
	for i, in := range list {
		parts[i] = fmt.Sprintf("%s pid %d at %s (version %d)", in.Host, in.PID, in.Addr, in.ConfigVersion)
	}
	return strings.Join(parts, "; ")
}
