package klaviyosim_test

import (
	"net/http"
	"testing"

	"synclayer/destination/klaviyo/klaviyosim"
)

func eventBody(metric, email, uid string) string {
	return `{"data":{"type":"event","attributes":{"properties":{"OrderId":"o1"},"value":409.94,"value_currency":"EUR","unique_id":"` + uid +
		`","time":"2026-07-01T10:00:00Z","metric":{"data":{"type":"metric","attributes":{"name":"` + metric +
		`"}}},"profile":{"data":{"type":"profile","attributes":{"email":"` + email + `","external_id":"c-` + email + `"}}}}}}`
}

func TestServer_Events(t *testing.T) {
	e := mustEnv(t, klaviyosim.Options{})
	sub := e.sim.PutProfile(klaviyosim.Profile{Email: "ann@example.com", EmailConsent: "SUBSCRIBED"})
	for _, b := range []string{eventBody("Placed Order", "ann@example.com", "o1"), eventBody("Placed Order", "ann@example.com", "o1"),
		eventBody("Ordered Product", "ann@example.com", "o1"), eventBody("Placed Order", "bob@example.com", "o1")} {
		if a := e.do(t, "POST", "/api/events", b); a.status != http.StatusAccepted {
			t.Fatalf("POST /api/events = %d %v", a.status, a.body)
		}
	}
	evs := e.sim.Events()
	if len(evs) != 3 || len(e.sim.EventsNamed("Placed Order")) != 2 || len(e.sim.Metrics()) != 2 {
		t.Fatalf("%d events, %d metrics: want the repeated unique_id recorded once per profile and metric", len(evs), len(e.sim.Metrics()))
	}
	if evs[0].Value != "409.94" || evs[0].ProfileID != sub {
		t.Errorf("event %+v", evs[0])
	}
	p, _ := e.sim.Profile(sub)
	if p.EmailConsent != "SUBSCRIBED" || p.ExternalID != "c-ann@example.com" {
		t.Errorf("profile %+v: want consent kept and external_id filled in", p)
	}
	if p, ok := e.sim.Profile("bob@example.com"); !ok || p.EmailConsent != "NEVER_SUBSCRIBED" {
		t.Errorf("bob %+v (%v): want created without consent", p, ok)
	}
	bad := `{"data":{"type":"event","attributes":{"properties":{},"metric":{"data":{"type":"metric","attributes":{"name":"X"}}},"profile":{"data":{"type":"profile","attributes":{"email":"ann@example.com","subscriptions":{}}}}}}}`
	if a := e.do(t, "POST", "/api/events", bad); a.status != http.StatusBadRequest {
		t.Errorf("an event with subscriptions = %d, want 400", a.status)
	}
}

func TestServer_Catalog(t *testing.T) {
	e := mustEnv(t, klaviyosim.Options{})
	const itemID = "$custom:::$default:::p1"
	item := `{"data":{"type":"catalog-item","attributes":{"external_id":"p1","title":"Tee","description":"Tee","url":"https://shop.example/tee","price":19.9},` +
		`"relationships":{"categories":{"data":[{"type":"catalog-category","id":"$custom:::$default:::c1"}]}}}}`
	steps := []struct {
		name, method, path, body string
		status                   int
	}{
		{"ItemBeforeCategory", "POST", "/api/catalog-items", item, http.StatusNotFound},
		{"Category", "POST", "/api/catalog-categories", `{"data":{"type":"catalog-category","attributes":{"external_id":"c1","name":"Shirts"}}}`, http.StatusCreated},
		{"Item", "POST", "/api/catalog-items", item, http.StatusCreated},
		{"ItemAgain", "POST", "/api/catalog-items", item, http.StatusConflict},
		{"BlankTitle", "POST", "/api/catalog-items", `{"data":{"type":"catalog-item","attributes":{"external_id":"p2","title":" ","description":"d","url":"u"}}}`, http.StatusBadRequest},
		{"Update", "PATCH", "/api/catalog-items/" + itemID, `{"data":{"type":"catalog-item","id":"` + itemID + `","attributes":{"price":17.5,"image_full_url":null}}}`, http.StatusOK},
		{"VariantNoItem", "POST", "/api/catalog-variants", variant("$custom:::$default:::nope"), http.StatusNotFound},
		{"Variant", "POST", "/api/catalog-variants", variant(itemID), http.StatusCreated},
		{"Rename", "PATCH", "/api/catalog-categories/$custom:::$default:::c1", `{"data":{"type":"catalog-category","id":"$custom:::$default:::c1","attributes":{"name":"T-Shirts"}}}`, http.StatusOK},
		{"DeleteItem", "DELETE", "/api/catalog-items/" + itemID, "", http.StatusNoContent},
		{"DeleteAgain", "DELETE", "/api/catalog-items/" + itemID, "", http.StatusNotFound},
		{"UpdateGone", "PATCH", "/api/catalog-items/" + itemID, `{"data":{"type":"catalog-item","id":"` + itemID + `","attributes":{"title":"x"}}}`, http.StatusNotFound},
	}
	for _, s := range steps {
		if a := e.do(t, s.method, s.path, s.body); a.status != s.status {
			t.Fatalf("%s: %s %s = %d %v, want %d", s.name, s.method, s.path, a.status, a.body, s.status)
		}
	}
	if n := len(e.sim.CatalogVariants()); n != 0 {
		t.Errorf("%d variants left after their item was deleted", n)
	}
	if c := e.sim.CatalogCategories(); len(c) != 1 || c[0].Name != "T-Shirts" {
		t.Errorf("categories %+v", c)
	}
}

func variant(item string) string {
	return `{"data":{"type":"catalog-variant","attributes":{"external_id":"v1","title":"Tee M","description":"Tee M","sku":"TEE-M","inventory_quantity":4,"price":19.9,"url":"https://shop.example/tee"},` +
		`"relationships":{"item":{"data":{"type":"catalog-item","id":"` + item + `"}}}}}`
}
