package magento_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"synclayer"
	"synclayer/source/magento"
	"synclayer/source/magento/magentosim"
)

var testOAuth = magento.OAuth{ConsumerKey: "ck-test", ConsumerSecret: "cs-test", AccessToken: "at-test", AccessTokenSecret: "ats-test"}

// simURLs are the simulators' base URLs by the source startSim built.
var simURLs sync.Map

func simURL(t *testing.T, src *magento.Source) string {
	t.Helper()
	u, _ := simURLs.Load(src)
	return u.(string)
}

func permanent(err error) bool {
	var p *synclayer.PermanentError
	return errors.As(err, &p)
}

func startSim(t *testing.T) (*magentosim.Server, *magento.Source) {
	t.Helper()
	sim := magentosim.New("bearer-test", &testOAuth)
	hs := httptest.NewServer(sim)
	t.Cleanup(hs.Close)
	o := testOAuth
	src, err := magento.New("magento", nil, magento.Settings{APIURL: hs.URL, OAuth: &o}, magento.Options{Now: func() time.Time { return now }})
	if err != nil {
		t.Fatal(err)
	}
	simURLs.Store(src, hs.URL)
	return sim, src
}

func customer(id int, updated string) map[string]any {
	return map[string]any{"id": id, "email": fmt.Sprintf("c%d@example.com", id), "firstname": "C", "created_at": "2026-01-01 00:00:00", "updated_at": updated,
		"extension_attributes": map[string]any{"is_subscribed": id%2 == 0}}
}

// listAll lists kind from since to the end, and returns the dedupe keys
// read, in order, and the last cursor.
func listAll(t *testing.T, src *magento.Source, kind string, since time.Time, cursor string, limit int) ([]string, string) {
	t.Helper()
	var keys []string
	for i := 0; ; i++ {
		if i > 50 {
			t.Fatal("the listing does not end")
		}
		page, err := src.List(context.Background(), synclayer.ListRequest{Kind: kind, Since: since, Cursor: cursor, Limit: limit})
		if err != nil {
			t.Fatal(err)
		}
		if len(page.Failed) > 0 {
			t.Errorf("failed: %v", page.Failed)
		}
		for _, e := range page.Events {
			keys = append(keys, e.DedupeKey)
		}
		if page.Next == "" {
			t.Fatal("empty Next")
		}
		cursor = page.Next
		if !page.More {
			return keys, cursor
		}
	}
}

func unique(keys []string) map[string]int {
	m := map[string]int{}
	for _, k := range keys {
		m[k]++
	}
	return m
}

// TestList_EqualTimesAcrossPages: seven customers saved in one second
// (an import), listed three a page, are each read once, and the listing
// ends by total_count without asking for a page past the end.
func TestList_EqualTimesAcrossPages(t *testing.T) {
	sim, src := startSim(t)
	for id := 1; id <= 7; id++ {
		sim.Put(magentosim.Customers, customer(id, "2026-11-20 10:00:00"))
	}
	sim.Put(magentosim.Customers, customer(8, "2026-11-20 10:00:01"))
	sim.Put(magentosim.Customers, customer(9, "2026-11-19 00:00:00")) // before since
	keys, _ := listAll(t, src, synclayer.ListCustomers, time.Date(2026, 11, 20, 0, 0, 0, 0, time.UTC), "", 3)
	if len(keys) != 8 || len(unique(keys)) != 8 {
		t.Errorf("read %v, want customers 1 to 8 once each", keys)
	}
	if keys[0] != "magento:customer:1:2026-11-20T10:00:00Z" || keys[7] != "magento:customer:8:2026-11-20T10:00:01Z" {
		t.Errorf("order %v, want updated_at then entity_id ascending", keys)
	}
	for _, r := range sim.Requests() {
		q := r.URL.Query()
		if q.Get("searchCriteria[currentPage]") != "1" {
			t.Errorf("asked for page %s: %s", q.Get("searchCriteria[currentPage]"), r.URL.RawQuery)
		}
		if !strings.HasPrefix(r.Header.Get("Authorization"), "OAuth ") {
			t.Errorf("request not signed: %q", r.Header.Get("Authorization"))
		}
	}
}

// TestList_RepeatedLastPage: Magento answers a page past the end with
// the last page again. A listing whose records fill its pages exactly
// stops by total_count, and a page read again (a crash before its cursor
// was stored, then the store's repeat) yields records already read once
// more at most, never a loop.
func TestList_RepeatedLastPage(t *testing.T) {
	sim, src := startSim(t)
	for id := 1; id <= 4; id++ {
		sim.Put(magentosim.Customers, customer(id, fmt.Sprintf("2026-11-20 10:00:0%d", id)))
	}
	keys, _ := listAll(t, src, synclayer.ListCustomers, time.Time{}, "", 2)
	if len(keys) != 4 {
		t.Errorf("read %v, want 4", keys)
	}
	if n := len(sim.Requests()); n != 2 {
		t.Errorf("%d requests for 4 records two a page, want 2 (no page past the end)", n)
	}
	// The simulator does repeat the last page past the end, as Magento
	// does: a client paging on by currentPage until an empty page would
	// read customers 3 and 4 forever.
	req, _ := http.NewRequest("GET", simURL(t, src)+"/rest/default/V1/customers/search?searchCriteria%5BpageSize%5D=2&searchCriteria%5BcurrentPage%5D=9&searchCriteria%5BsortOrders%5D%5B0%5D%5Bfield%5D=entity_id", nil)
	req.Header.Set("Authorization", "Bearer bearer-test")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var pg struct {
		Items []struct {
			ID int `json:"id"`
		} `json:"items"`
		TotalCount int `json:"total_count"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&pg); err != nil || len(pg.Items) != 2 || pg.Items[0].ID != 3 || pg.TotalCount != 4 {
		t.Errorf("page 9 of 2: %+v %v, want the last page again (3, 4) and total_count 4", pg, err)
	}
}

// TestList_ChangedMidListing: records saved while a listing runs are
// neither skipped nor read in a loop: one not yet read moves to the end
// (its updated_at is now) and is read there once; one already read is
// read again at its new updated_at, a new change with its own dedupe key.
func TestList_ChangedMidListing(t *testing.T) {
	sim, src := startSim(t)
	for id := 1; id <= 6; id++ {
		sim.Put(magentosim.Customers, customer(id, fmt.Sprintf("2026-11-20 10:00:0%d", id)))
	}
	calls := 0
	sim.OnList(func(string, int) {
		if calls++; calls == 1 {
			sim.Touch(magentosim.Customers, 1, map[string]any{"updated_at": "2026-11-20 11:00:00"}) // read already
			sim.Touch(magentosim.Customers, 4, map[string]any{"updated_at": "2026-11-20 11:00:00"}) // not yet
		}
	})
	keys, _ := listAll(t, src, synclayer.ListCustomers, time.Time{}, "", 2)
	want := []string{"magento:customer:1:2026-11-20T10:00:01Z", "magento:customer:2:2026-11-20T10:00:02Z",
		"magento:customer:3:2026-11-20T10:00:03Z", "magento:customer:5:2026-11-20T10:00:05Z", "magento:customer:6:2026-11-20T10:00:06Z",
		"magento:customer:1:2026-11-20T11:00:00Z", "magento:customer:4:2026-11-20T11:00:00Z"}
	if fmt.Sprint(keys) != fmt.Sprint(want) {
		t.Errorf("read\n%v\nwant\n%v", keys, want)
	}
}

// TestList_NextPoll: a finished listing's cursor reads what changed since,
// a customer saved in the second the last listing ended in included, and
// what it reads again from the last seconds has the keys read before.
func TestList_NextPoll(t *testing.T) {
	sim, src := startSim(t)
	sim.Put(magentosim.Customers, customer(5, "2026-11-20 10:00:00"))
	keys, cursor := listAll(t, src, synclayer.ListCustomers, time.Time{}, "", 10)
	if len(keys) != 1 {
		t.Fatalf("first poll %v", keys)
	}
	sim.Put(magentosim.Customers, customer(2, "2026-11-20 10:00:00")) // same second, lower id, committed late
	sim.Put(magentosim.Customers, customer(7, "2026-11-20 10:05:00"))
	again, _ := listAll(t, src, synclayer.ListCustomers, time.Time{}, cursor, 10)
	got := unique(again)
	for _, k := range []string{"magento:customer:2:2026-11-20T10:00:00Z", "magento:customer:7:2026-11-20T10:05:00Z"} {
		if got[k] != 1 {
			t.Errorf("next poll %v lacks %s", again, k)
		}
	}
	for k := range got {
		if !strings.Contains(k, ":2:") && !strings.Contains(k, ":7:") && k != keys[0] {
			t.Errorf("next poll read %s", k)
		}
	}
}

// TestList_Errors: a 429 is Throttled with Retry-After; a refused
// credential is permanent and names the setting, never its value; an
// outage is retried; a record that cannot be read is in Failed and the
// rest of the page is read.
func TestList_Errors(t *testing.T) {
	ctx := context.Background()
	t.Run("RateLimit", func(t *testing.T) {
		sim, src := startSim(t)
		sim.Throttle(1)
		_, err := src.List(ctx, synclayer.ListRequest{Kind: synclayer.ListOrders})
		var ra *synclayer.RetryAfterError
		if !errors.As(err, &ra) || !ra.Throttled || ra.After != time.Second {
			t.Errorf("429: %v, want Throttled for 1s", err)
		}
	})
	t.Run("Outage", func(t *testing.T) {
		sim, src := startSim(t)
		sim.Put(magentosim.Orders, map[string]any{"entity_id": 9, "grand_total": 1, "order_currency_code": "EUR", "updated_at": "2026-11-20 10:00:00"})
		sim.Outage(2)
		page, err := src.List(ctx, synclayer.ListRequest{Kind: synclayer.ListOrders})
		if err != nil || len(page.Events) != 1 {
			t.Errorf("after two 503s: %v %v, want the order", page.Events, err)
		}
		sim.Outage(5)
		if _, err := src.List(ctx, synclayer.ListRequest{Kind: synclayer.ListOrders}); err == nil || permanent(err) {
			t.Errorf("a long outage: %v, want a retryable error", err)
		}
	})
	t.Run("Refused", func(t *testing.T) {
		_, good := startSim(t)
		for name, s := range map[string]magento.Settings{
			"oauth":  {OAuth: &magento.OAuth{ConsumerKey: "ck-test", ConsumerSecret: "wrong-secret", AccessToken: "at-test", AccessTokenSecret: "ats-test"}},
			"bearer": {AccessToken: "wrong-token"},
		} {
			s.APIURL = simURL(t, good)
			src, err := magento.New("magento", nil, s, magento.Options{})
			if err != nil {
				t.Fatal(err)
			}
			_, err = src.List(ctx, synclayer.ListRequest{Kind: synclayer.ListCustomers})
			if !permanent(err) || !strings.Contains(err.Error(), name) || strings.Contains(err.Error(), "wrong-") {
				t.Errorf("%s: %v, want a permanent error naming the setting, not its value", name, err)
			}
			if !strings.Contains(err.Error(), "isn't authorized to access Magento_Customer::customer") {
				t.Errorf("%s: %v, want Magento's message with its parameters", name, err)
			}
		}
	})
	t.Run("Bearer", func(t *testing.T) {
		_, good := startSim(t)
		src, _ := magento.New("magento", nil, magento.Settings{APIURL: simURL(t, good), AccessToken: "bearer-test"}, magento.Options{})
		if _, err := src.List(ctx, synclayer.ListRequest{Kind: synclayer.ListProducts}); err != nil {
			t.Error(err)
		}
	})
	t.Run("Failed", func(t *testing.T) {
		sim, src := startSim(t)
		sim.Put(magentosim.Products, map[string]any{"id": 1, "name": "A", "sku": "A", "price": "x", "updated_at": "2026-11-20 10:00:00"})
		sim.Put(magentosim.Products, map[string]any{"id": 2, "name": "B", "sku": "B", "price": 2, "updated_at": "2026-11-20 10:00:01"})
		page, err := src.List(ctx, synclayer.ListRequest{Kind: synclayer.ListProducts})
		if err != nil || len(page.Events) != 1 || len(page.Failed) != 1 || synclayer.ErrorCode(page.Failed[0]) != synclayer.EINVALID ||
			!strings.Contains(page.Failed[0].Error(), "product 1") || !strings.Contains(page.Failed[0].Error(), "price") {
			t.Errorf("page %v failed %v err %v, want product 2 and product 1's price failed", page.Events, page.Failed, err)
		}
	})
	t.Run("Cursor", func(t *testing.T) {
		_, src := startSim(t)
		_, err := src.List(ctx, synclayer.ListRequest{Kind: synclayer.ListCustomers, Cursor: "garbage!"})
		if !permanent(err) || errors.Is(err, context.Canceled) {
			t.Errorf("a bad cursor: %v", err)
		}
	})
}
