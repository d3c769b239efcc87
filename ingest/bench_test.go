package ingest_test

import (
	"context"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"synclayer"
	"synclayer/ingest"
	"synclayer/store/storetest"
)

// BenchmarkIngest measures durable ingests per second from many concurrent
// callers, as webhook handlers make them: go test -bench Ingest ./ingest
func BenchmarkIngest(b *testing.B) {
	for _, db := range []string{"sqlite", "postgres"} {
		b.Run(db, func(b *testing.B) {
			var s synclayer.Store
			if db == "sqlite" {
				s = storetest.OpenSQLite(b)
			} else {
				s = storetest.OpenPostgres(b)
			}
			in := ingest.New(ingest.Config{Store: s, GroupCommit: db == "sqlite", Routes: []ingest.Route{{Skill: "customer-sync", Destination: "brevo", Sources: []string{"shopify"}}}})
			var n atomic.Int64
			t0 := time.Now()
			b.SetParallelism(16)
			b.ResetTimer()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					i := n.Add(1)
					if _, err := in.Ingest(context.Background(), []*synclayer.Event{event(fmt.Sprint("wh-", i), fmt.Sprintf("b%d@example.com", i), fmt.Sprint(i), t0)}); err != nil {
						b.Fatal(err)
					}
				}
			})
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "ingests/s")
		})
	}
}
