package main

import (
	"context"

	"synclayer"
	"synclayer/ingest"
	"synclayer/skill"
)

// openSources builds each configured source with its accepted secrets.
// One that cannot be built is logged and not served; config validation
// has refused what it can, so what remains is a platform's own refusal.
func (m *Main) openSources(secrets map[string][]string) {
	m.sources = map[string]synclayer.Source{}
	for name, sec := range secrets {
		src, err := m.Config.openSourceShared(name, sec, m.DB)
		if err != nil {
			m.Logger.Error("source not served", "source", name, "err", err)
			continue
		}
		m.sources[name] = src
	}
}

// consentWriters are the sources whose platform takes opt-outs made
// elsewhere (Shopify with admin: configured), by name.
func (m *Main) consentWriters() map[string]synclayer.ConsentWriter {
	out := map[string]synclayer.ConsentWriter{}
	for name, src := range m.sources {
		if w, ok := src.(synclayer.ConsentWriter); ok {
			out[name] = w
		}
	}
	return out
}

// writeBackQueue is the queue of the consent write-back to source.
func writeBackQueue(source string) string {
	return synclayer.Queue(skill.ConsentWriteBackName, source)
}

// writeBackIngest adds each consent writer's write-back to an ingest
// config, so an opt-out made elsewhere queues its write-back in the
// transaction that records it.
func (m *Main) writeBackIngest(cfg *ingest.Config) {
	for _, name := range sortedNames(m.consentWriters()) {
		cfg.WriteBacks = append(cfg.WriteBacks, ingest.WriteBack{Source: name, Queue: writeBackQueue(name)})
	}
}

// startWriteBacks runs each consent writer's write-back worker, with the
// queue's retries, rate-limit waits and dead letters.
func (m *Main) startWriteBacks() {
	for _, name := range sortedNames(m.consentWriters()) {
		w := m.consentWriters()[name]
		m.startWorker(writeBackQueue(name), &skill.ConsentWriteBack{Store: m.DB, Source: name, Writer: w})
		m.Logger.Info("consent write-back started", "source", name, "queue", writeBackQueue(name))
	}
}

// startFetchers runs each fetching source's worker (synclayer.Fetcher):
// the records its notifications name are read from the platform on the
// source's fetch queue, with the queue's retries, rate-limit waits and
// dead letters, and ingested as any webhook's events.
func (m *Main) startFetchers() {
	for _, name := range sortedNames(m.sources) {
		f, ok := m.sources[name].(synclayer.Fetcher)
		if !ok {
			continue
		}
		q := synclayer.FetchQueue(name)
		m.startWorker(q, &skill.Fetch{Source: name, Fetcher: f, Ingest: func(ctx context.Context, evs []*synclayer.Event) error {
			_, err := m.Ingester.Ingest(ctx, evs)
			return err
		}})
		m.Logger.Info("fetches started", "source", name, "queue", q)
	}
}
