package main

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"sync"
	"sync/atomic"
	"time"
)

// webhook is one prepared Shopify delivery. Bodies are built and signed
// before the clock starts, so the load generator's CPU goes to sending.
type webhook struct {
	email  string
	body   []byte
	header http.Header
}

var firstNames = []string{"Jane", "Omar", "Mei", "Lucas", "Amara", "Sven", "Priya", "Diego"}

// prepareWebhooks returns n customers/create webhooks for customer ids
// from first on, each with its own email, phone and webhook id, shaped like
// a Shopify 2024-10 customer with marketing consent.
func prepareWebhooks(secret string, first, n int) []webhook {
	now := time.Now().UTC()
	out := make([]webhook, n)
	for i := range out {
		id := int64(first + i)
		email := fmt.Sprintf("customer%d@example.com", id)
		body, _ := json.Marshal(map[string]any{
			"id": 7000000000 + id, "email": email, "first_name": firstNames[id%int64(len(firstNames))], "last_name": "Doe",
			// Distinct valid US numbers: Brevo refuses a second contact with the same SMS.
			"phone":        fmt.Sprintf("+1415%03d%04d", 200+id/10000, id%10000),
			"orders_count": id % 7, "total_spent": fmt.Sprintf("%d.%02d", id%500, id%100), "tags": "vip, newsletter",
			"state": "enabled", "verified_email": true, "currency": "USD", "note": nil,
			"created_at": now.Add(-48 * time.Hour).Format(time.RFC3339), "updated_at": now.Format(time.RFC3339),
			"email_marketing_consent": map[string]any{
				"state": "subscribed", "opt_in_level": "single_opt_in", "consent_updated_at": now.Add(-time.Hour).Format(time.RFC3339)},
			"default_address": map[string]any{
				"address1": "1 Market St", "city": "San Francisco", "province_code": "CA", "country_code": "US", "zip": "94105"},
		})
		h := shopifyHeader(secret, "customers/create", fmt.Sprintf("bench-%d-%s", id, randomHex(4)), body, now)
		out[i] = webhook{email: email, body: body, header: h}
	}
	return out
}

// shopifyHeader returns the headers Shopify sends with a webhook: its
// topic, webhook id and the HMAC of body under secret.
func shopifyHeader(secret, topic, webhookID string, body []byte, now time.Time) http.Header {
	mac := hmac.New(sha256.New, []byte(secret))
	mac.Write(body)
	h := http.Header{}
	h.Set("Content-Type", "application/json")
	h.Set("X-Shopify-Topic", topic)
	h.Set("X-Shopify-Hmac-Sha256", base64.StdEncoding.EncodeToString(mac.Sum(nil)))
	h.Set("X-Shopify-Shop-Domain", "bench.myshopify.com")
	h.Set("X-Shopify-API-Version", "2024-10")
	h.Set("X-Shopify-Webhook-Id", webhookID)
	h.Set("X-Shopify-Triggered-At", now.Format(time.RFC3339))
	return h
}

// newClient returns a client whose one transport keeps a connection per
// sender alive, so the figures are not about TCP handshakes.
func newClient(c int) *http.Client {
	return &http.Client{
		Timeout:   60 * time.Second,
		Transport: &http.Transport{MaxIdleConns: c, MaxIdleConnsPerHost: c, IdleConnTimeout: time.Minute},
	}
}

// sendResult is what the senders saw. sentAt and ok are indexed like the
// webhooks.
type sendResult struct {
	start                    time.Time
	wall                     time.Duration // first send to last answer
	accepted, non200, errors int
	sentAt                   []time.Time
	ok                       []bool
}

// send posts hooks from c concurrent senders. With rate 0 they go as fast
// as the server answers; otherwise one is released every 1/rate seconds,
// and a send time is when a sender actually sent it.
func send(ctx context.Context, client *http.Client, url string, hooks []webhook, c int, rate float64) (*sendResult, error) {
	res := &sendResult{sentAt: make([]time.Time, len(hooks)), ok: make([]bool, len(hooks))}
	var accepted, non200, failed atomic.Int64
	var sample atomic.Value // the first non-200 answer, for the error message
	jobs := make(chan int, len(hooks))
	var wg sync.WaitGroup
	for range c {
		wg.Go(func() {
			for i := range jobs {
				if ctx.Err() != nil {
					continue
				}
				req, _ := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(hooks[i].body))
				req.Header = hooks[i].header
				res.sentAt[i] = time.Now()
				resp, err := client.Do(req)
				if err != nil {
					failed.Add(1)
					sample.CompareAndSwap(nil, err.Error())
					continue
				}
				b, _ := io.ReadAll(resp.Body)
				resp.Body.Close()
				if resp.StatusCode == http.StatusOK {
					res.ok[i] = true
					accepted.Add(1)
				} else {
					non200.Add(1)
					sample.CompareAndSwap(nil, fmt.Sprintf("%d %s", resp.StatusCode, bytes.TrimSpace(b)))
				}
			}
		})
	}
	res.start = time.Now()
	for i := range hooks {
		if rate > 0 {
			due := res.start.Add(time.Duration(float64(i) / rate * float64(time.Second)))
			select {
			case <-ctx.Done():
			case <-time.After(time.Until(due)):
			}
		}
		jobs <- i
	}
	close(jobs)
	wg.Wait()
	res.wall = time.Since(res.start)
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	res.accepted, res.non200, res.errors = int(accepted.Load()), int(non200.Load()), int(failed.Load())
	if res.accepted == 0 {
		return nil, fmt.Errorf("no webhook was accepted; first answer: %v", sample.Load())
	}
	if s := sample.Load(); s != nil {
		progress(fmt.Sprintf("%d non-200, %d errors; first: %v", res.non200, res.errors, s))
	}
	return res, nil
}
