package skill_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http/httptest"
	"testing"
	"time"

	"synclayer"
	"synclayer/destination/klaviyo"
	"synclayer/destination/klaviyo/klaviyosim"
	"synclayer/destination/klaviyo/klaviyospec"
	"synclayer/skill"
	"synclayer/store/storetest"
)

// TestContactFlusher_RefusedRowGoesRealtime drives the shared flusher
// against Klaviyo's simulator, whose bulk import refuses one profile (its
// email and its external_id name two different Klaviyo profiles): the
// other contacts are recorded as delivered by the job, and the refused
// one is settled apart and sent through the realtime path, where its own
// error dead-letters it with the reason, instead of being recorded as
// delivered or sent in batches for ever.
func TestContactFlusher_RefusedRowGoesRealtime(t *testing.T) {
	ctx := context.Background()
	db := storetest.OpenSQLite(t)
	v := klaviyospec.Load(t)
	sim := klaviyosim.New(klaviyosim.Options{APIKey: "k", Validate: v.Validate})
	hs := httptest.NewServer(sim)
	t.Cleanup(hs.Close)
	d, err := klaviyo.Open("klaviyo", json.RawMessage(`{"api_key":"k","base_url":"`+hs.URL+`"}`), synclayer.DestinationEnv{})
	if err != nil {
		t.Fatal(err)
	}
	sync, err := d.(synclayer.ContactDestination).ContactSync(synclayer.ContactSyncConfig{})
	if err != nil {
		t.Fatal(err)
	}
	b := sync.(synclayer.ContactBatcher)

	const queue = "customer-sync@klaviyo"
	now := time.Now()
	var contacts []*synclayer.Contact
	for i := range 5 {
		c := &synclayer.Contact{}
		synclayer.Merge(c, &synclayer.CustomerChange{SourceID: fmt.Sprint(i), Fields: map[string]json.RawMessage{
			"email": json.RawMessage(fmt.Sprintf(`"p%d@example.com"`, i)), "firstName": json.RawMessage(`"P"`)}},
			synclayer.MergeContext{Source: "shopify", At: now})
		if err := db.Tx(ctx, func(tx synclayer.Tx) error {
			if err := tx.SaveContact(ctx, c); err != nil {
				return err
			}
			return tx.EnqueueJob(ctx, synclayer.BatchQueue(queue), "klaviyo", c.ID, now)
		}); err != nil {
			t.Fatal(err)
		}
		contacts = append(contacts, c)
	}
	conflict := contacts[2]
	sim.PutProfile(klaviyosim.Profile{Email: conflict.Email})
	sim.PutProfile(klaviyosim.Profile{ExternalID: conflict.ID})

	f := &skill.ContactFlusher{Store: db, Destination: "klaviyo", Batcher: b, RealtimeQueue: queue,
		PollMin: 10 * time.Millisecond, MaxAge: time.Hour}
	dctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	st, err := f.Drain(dctx, nil)
	if err != nil {
		t.Fatalf("drain: %v (%+v)", err, st)
	}
	if jobs := sim.BulkJobs(); len(jobs) != 1 || jobs[0].Total != 5 || jobs[0].Failed != 1 {
		t.Fatalf("bulk jobs %+v, want one of 5 profiles with one refused", jobs)
	}
	for i, c := range contacts {
		held, err := db.FindSyncState(ctx, c.ID, "klaviyo")
		switch {
		case i == 2 && err == nil:
			t.Errorf("the refused contact got a sync state as if delivered: %s", held.State)
		case i != 2 && err != nil:
			t.Errorf("contact %d of the applied job has no sync state: %v", i, err)
		}
	}
	dead, err := db.FindJobs(ctx, synclayer.JobFilter{State: synclayer.JobDead, Limit: 10})
	if err != nil || len(dead) != 1 || dead[0].RecordKey != conflict.ID || dead[0].Queue != synclayer.BatchQueue(queue) {
		t.Fatalf("dead jobs %+v (%v), want only the refused contact's, dead-lettered by its realtime attempt", dead, err)
	}
	if st.Realtime+st.Failed == 0 {
		t.Errorf("the refused contact never went through the realtime path: %+v", st)
	}
	for _, v := range sim.Violations() {
		t.Errorf("request violates Klaviyo's OpenAPI spec: %s", v)
	}
}
