package woosim_test

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"synclayer/source/woocommerce/woosim"
)

// TestServer_AsDocumented checks the simulator against the REST API's
// documentation (docs/platforms/woocommerce.md): the error body, the
// paging headers and WordPress's per_page limit.
func TestServer_AsDocumented(t *testing.T) {
	sim := woosim.New("ck_1", "cs_1")
	sim.Seed(woosim.Orders, 25, time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC), time.Hour)
	hs := httptest.NewServer(sim)
	defer hs.Close()
	get := func(path, key, secret string) (*http.Response, []byte) {
		t.Helper()
		req, _ := http.NewRequest(http.MethodGet, hs.URL+"/wp-json/wc/v3/"+path, nil)
		if key != "" {
			req.SetBasicAuth(key, secret)
		}
		resp, err := hs.Client().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var b json.RawMessage
		_ = json.NewDecoder(resp.Body).Decode(&b)
		return resp, b
	}
	for _, c := range []struct {
		name, path, key, secret string
		status                  int
		code                    string
	}{
		{"NoAuth", "orders", "", "", 401, "woocommerce_rest_cannot_view"},
		{"WrongSecret", "orders", "ck_1", "cs_2", 401, "woocommerce_rest_authentication_error"},
		{"PerPageOver100", "orders?per_page=101", "ck_1", "cs_1", 400, "rest_invalid_param"},
		{"NoRoute", "coupons", "ck_1", "cs_1", 404, "rest_no_route"},
	} {
		resp, body := get(c.path, c.key, c.secret)
		var e struct {
			Code string `json:"code"`
			Data struct {
				Status int `json:"status"`
			} `json:"data"`
			Message string `json:"message"`
		}
		if err := json.Unmarshal(body, &e); err != nil || resp.StatusCode != c.status || e.Code != c.code || e.Data.Status != c.status || e.Message == "" {
			t.Errorf("%s: %d %s, want %d {code: %s, data.status}", c.name, resp.StatusCode, body, c.status, c.code)
		}
	}
	resp, body := get("orders?per_page=10&page=3&orderby=id&order=asc", "ck_1", "cs_1")
	var page []struct {
		ID int `json:"id"`
	}
	_ = json.Unmarshal(body, &page)
	if resp.Header.Get("X-WP-Total") != "25" || resp.Header.Get("X-WP-TotalPages") != "3" || len(page) != 5 || page[0].ID != 21 {
		t.Errorf("page 3: %v %s", resp.Header, body)
	}
	resp, body = get("orders?modified_after=2026-01-01T20:00:00&dates_are_gmt=true", "ck_1", "cs_1")
	page = nil
	_ = json.Unmarshal(body, &page)
	if resp.Header.Get("X-WP-Total") != "4" || len(page) != 4 || page[0].ID != 25 {
		t.Errorf("modified_after, newest first by default: %v %s", resp.Header.Get("X-WP-Total"), body)
	}
	sim.Throttle(1, "3")
	if resp, _ := get("orders", "ck_1", "cs_1"); resp.StatusCode != 429 || resp.Header.Get("Retry-After") != "3" {
		t.Errorf("throttled: %d %v", resp.StatusCode, resp.Header)
	}
}
