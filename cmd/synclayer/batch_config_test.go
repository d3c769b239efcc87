package main

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"
)

func TestConfig_BatchMode(t *testing.T) {
	t.Parallel()
	cfg, err := ParseConfig([]byte(`
sources:
  shopify: { secret: "s" }
skills:
  customer-sync:
    enabled: true
    source: shopify
    options: { sync_mode: batch, batch: { interval: 2m, max_size: 800 }, list_id: 5, import_list_id: 12 }
  order-events:    { enabled: true, source: shopify, options: { sync_mode: batch } }
  product-catalog: { enabled: true, source: shopify, options: { sync_mode: batch, batch: { interval: 30s } } }
`), "")
	if err != nil {
		t.Fatal(err)
	}
	o := cfg.Skills.CustomerSync.Options
	if o.SyncMode != "batch" || time.Duration(o.Batch.Interval) != 2*time.Minute || o.Batch.MaxSize != 800 || fmt.Sprint(o.Extra["import_list_id"]) != "12" {
		t.Errorf("customer-sync options %+v", o)
	}
	if b := cfg.Skills.OrderEvents.Options.Batch; time.Duration(b.Interval) != 5*time.Minute || b.MaxSize != 5000 {
		t.Errorf("order-events defaults %+v, want 5m and 5000", b)
	}
	if b := cfg.Skills.ProductCatalog.Options.Batch; time.Duration(b.Interval) != 30*time.Second {
		t.Errorf("product-catalog %+v", b)
	}
	// The stored version reads back the same.
	doc, err := cfg.versionYAML()
	if err != nil {
		t.Fatal(err)
	}
	skills, err := skillsOf(doc)
	if err != nil {
		t.Fatal(err)
	}
	if skills.CustomerSync.Options.Batch != o.Batch || fmt.Sprint(skills.CustomerSync.Options.Extra["import_list_id"]) != "12" {
		t.Errorf("stored version: %+v\n%s", skills.CustomerSync.Options, doc)
	}

	// The admin API takes the same options as JSON.
	m := &Main{Config: cfg}
	cs, err := m.parseCustomerSync(json.RawMessage(`{"source":"shopify","options":{"sync_mode":"batch","batch":{"interval":"90s","max_size":100},"list_id":5,"import_list_id":12}}`))
	if err != nil || time.Duration(cs.Options.Batch.Interval) != 90*time.Second || cs.Options.Batch.MaxSize != 100 {
		t.Fatalf("admin API: %+v, %v", cs, err)
	}
	raw, _ := json.Marshal(cs.Options)
	if !strings.Contains(string(raw), `"interval":"1m30s"`) {
		t.Errorf("options as JSON: %s", raw)
	}
	_, err = m.parseCustomerSync(json.RawMessage(`{"source":"shopify","options":{"sync_mode":"batch","batch":{"interval":5}}}`))
	if err == nil || !strings.Contains(err.Error(), "interval") {
		t.Errorf("a numeric interval: %v, want an error naming it", err)
	}
}
