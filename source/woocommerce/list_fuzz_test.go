package woocommerce_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"sync"
	"testing"

	"synclayer"
	"synclayer/source/sourcetest"
	"synclayer/source/woocommerce"
)

// FuzzList serves whatever page it is given as a listing's answer. A
// page gives events, each as complete as a webhook's, and Failed entries
// that are EINVALID *Errors naming the record, or an error; never a
// panic. (The webhook path's mapping is fuzzed by FuzzParse.)
func FuzzList(f *testing.F) {
	for _, dir := range []string{"customer-updated", "order-updated-refund", "product-variation", "wrong-type-email", "bad-date-modified"} {
		if body, err := os.ReadFile(filepath.Join("testdata", dir, "body.json")); err == nil {
			f.Add("customers", append(append([]byte("["), body...), ']'))
			f.Add("orders", append(append([]byte("["), body...), ']'))
		}
	}
	f.Add("products", []byte(`[{"id":1},"x",null,[],{"id":"2","date_modified_gmt":5}]`))
	f.Add("customers", []byte(`{"code":"x"}`))
	var (
		mu   sync.Mutex
		page []byte
	)
	hs := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		defer mu.Unlock()
		w.Header().Set("X-WP-Total", "1")
		w.Header().Set("X-WP-TotalPages", "1")
		_, _ = w.Write(page)
	}))
	f.Cleanup(hs.Close)
	api, err := (&woocommerce.APISettings{URL: hs.URL, ConsumerKey: testKey, ConsumerSecret: testAPISec}).Config()
	if err != nil {
		f.Fatal(err)
	}
	src := woocommerce.New(woocommerce.Config{Secrets: []string{testSecret}, API: &api})
	f.Fuzz(func(t *testing.T, kind string, body []byte) {
		switch kind {
		case synclayer.ListCustomers, synclayer.ListOrders, synclayer.ListProducts:
		default:
			kind = synclayer.ListCustomers
		}
		mu.Lock()
		page = body
		mu.Unlock()
		p, err := src.List(context.Background(), synclayer.ListRequest{Kind: kind})
		if err != nil {
			return
		}
		for _, e := range p.Events {
			sourcetest.CheckFuzzResult(t, []*synclayer.Event{e}, nil)
		}
		for _, ferr := range p.Failed {
			var se *synclayer.Error
			if !errors.As(ferr, &se) || se.Code != synclayer.EINVALID || se.Message == "" {
				t.Fatalf("Failed entry %#v is not an EINVALID *synclayer.Error", ferr)
			}
		}
	})
}
