package storetest

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	"synclayer"
)

// testNotificationOutbox checks that the attempts of marked skills, and
// only those, reach the notifier once; that a notification is stored and
// queued once however often it is added; and that one incident per skill
// and kind can be open.
func testNotificationOutbox(t *testing.T, s synclayer.Store) {
	ns, ok := s.(synclayer.NotificationStore)
	marker, ok2 := s.(interface{ MarkDeliveries(...string) })
	if !ok || !ok2 {
		t.Fatalf("%T does not implement synclayer.NotificationStore and MarkDeliveries", s)
	}
	ctx := context.Background()
	enqueue(t, s, "ct_before", t0)
	j, _ := s.ClaimJobs(ctx, "customer-sync", 1, time.Minute, t0)
	if err := s.CompleteJob(ctx, j[0], nil, nil, t0); err != nil {
		t.Fatal(err)
	}
	marker.MarkDeliveries("customer-sync")
	enqueue(t, s, "ct_1", t0)
	enqueue(t, s, "ct_2", t0)
	jobs, _ := s.ClaimJobs(ctx, "customer-sync", 2, time.Minute, t0)
	if err := s.CompleteJob(ctx, jobs[0], nil, nil, t0.Add(time.Second)); err != nil {
		t.Fatal(err)
	}
	if err := s.DeadJob(ctx, jobs[1], "400 invalid_parameter", nil, t0.Add(2*time.Second)); err != nil {
		t.Fatal(err)
	}
	mustTx(t, s, func(tx synclayer.Tx) error { return tx.EnqueueJob(ctx, "other", "x", "r", t0) })
	o, _ := s.ClaimJobs(ctx, "other", 1, time.Minute, t0)
	if err := s.CompleteJob(ctx, o[0], nil, nil, t0); err != nil {
		t.Fatal(err)
	}

	var got []*synclayer.Delivery
	n, err := ns.TakeDeliveries(ctx, 10, func(tx synclayer.NotificationTx, ds []*synclayer.Delivery) error {
		got = ds
		for _, d := range ds {
			n := &synclayer.Notification{ID: "msg_" + string(d.Outcome), Channel: synclayer.ChannelWebhook, Type: synclayer.NotifySyncFailed,
				Body: json.RawMessage(`{"type":"sync_failed"}`), CreatedAt: d.At}
			for range 2 {
				if _, err := tx.AddNotification(ctx, n); err != nil {
					return err
				}
			}
		}
		return nil
	})
	if err != nil || n != 2 || got[0].Outcome != synclayer.DeliveryDelivered || got[1].Outcome != synclayer.DeliveryDead || got[1].Reason != "400 invalid_parameter" {
		t.Fatalf("took %d: %+v, %v; want ct_1 delivered then ct_2 dead, and nothing from before the mark or from other skills", n, got, err)
	}
	if n, _ := ns.TakeDeliveries(ctx, 10, func(synclayer.NotificationTx, []*synclayer.Delivery) error { return nil }); n != 0 {
		t.Errorf("attempts taken twice: %d", n)
	}
	queued, _ := s.FindJobs(ctx, synclayer.JobFilter{Queue: synclayer.NotifySkill})
	if len(queued) != 2 || queued[0].Destination != "webhook" {
		t.Errorf("notification jobs: %+v, want one per notification", queued)
	}
	nt, err := ns.FindNotification(ctx, "msg_dead")
	if err != nil || string(nt.Body) != `{"type":"sync_failed"}` || nt.Channel != synclayer.ChannelWebhook {
		t.Errorf("find notification: %+v, %v", nt, err)
	}
	if _, err := ns.FindNotification(ctx, "msg_none"); synclayer.ErrorCode(err) != synclayer.ENOTFOUND {
		t.Errorf("missing notification: %v, want ENOTFOUND", err)
	}

	open := &synclayer.Incident{Skill: "customer-sync", Kind: synclayer.NotifySyncFailed, OpenedAt: t0, LastAt: t0, Failures: 1}
	err = ns.NotificationTx(ctx, func(tx synclayer.NotificationTx) error { return tx.SaveIncident(ctx, open) })
	if err != nil || open.ID == 0 {
		t.Fatalf("open incident: %v", err)
	}
	err = ns.NotificationTx(ctx, func(tx synclayer.NotificationTx) error {
		return tx.SaveIncident(ctx, &synclayer.Incident{Skill: "customer-sync", Kind: synclayer.NotifySyncFailed, OpenedAt: t0, LastAt: t0})
	})
	if synclayer.ErrorCode(err) != synclayer.ECONFLICT {
		t.Errorf("second open incident: %v, want ECONFLICT", err)
	}
	open.Failures, open.ClosedAt = 3, t0.Add(time.Hour)
	if err := ns.NotificationTx(ctx, func(tx synclayer.NotificationTx) error { return tx.SaveIncident(ctx, open) }); err != nil {
		t.Fatal(err)
	}
	var still []*synclayer.Incident
	_ = ns.NotificationTx(ctx, func(tx synclayer.NotificationTx) (err error) { still, err = tx.FindOpenIncidents(ctx); return err })
	all, _ := ns.FindIncidents(ctx, 10)
	if len(still) != 0 || len(all) != 1 || all[0].Failures != 3 || all[0].Open() {
		t.Errorf("after close: open %+v, all %+v", still, all)
	}
	counts, err := ns.CountDeliveries(ctx, t0)
	if err != nil || counts["customer-sync"][synclayer.DeliveryDelivered] != 2 || counts["customer-sync"][synclayer.DeliveryDead] != 1 {
		t.Errorf("counts %v, %v", counts, err)
	}
}

// testConfigVersions checks numbering, the optimistic ifLatest, and that
// listing leaves the YAML out.
func testConfigVersions(t *testing.T, s synclayer.Store) {
	cs, ok := s.(synclayer.ConfigStore)
	if !ok {
		t.Fatalf("%T does not implement synclayer.ConfigStore", s)
	}
	ctx := context.Background()
	if _, err := cs.FindLatestConfigVersion(ctx, ""); synclayer.ErrorCode(err) != synclayer.ENOTFOUND {
		t.Fatalf("empty history: %v, want ENOTFOUND", err)
	}
	v1 := &synclayer.ConfigVersion{CreatedAt: t0, Actor: "cli", Origin: synclayer.ConfigFromFile, YAML: "a: 1\n"}
	if err := cs.AddConfigVersion(ctx, v1, 0); err != nil || v1.Version != 1 {
		t.Fatalf("first version: %d, %v", v1.Version, err)
	}
	stale := &synclayer.ConfigVersion{CreatedAt: t0, Actor: "cli", Origin: synclayer.ConfigFromFile, YAML: "a: 1\n"}
	if err := cs.AddConfigVersion(ctx, stale, 0); synclayer.ErrorCode(err) != synclayer.ECONFLICT {
		t.Errorf("add with a stale ifLatest: %v, want ECONFLICT", err)
	}
	v2 := &synclayer.ConfigVersion{CreatedAt: t0.Add(time.Minute), Actor: "ops", Origin: synclayer.ConfigFromAPI, Note: "PUT", YAML: "a: 2\n"}
	if err := cs.AddConfigVersion(ctx, v2, -1); err != nil || v2.Version != 2 {
		t.Fatalf("second version: %d, %v", v2.Version, err)
	}
	latest, err := cs.FindLatestConfigVersion(ctx, "")
	if err != nil || latest.Version != 2 || latest.YAML != "a: 2\n" || latest.Actor != "ops" || !latest.CreatedAt.Equal(v2.CreatedAt) {
		t.Errorf("latest: %+v, %v", latest, err)
	}
	if f, err := cs.FindLatestConfigVersion(ctx, synclayer.ConfigFromFile); err != nil || f.Version != 1 {
		t.Errorf("latest from a file: %+v, %v", f, err)
	}
	list, err := cs.FindConfigVersions(ctx, 10)
	if err != nil || len(list) != 2 || list[0].Version != 2 || list[0].YAML != "" || list[1].Origin != synclayer.ConfigFromFile {
		t.Errorf("list: %+v, %v", list, err)
	}
	if _, err := cs.FindConfigVersion(ctx, 9); synclayer.ErrorCode(err) != synclayer.ENOTFOUND {
		t.Errorf("missing version: %v, want ENOTFOUND", err)
	}
}

// testInstances checks that an instance is listed while its heartbeat is
// recent, refreshed in place, and gone once removed.
func testInstances(t *testing.T, s synclayer.Store) {
	is, ok := s.(synclayer.InstanceStore)
	if !ok {
		t.Fatalf("%T does not implement synclayer.InstanceStore", s)
	}
	ctx := context.Background()
	a := &synclayer.Instance{ID: "a", Host: "h1", PID: 10, Addr: "10.0.0.1:8080", ConfigVersion: 3, StartedAt: time.Now().Add(-time.Minute)}
	b := &synclayer.Instance{ID: "b", Host: "h2", PID: 20, Addr: "10.0.0.2:8080", ConfigVersion: 3, StartedAt: time.Now()}
	for _, in := range []*synclayer.Instance{a, b} {
		if err := is.RecordInstance(ctx, in); err != nil {
			t.Fatal(err)
		}
	}
	before := time.Now()
	a.ConfigVersion = 4
	if err := is.RecordInstance(ctx, a); err != nil {
		t.Fatal(err)
	}
	list, err := is.FindInstances(ctx, time.Now().Add(-time.Minute))
	if err != nil {
		t.Fatal(err)
	}
	if len(list) != 2 || list[0].ID != "a" || list[1].ID != "b" || list[0].ConfigVersion != 4 || list[0].Addr != a.Addr || list[0].PID != 10 {
		t.Fatalf("instances %+v, want a (version 4) then b", list)
	}
	// Only a heartbeat after since counts: b's is older than a's refresh.
	if recent, _ := is.FindInstances(ctx, before); len(recent) != 1 || recent[0].ID != "a" {
		t.Errorf("seen since the refresh: %+v, want only a", recent)
	}
	if err := is.RemoveInstance(ctx, "a"); err != nil {
		t.Fatal(err)
	}
	if list, _ := is.FindInstances(ctx, time.Time{}); len(list) != 1 || list[0].ID != "b" {
		t.Errorf("after removing a: %+v, want b", list)
	}
}
