package faults

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

	"synclayer/source/custom"
)

// Secrets the harness signs with; the server reads them from its
// environment through ${...} in its config, as a deployment would.
const (
	shopifySecret = "shpss_faults_secret"
	customSecret  = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
	brevoAPIKey   = "xkeysib-faults"
	// brevoWebhookToken is the bearer token of Brevo's webhook;
	// shopifyAdminToken is the Admin API access token of the write-back.
	brevoWebhookToken = "faults-brevo-webhook-token-0123456789"
	shopifyAdminToken = "shpat_faults_admin_token"
)

// retryFor bounds how long one event is retried before it is given up as
// never acknowledged; its contact's final state is then undetermined.
const retryFor = 2 * time.Minute

// traffic sends a workload's schedule to the server, as a shop platform
// would: an unanswered or 5xx delivery is retried with the same webhook id
// until it is acknowledged.
type traffic struct {
	url         string
	client      *http.Client
	model       *Model
	concurrency int

	mu   sync.Mutex
	next int
	list []Send

	sends, acked, unanswered, status5xx, rejected, failedEvents, redeliveries atomic.Int64
	giveUps                                                                   atomic.Int64
	firstReject                                                               atomic.Value
	gaveUp                                                                    sync.Map // contact → true
	applied                                                                   sync.Map // webhook id → true once an answer said one of its events was applied
}

func newTraffic(url string, w *Workload, model *Model, concurrency int) *traffic {
	return &traffic{
		url: url, model: model, list: w.Sends, concurrency: concurrency,
		client: &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: concurrency}},
	}
}

// remaining is how many sends have not started.
func (t *traffic) remaining() int {
	t.mu.Lock()
	defer t.mu.Unlock()
	return len(t.list) - t.next
}

func (t *traffic) take() (Send, bool) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.next >= len(t.list) {
		return Send{}, false
	}
	s := t.list[t.next]
	t.next++
	return s, true
}

// run sends at up to rate events per second until ctx ends or the schedule
// is done. It returns once every event it started is acknowledged or given
// up, so the model is settled whenever run is not running.
func (t *traffic) run(ctx context.Context, rate float64) {
	tokens := make(chan struct{})
	go func() {
		tick := time.NewTicker(time.Duration(float64(time.Second) / rate))
		defer tick.Stop()
		for {
			select {
			case <-ctx.Done():
				close(tokens)
				return
			case <-tick.C:
				select {
				case tokens <- struct{}{}:
				case <-ctx.Done():
				}
			}
		}
	}()
	var wg sync.WaitGroup
	for range t.concurrency {
		wg.Go(func() {
			for range tokens {
				s, ok := t.take()
				if !ok {
					return
				}
				t.deliver(s)
			}
		})
	}
	wg.Wait()
}

// deliver sends s until it is acknowledged. It is not bound to run's
// context: a paused phase still settles what it started.
func (t *traffic) deliver(s Send) {
	if s.Redelivery {
		t.redeliveries.Add(1)
	}
	deadline := time.Now().Add(retryFor)
	wait := 50 * time.Millisecond
	for {
		status, reply, err := t.post(s.Event)
		t.sends.Add(1)
		switch {
		case err == nil && status/100 == 2:
			t.acked.Add(1)
			for _, ev := range reply.Events {
				if ev.Status == "applied" {
					t.applied.Store(s.Event.ID, true)
				}
				if ev.Status == "failed" {
					t.failedEvents.Add(1)
					t.firstReject.CompareAndSwap(nil, fmt.Sprintf("%s %s: event failed: %s", s.Event.Source, s.Event.ID, ev.Reason))
				}
			}
			t.model.Ack(s.Event, reply.Status)
			return
		case err == nil && status/100 == 4:
			// The harness sent something synclayer refuses: a harness bug or
			// a synclayer regression, and never retried by a platform.
			t.rejected.Add(1)
			t.firstReject.CompareAndSwap(nil, fmt.Sprintf("%s %s: %d %s", s.Event.Source, s.Event.ID, status, reply.raw))
			return
		case err == nil:
			t.status5xx.Add(1)
		default:
			t.unanswered.Add(1)
		}
		if time.Now().After(deadline) {
			t.giveUps.Add(1)
			t.gaveUp.Store(s.Event.Contact, true)
			return
		}
		time.Sleep(wait)
		wait = min(wait*2, time.Second)
	}
}

type webhookReply struct {
	Status string `json:"status"`
	Events []struct {
		Status string `json:"status"`
		Reason string `json:"reason"`
	} `json:"events"`
	raw []byte
}

// post signs and sends ev once. Custom deliveries are re-signed at each
// attempt, since Standard Webhooks timestamps have a 5 minute tolerance.
func (t *traffic) post(ev *Event) (int, webhookReply, error) {
	h := http.Header{}
	h.Set("Content-Type", "application/json")
	path := "/webhooks/" + ev.Source
	switch ev.Source {
	case "shopify":
		mac := hmac.New(sha256.New, []byte(shopifySecret))
		mac.Write(ev.Body)
		h.Set("X-Shopify-Topic", ev.Topic)
		h.Set("X-Shopify-Hmac-Sha256", base64.StdEncoding.EncodeToString(mac.Sum(nil)))
		h.Set("X-Shopify-Shop-Domain", "faults.myshopify.com")
		h.Set("X-Shopify-API-Version", "2024-10")
		h.Set("X-Shopify-Webhook-Id", ev.ID)
		h.Set("X-Shopify-Triggered-At", stamp(time.Now()))
	case "custom":
		now := time.Now()
		sig, err := custom.Sign(customSecret, ev.ID, now, ev.Body)
		if err != nil {
			return 0, webhookReply{}, err
		}
		h.Set("webhook-id", ev.ID)
		h.Set("webhook-timestamp", fmt.Sprint(now.Unix()))
		h.Set("webhook-signature", sig)
	case "brevo":
		h.Set("Authorization", "Bearer "+brevoWebhookToken)
	}
	req, err := http.NewRequest(http.MethodPost, t.url+path, bytes.NewReader(ev.Body))
	if err != nil {
		return 0, webhookReply{}, err
	}
	req.Header = h
	resp, err := t.client.Do(req)
	if err != nil {
		return 0, webhookReply{}, err
	}
	defer resp.Body.Close()
	var r webhookReply
	r.raw, err = io.ReadAll(resp.Body)
	if err != nil {
		return 0, r, err // the answer was cut: not an acknowledgement
	}
	_ = json.Unmarshal(r.raw, &r)
	return resp.StatusCode, r, nil
}
