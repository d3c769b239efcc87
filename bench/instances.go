package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// instancesLease is queue.lease in --instances runs: short, so a killed
// instance's claimed jobs come back to the others quickly.
const instancesLease = 5 * time.Second

// instancesRun is what --instances measures: for k = 1..N, k servers on one
// fresh PostgreSQL database behind one generator, with one of them killed
// (SIGKILL) half-way through the webhooks when k ≥ 2.
type instancesRun struct {
	Webhooks     int           `json:"webhooks"`
	Clients      int           `json:"clients"`
	LeaseSeconds float64       `json:"lease_seconds"`
	NoKill       bool          `json:"no_kill,omitempty"`
	Runs         []instanceRun `json:"runs"`
}

// instanceRun is one k.
type instanceRun struct {
	Instances int `json:"instances"`
	Killed    int `json:"killed"` // index of the killed instance, -1 for none
	Accepted  int `json:"accepted"`
	// Retries are webhooks resent to the next instance after a connection
	// error or no answer, as a load balancer would.
	Retries           int     `json:"retries"`
	Failed            int     `json:"failed"` // no instance accepted it
	AcceptedPerSecond float64 `json:"accepted_per_second"`
	DeliveredPerSec   float64 `json:"delivered_per_second"` // accepted / first send to last contact in Brevo
	DeliveredSeconds  float64 `json:"all_in_brevo_seconds"`
	// Shares are each instance's contact writes (POST/PUT /v3/contacts…)
	// through its own proxy.
	Shares []int `json:"contact_writes_per_instance"`
	// Duplicates are customers created more than once or written more
	// often than their one acknowledged webhook could cause.
	Duplicates int `json:"duplicates"`
	// Redone are customers whose contact the killed instance wrote and
	// another wrote again after its lease ran out: an update of the same
	// contact, the at-least-once redelivery of a job in flight at the kill.
	Redone int `json:"rewritten_after_kill"`
	Lost   int `json:"lost"` // acknowledged, not in Brevo by --timeout
	// KilledAcked are the webhooks the killed instance acknowledged;
	// KilledFinishedByOthers those of them whose contact another instance
	// wrote, and KilledDoneSeconds the time from the kill until the last
	// of them was in Brevo.
	KilledAcked            int     `json:"killed_acked,omitempty"`
	KilledFinishedByOthers int     `json:"killed_finished_by_others,omitempty"`
	KilledDoneSeconds      float64 `json:"killed_done_after_kill_seconds,omitempty"`
	AllDoneAfterKill       float64 `json:"all_done_after_kill_seconds,omitempty"`
}

// counter is a reverse proxy in front of the Brevo simulator that counts
// one instance's contact writes, and records per email who wrote it.
type counter struct {
	index  int
	writes atomic.Int64
	http   *http.Server
	url    string
}

// writeLog is every contact write by email, across instances.
type writeLog struct {
	mu      sync.Mutex
	posts   map[string]int   // successful writes, by email (POST) or ext_id (PUT)
	creates map[string]int   // of them, 201 Created
	by      map[string][]int // instance indexes that tried to write it
}

func (l *writeLog) record(index int, key string, status int) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if key == "" {
		return
	}
	// Who tried is kept whatever the answer: a write cut off by the kill
	// may have reached the simulator all the same.
	l.by[key] = append(l.by[key], index)
	if status >= 300 {
		return
	}
	l.posts[key]++
	if status == http.StatusCreated {
		l.creates[key]++
	}
}

type statusWriter struct {
	http.ResponseWriter
	status int
}

func (w *statusWriter) WriteHeader(code int) { w.status = code; w.ResponseWriter.WriteHeader(code) }

func startCounter(index int, simURL string, log *writeLog) (*counter, error) {
	target, err := url.Parse(simURL)
	if err != nil {
		return nil, err
	}
	target.Path = ""
	proxy := httputil.NewSingleHostReverseProxy(target)
	proxy.Transport = &http.Transport{MaxIdleConns: 64, MaxIdleConnsPerHost: 64}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	c := &counter{index: index, url: "http://" + ln.Addr().String() + "/v3"}
	c.http = &http.Server{ReadHeaderTimeout: 10 * time.Second, Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		post := r.Method == http.MethodPost && r.URL.Path == "/v3/contacts"
		put := r.Method == http.MethodPut && strings.HasPrefix(r.URL.Path, "/v3/contacts/") && !strings.HasPrefix(r.URL.Path, "/v3/contacts/attributes")
		if !post && !put {
			proxy.ServeHTTP(w, r)
			return
		}
		c.writes.Add(1)
		var email string
		if post {
			body, _ := io.ReadAll(r.Body)
			r.Body = io.NopCloser(bytes.NewReader(body))
			var b struct {
				Email string `json:"email"`
			}
			_ = json.Unmarshal(body, &b)
			email = strings.ToLower(b.Email)
		} else if r.URL.Query().Get("identifierType") == "ext_id" {
			email = "ext:" + strings.TrimPrefix(r.URL.Path, "/v3/contacts/")
		} else {
			email, _ = url.PathUnescape(strings.TrimPrefix(r.URL.Path, "/v3/contacts/"))
			email = strings.ToLower(email)
		}
		sw := &statusWriter{ResponseWriter: w, status: http.StatusOK}
		proxy.ServeHTTP(sw, r)
		log.record(c.index, email, sw.status)
	})}
	go func() { _ = c.http.Serve(ln) }()
	return c, nil
}

// runInstances runs k = 1..n instances in turn.
func runInstances(ctx context.Context, base serverConfig, o options) (*instancesRun, error) {
	out := &instancesRun{Webhooks: o.n, Clients: o.c, LeaseSeconds: instancesLease.Seconds(), NoKill: o.noKill}
	for k := 1; k <= o.instances; k++ {
		progress(fmt.Sprintf("instances: %d on one PostgreSQL database, %d webhooks from %d clients", k, o.n, o.c))
		r, err := runInstancesOnce(ctx, base, o, k)
		if err != nil {
			return nil, err
		}
		out.Runs = append(out.Runs, r)
	}
	return out, nil
}

func runInstancesOnce(ctx context.Context, base serverConfig, o options, k int) (instanceRun, error) {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	dsn, drop, err := createDatabase(ctx, o.dsn)
	if err != nil {
		return instanceRun{}, err
	}
	defer drop()
	sim, err := startSimulator(base.apiKey)
	if err != nil {
		return instanceRun{}, err
	}
	defer sim.close()
	go sim.track(ctx)
	log := &writeLog{posts: map[string]int{}, creates: map[string]int{}, by: map[string][]int{}}

	var servers []*server
	defer func() {
		for _, s := range servers {
			s.stop()
		}
	}()
	var counters []*counter
	defer func() {
		for _, c := range counters {
			_ = c.http.Close()
		}
	}()
	for i := range k {
		c, err := startCounter(i, sim.url, log)
		if err != nil {
			return instanceRun{}, err
		}
		counters = append(counters, c)
		cfg := base
		cfg.dsn, cfg.brevoURL, cfg.lease = dsn, c.url, instancesLease
		cfg.dir = filepath.Join(base.dir, fmt.Sprintf("k%d-instance%d", k, i))
		if err := os.MkdirAll(cfg.dir, 0o700); err != nil {
			return instanceRun{}, err
		}
		s, err := startServer(ctx, cfg)
		if err != nil {
			return instanceRun{}, err
		}
		servers = append(servers, s)
	}

	hooks := prepareWebhooks(base.secret, 1, o.n)
	killed := -1
	if k >= 2 && !o.noKill {
		killed = k - 1
	}
	client := &http.Client{Timeout: 15 * time.Second,
		Transport: &http.Transport{MaxIdleConns: o.c * k, MaxIdleConnsPerHost: o.c, IdleConnTimeout: time.Minute}}
	ackedBy := make([]int, len(hooks)) // instance that acknowledged it, -1 for none
	var sent, retries, failed, accepted atomic.Int64
	var killOnce sync.Once
	var killAt time.Time
	jobs := make(chan int, len(hooks))
	for i := range hooks {
		jobs <- i
	}
	close(jobs)
	start := time.Now()
	var wg sync.WaitGroup
	for range o.c {
		wg.Go(func() {
			for i := range jobs {
				if ctx.Err() != nil {
					ackedBy[i] = -1
					continue
				}
				if killed >= 0 && sent.Add(1) == int64(len(hooks)/2) {
					killOnce.Do(func() {
						killAt = time.Now()
						_ = servers[killed].cmd.Process.Kill() // SIGKILL
						progress(fmt.Sprintf("killed instance %d (SIGKILL) after %d webhooks", killed, len(hooks)/2))
					})
				}
				ackedBy[i] = -1
				for try := range k {
					j := (i + try) % k
					if try > 0 {
						retries.Add(1)
					}
					status, err := postHook(ctx, client, servers[j].url+"/webhooks/shopify", hooks[i])
					if err != nil {
						continue // connection error or no answer: the next instance
					}
					if status == http.StatusOK {
						ackedBy[i] = j
						accepted.Add(1)
					}
					break
				}
				if ackedBy[i] < 0 {
					failed.Add(1)
				}
			}
		})
	}
	wg.Wait()
	wall := time.Since(start)
	if err := ctx.Err(); err != nil {
		return instanceRun{}, err
	}
	r := instanceRun{Instances: k, Killed: killed, Accepted: int(accepted.Load()), Retries: int(retries.Load()), Failed: int(failed.Load())}
	if r.Accepted == 0 {
		return r, fmt.Errorf("no webhook was accepted by any instance")
	}
	r.AcceptedPerSecond = float64(r.Accepted) / wall.Seconds()
	progress(fmt.Sprintf("sent in %s: %d accepted (%.0f/s), %d retried on another instance; waiting for Brevo",
		seconds(wall), r.Accepted, r.AcceptedPerSecond, r.Retries))
	var emails, killedEmails []string
	for i, h := range hooks {
		if ackedBy[i] >= 0 {
			emails = append(emails, h.email)
		}
		if killed >= 0 && ackedBy[i] == killed {
			killedEmails = append(killedEmails, h.email)
		}
	}
	last, missing, err := sim.waitFor(ctx, emails, o.timeout)
	if err != nil {
		return r, err
	}
	r.Lost = missing
	if !last.IsZero() {
		r.DeliveredSeconds = last.Sub(start).Seconds()
		r.DeliveredPerSec = float64(r.Accepted-missing) / r.DeliveredSeconds
	}
	for _, c := range counters {
		r.Shares = append(r.Shares, int(c.writes.Load()))
	}

	// Duplicates: a contact created more than once, or more writes than one
	// acknowledged webhook per customer could cause; and two contacts with
	// one email in the simulator. A PUT by ext_id counts for its contact's
	// email.
	extOf := map[string]string{}
	for _, c := range sim.Contacts() {
		extOf[strings.ToLower(c.Email)] = "ext:" + c.ExtID
	}
	log.mu.Lock()
	for _, e := range emails {
		writes := log.posts[e] + log.posts[extOf[e]]
		writers := append(slices.Clone(log.by[e]), log.by[extOf[e]]...)
		switch {
		case log.creates[e] > 1:
			r.Duplicates++
		case writes > 1 && killed >= 0 && slices.Contains(writers, killed):
			// The killed instance's write reached Brevo but its job's
			// completion was never recorded: the lease ran out and another
			// instance wrote the same contact again (at least once).
			r.Redone++
		case writes > 1:
			r.Duplicates++
		}
	}
	if killed >= 0 {
		r.KilledAcked = len(killedEmails)
		var lastKilled time.Time
		for _, e := range killedEmails {
			for _, by := range log.by[e] {
				if by != killed {
					r.KilledFinishedByOthers++
					break
				}
			}
			if at := sim.firstPost(e); at.After(lastKilled) {
				lastKilled = at
			}
		}
		if lastKilled.After(killAt) {
			r.KilledDoneSeconds = lastKilled.Sub(killAt).Seconds()
		}
		if last.After(killAt) {
			r.AllDoneAfterKill = last.Sub(killAt).Seconds()
		}
	}
	log.mu.Unlock()
	seen := map[string]bool{}
	for _, c := range sim.Contacts() {
		e := strings.ToLower(c.Email)
		if seen[e] {
			r.Duplicates++
		}
		seen[e] = true
	}
	return r, nil
}

// postHook sends one webhook and returns the answer's status.
func postHook(ctx context.Context, client *http.Client, url string, h webhook) (int, error) {
	req, _ := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(h.body))
	req.Header = h.header
	resp, err := client.Do(req)
	if err != nil {
		return 0, err
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp.StatusCode, nil
}

func (r *instancesRun) failed() bool {
	for _, x := range r.Runs {
		if x.Lost > 0 || x.Duplicates > 0 || x.Failed > 0 {
			return true
		}
	}
	return false
}

// print writes one line per k.
func (r *instancesRun) print(w io.Writer) {
	kill := "with 2 or more, the last is killed (SIGKILL) half-way"
	if r.NoKill {
		kill = "none killed (--no-kill)"
	}
	fmt.Fprintf(w, "instances: %d webhooks, %d clients, round-robin; queue.lease %s; %s\n",
		r.Webhooks, r.Clients, seconds(time.Duration(r.LeaseSeconds*float64(time.Second))), kill)
	fmt.Fprintf(w, "%-9s %8s %12s %8s  %-24s %4s %4s  %s\n", "instances", "acks/s", "delivered/s", "retries", "contact writes each", "dup", "lost", "after the kill")
	for _, x := range r.Runs {
		var shares []string
		total := 0
		for _, s := range x.Shares {
			total += s
		}
		for i, s := range x.Shares {
			mark := ""
			if i == x.Killed {
				mark = "†"
			}
			shares = append(shares, fmt.Sprintf("%.0f%%%s", 100*float64(s)/float64(max(total, 1)), mark))
		}
		after := "—"
		if x.Killed >= 0 {
			after = fmt.Sprintf("its %d acked: %d written by others, the last in Brevo %s after; all %s after; %d rewritten",
				x.KilledAcked, x.KilledFinishedByOthers, seconds(secs(x.KilledDoneSeconds)), seconds(secs(x.AllDoneAfterKill)), x.Redone)
		}
		fmt.Fprintf(w, "%-9d %8.0f %12.0f %8d  %-24s %4d %4d  %s\n", x.Instances, x.AcceptedPerSecond, x.DeliveredPerSec, x.Retries,
			strings.Join(shares, " "), x.Duplicates, x.Lost, after)
		if x.Failed > 0 {
			fmt.Fprintf(w, "          %d webhooks accepted by no instance\n", x.Failed)
		}
	}
	fmt.Fprintln(w, "† killed. dup: a contact created twice or written again without the kill as cause; rewritten: written by the killed instance and again by another after the lease")
}

func secs(s float64) time.Duration { return time.Duration(s * float64(time.Second)) }
