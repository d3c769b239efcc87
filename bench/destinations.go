package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http/httptest"
	"strings"
	"time"

	"synclayer/destination/brevo/brevosim"
	"synclayer/destination/hubspot/hubspotsim"
	"synclayer/destination/klaviyo/klaviyosim"
	"synclayer/destination/mailchimp/mailchimpsim"
	"synclayer/destination/pipedrive/pipedrivesim"
)

// requestsRun is what --requests measures: the requests each destination
// receives per contact, in realtime, when one server syncs the same
// customers to Brevo, Klaviyo, Mailchimp, HubSpot and Pipedrive at once
// (the nested shape). The simulators' rate limits are lifted: the run
// counts requests, not waits.
type requestsRun struct {
	Contacts     int                   `json:"contacts"`
	Destinations []destinationRequests `json:"destinations"`
	// Batch is batch mode's run: n new customers without consent, sent
	// through each destination's batch path.
	Batch []destinationBatch    `json:"batch"`
	calls map[string]func() int // per destination, the requests received so far
}

// destinationBatch is one destination's batch calls in batch mode.
type destinationBatch struct {
	Name            string  `json:"name"`
	Calls           int     `json:"batch_calls"`
	Contacts        int     `json:"contacts_in_batches"`
	ContactsPerCall float64 `json:"contacts_per_call"`
	Requests        int     `json:"requests"` // every request, checks and polls included
}

// destinationRequests are one destination's requests per contact in each
// phase: a new customer with consent, a changed first name, and a newer
// webhook that changes nothing the mapping sends.
type destinationRequests struct {
	Name      string  `json:"name"`
	New       float64 `json:"requests_per_new_contact"`
	Changed   float64 `json:"requests_per_changed_contact"`
	Unchanged float64 `json:"requests_per_unchanged_contact"`
}

// runRequests starts the three simulators in this process, a server that
// syncs to all of them, and sends n new customers, then n changes, then n
// webhooks that change nothing, counting each destination's requests.
func runRequests(ctx context.Context, c serverConfig, n int) (*requestsRun, error) {
	bsim := brevosim.New(brevosim.Options{APIKey: c.apiKey})
	ksim := klaviyosim.New(klaviyosim.Options{APIKey: "bench-klaviyo"})
	ksim.AddList("Xy12Ab", "newsletter")
	msim := mailchimpsim.New(mailchimpsim.Options{APIKey: "bench-us1"})
	msim.AddAudience("a1b2c3d4e5")
	hsim := hubspotsim.New(hubspotsim.Options{AccessToken: "pat-bench", Limit: hubspotsim.Limit{Max: 1 << 20, Interval: time.Second}, Daily: 1 << 30})
	psim := pipedrivesim.New(pipedrivesim.Options{APIToken: "bench-pipedrive", Limit: pipedrivesim.Limit{Max: 1 << 20, Window: time.Second}, Daily: 1 << 30})
	var urls []string
	for _, h := range []*httptest.Server{httptest.NewServer(bsim), httptest.NewServer(ksim), httptest.NewServer(msim), httptest.NewServer(hsim), httptest.NewServer(psim)} {
		defer h.Close()
		urls = append(urls, h.URL)
	}
	c.yamlOverride = fmt.Sprintf(`server: { listen: "%%s" }
storage: { driver: %s, dsn: %q }
sources: { shopify: { secret: "${SHOPIFY_WEBHOOK_SECRET}" } }
destinations:
  brevo:     { api_key: "${BREVO_API_KEY}", base_url: %q }
  klaviyo:   { api_key: "bench-klaviyo", base_url: %q }
  mailchimp: { api_key: "bench-us1", base_url: %q }
  hubspot:   { access_token: "pat-bench", base_url: %q }
  pipedrive: { api_token: "bench-pipedrive", base_url: %q }
skills:
  customer-sync:
    enabled: true
    source: shopify
    destinations:
      brevo:     { options: { list_id: 5 } }
      klaviyo:   { options: { list_id: "Xy12Ab" } }
      mailchimp: { options: { audience_id: "a1b2c3d4e5" } }
      hubspot:   {}
      pipedrive: {}
`, c.driver, c.dsn, urls[0]+"/v3", urls[1], urls[2]+"/3.0", urls[3], urls[4])
	run := &requestsRun{Contacts: n, calls: map[string]func() int{
		"brevo":     func() int { return len(bsim.Calls()) },
		"klaviyo":   func() int { return len(ksim.Calls()) },
		"mailchimp": func() int { return len(msim.Calls()) },
		"hubspot":   func() int { return len(hsim.Calls()) },
		"pipedrive": func() int { return len(psim.Calls()) },
	}}
	srv, err := startServer(ctx, c)
	if err != nil {
		return nil, err
	}
	defer srv.stop()
	settle(ctx, run.total) // the start's checks (attributes, merge fields, the list)
	client := newClient(8)
	url := srv.url + "/webhooks/shopify"
	phases := [][]webhook{
		prepareWebhooks(c.secret, 1, n),
		renamed(c.secret, n, "Renamed", time.Minute),
		renamed(c.secret, n, "Renamed", 2*time.Minute),
	}
	per := make([]map[string]int, len(phases))
	for i, hooks := range phases {
		before := run.snapshot()
		res, err := send(ctx, client, url, hooks, 8, 0)
		if err != nil {
			return nil, srv.withLog(err)
		}
		if res.accepted != n {
			return nil, srv.withLog(fmt.Errorf("phase %d: %d of %d webhooks accepted", i+1, res.accepted, n))
		}
		settle(ctx, run.total)
		per[i] = map[string]int{}
		for name, f := range run.calls {
			per[i][name] = f() - before[name]
		}
	}
	for _, name := range []string{"brevo", "klaviyo", "mailchimp", "hubspot", "pipedrive"} {
		run.Destinations = append(run.Destinations, destinationRequests{Name: name,
			New: ratio(per[0][name], n), Changed: ratio(per[1][name], n), Unchanged: ratio(per[2][name], n)})
	}
	srv.stop()

	// Batch mode: a second server on a fresh store, n new customers
	// without consent (what a backfill carries), every interval.
	c.yamlOverride = strings.Replace(c.yamlOverride, fmt.Sprintf("dsn: %q", c.dsn), fmt.Sprintf("dsn: %q", c.dsn+"-batch"), 1)
	c.yamlOverride = strings.Replace(c.yamlOverride, "    source: shopify\n", "    source: shopify\n    options: { sync_mode: batch, batch: { interval: 2s } }\n", 1)
	c.yamlOverride = strings.Replace(c.yamlOverride, "brevo:     { options: { list_id: 5 } }", "brevo:     { options: { list_id: 5, import_list_id: 9 } }", 1)
	// Pipedrive has no batch path, so the batch run goes without it.
	c.yamlOverride = strings.Replace(c.yamlOverride, "      pipedrive: {}\n", "", 1)
	delete(run.calls, "pipedrive")
	srv, err = startServer(ctx, c)
	if err != nil {
		return nil, err
	}
	defer srv.stop()
	url = srv.url + "/webhooks/shopify"
	settle(ctx, run.total)
	before := run.snapshot()
	bb, kb, mb, hb := len(bsim.Imports()), len(ksim.BulkJobs()), len(msim.Batches()), len(hsim.Calls())
	hooks := prepareWebhooks(c.secret, n+1, n)
	for i := range hooks {
		var m map[string]any
		_ = json.Unmarshal(hooks[i].body, &m)
		delete(m, "email_marketing_consent")
		hooks[i].body, _ = json.Marshal(m)
		hooks[i].header = shopifyHeader(c.secret, "customers/create", fmt.Sprintf("bench-b%d-%s", i, randomHex(4)), hooks[i].body, time.Now())
	}
	if res, err := send(ctx, client, url, hooks, 8, 0); err != nil || res.accepted != n {
		return nil, srv.withLog(fmt.Errorf("batch phase: %v accepted of %d (%v)", res, n, err))
	}
	settle(ctx, run.total)
	add := func(name string, calls, contacts int) {
		d := destinationBatch{Name: name, Calls: calls, Contacts: contacts, Requests: run.calls[name]() - before[name]}
		if calls > 0 {
			d.ContactsPerCall = float64(contacts) / float64(calls)
		}
		run.Batch = append(run.Batch, d)
	}
	var calls, contacts int
	for _, imp := range bsim.Imports()[bb:] {
		calls, contacts = calls+1, contacts+imp.Contacts
	}
	add("brevo", calls, contacts)
	calls, contacts = 0, 0
	for _, j := range ksim.BulkJobs()[kb:] {
		calls, contacts = calls+1, contacts+j.Total
	}
	add("klaviyo", calls, contacts)
	calls, contacts = 0, 0
	for _, b := range msim.Batches()[mb:] {
		calls++
		for _, op := range b.Operations {
			if op.Method == "PUT" { // a tags batch's POSTs are the same contacts again
				contacts++
			}
		}
	}
	add("mailchimp", calls, contacts)
	calls, contacts = 0, 0
	for _, k := range hsim.Calls()[hb:] {
		if k.Method == "POST" && strings.HasPrefix(k.Path, "/crm/v3/objects/contacts/batch/upsert") {
			var b struct{ Inputs []json.RawMessage }
			if json.Unmarshal(k.Body, &b) == nil && len(b.Inputs) > 1 {
				calls, contacts = calls+1, contacts+len(b.Inputs)
			}
		}
	}
	add("hubspot", calls, contacts)
	return run, nil
}

func (r *requestsRun) snapshot() map[string]int {
	out := map[string]int{}
	for name, f := range r.calls {
		out[name] = f()
	}
	return out
}

func (r *requestsRun) total() int {
	n := 0
	for _, f := range r.calls {
		n += f()
	}
	return n
}

// settle waits until f stops changing for two seconds: every delivery the
// phase caused has been made.
func settle(ctx context.Context, f func() int) {
	last, since := f(), time.Now()
	for time.Since(since) < 2*time.Second && ctx.Err() == nil {
		time.Sleep(100 * time.Millisecond)
		if v := f(); v != last {
			last, since = v, time.Now()
		}
	}
}

func ratio(calls, n int) float64 { return float64(calls) / float64(n) }

// renamed returns customers/update webhooks for the customers of
// prepareWebhooks with first name first, later by after.
func renamed(secret string, n int, first string, after time.Duration) []webhook {
	hooks := prepareWebhooks(secret, 1, n)
	at := time.Now().UTC().Add(after)
	for i := range hooks {
		var m map[string]any
		_ = json.Unmarshal(hooks[i].body, &m)
		m["first_name"], m["updated_at"] = first, at.Format(time.RFC3339)
		body, _ := json.Marshal(m)
		hooks[i].body = body
		hooks[i].header = shopifyHeader(secret, "customers/update", fmt.Sprintf("bench-u%d-%s", i, randomHex(4)), body, at)
	}
	return hooks
}

func (r *requestsRun) print(w io.Writer) {
	fmt.Fprintf(w, "\nRequests per contact, realtime, %d contacts synced to every destination at once:\n", r.Contacts)
	fmt.Fprintf(w, "  %-10s %8s %8s %10s\n", "", "new", "changed", "unchanged")
	for _, d := range r.Destinations {
		fmt.Fprintf(w, "  %-10s %8.2f %8.2f %10.2f\n", d.Name, d.New, d.Changed, d.Unchanged)
	}
	if len(r.Batch) > 0 {
		fmt.Fprintf(w, "\nBatch mode, %d new contacts without consent:\n", r.Contacts)
		fmt.Fprintf(w, "  %-10s %12s %10s %18s %10s\n", "", "batch calls", "contacts", "contacts per call", "requests")
		for _, d := range r.Batch {
			fmt.Fprintf(w, "  %-10s %12d %10d %18.1f %10d\n", d.Name, d.Calls, d.Contacts, d.ContactsPerCall, d.Requests)
		}
	}
}
