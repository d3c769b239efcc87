package main

import (
	"cmp"
	"context"
	"fmt"
	"html"
	"io"
	"math"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"synclayer"
	"synclayer/destination/brevo/brevosim"
)

// chromium returns the path of a Chromium to drive, or skips the test when
// there is none, unless it runs in CI, where a missing browser fails.
func chromium(t *testing.T) string {
	t.Helper()
	if p := os.Getenv("SYNCLAYER_CHROMIUM"); p != "" {
		return p
	}
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	if os.Getenv("CI") != "" {
		t.Fatal("chromium not found, and CI is set: .ci/run installs it with apt-get install -y chromium")
	}
	t.Skip("chromium not found: install it (apt-get install -y chromium) to run the dashboard's browser test")
	return ""
}

// browse loads url in headless Chromium and returns the DOM once the page
// has loaded, or, with screenshot set, saves a 1280×1000 PNG there.
func browse(t *testing.T, bin, url, screenshot string) string {
	t.Helper()
	return browseAt(t, bin, url, "1280,1000", screenshot)
}

// browseAt is browse in a window of size ("375,900").
func browseAt(t *testing.T, bin, url, size, screenshot string) string {
	t.Helper()
	args := []string{"--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
		"--disable-background-networking", "--disable-component-update", "--disable-sync", "--hide-scrollbars",
		"--user-data-dir=" + t.TempDir(), "--window-size=" + size}
	if screenshot != "" {
		args = append(args, "--screenshot="+screenshot)
	} else {
		args = append(args, "--dump-dom")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, append(args, url)...)
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("chromium %s: %v\n%s", url, err, stderr.String())
	}
	if screenshot != "" {
		if fi, err := os.Stat(screenshot); err != nil || fi.Size() == 0 {
			t.Fatalf("chromium wrote no screenshot: %v\n%s", err, stderr.String())
		}
	}
	return string(out)
}

// artifacts is where the screenshots go: $SYNCLAYER_TEST_ARTIFACTS, or
// the test's temporary directory.
func artifacts(t *testing.T) string {
	dir := os.Getenv("SYNCLAYER_TEST_ARTIFACTS")
	if dir == "" {
		return t.TempDir()
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	return dir
}

// dashClient is a browser-like client that does not follow redirects.
var dashClient = &http.Client{Timeout: 30 * time.Second, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}

// login posts key to the login page and returns the session cookie.
func (a *apiEnv) login(key string) *http.Cookie {
	a.t.Helper()
	resp, err := dashClient.PostForm(a.base+"/ui/login", url.Values{"key": {key}, "next": {"/ui/dlq"}})
	if err != nil {
		a.t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/ui/dlq" {
		a.t.Fatalf("login: %d to %q, want 303 to /ui/dlq", resp.StatusCode, resp.Header.Get("Location"))
	}
	for _, c := range resp.Cookies() {
		if c.Name == "synclayer_session" {
			return c
		}
	}
	a.t.Fatal("login set no session cookie")
	return nil
}

// page fetches a dashboard page with the cookie (or, with no cookie, the
// bearer key) and returns the status, Location and body.
func (a *apiEnv) page(method, path string, c *http.Cookie, bearer string, form url.Values) (int, string, string) {
	a.t.Helper()
	var body io.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	}
	req, _ := http.NewRequest(method, a.base+path, body)
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	if c != nil {
		req.AddCookie(c)
	}
	if bearer != "" {
		req.Header.Set("Authorization", "Bearer "+bearer)
	}
	resp, err := dashClient.Do(req)
	if err != nil {
		a.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, resp.Header.Get("Location"), string(b)
}

var (
	statRE = regexp.MustCompile(`data-stat="(\w+)"[^>]*>([^<]*)<`)
	csrfRE = regexp.MustCompile(`name="csrf" value="([^"]+)"`)
)

// stats reads the figures marked data-stat in one part of a page.
func stats(html string) map[string]string {
	out := map[string]string{}
	for _, m := range statRE.FindAllStringSubmatch(html, -1) {
		out[m[1]] = strings.TrimSpace(m[2])
	}
	return out
}

// card returns the HTML of the overview card of skill.
func card(t *testing.T, html, skill string) string {
	t.Helper()
	start := strings.Index(html, `data-skill="`+skill+`"`)
	if start < 0 {
		t.Fatalf("no card for %s in:\n%s", skill, html)
	}
	end := strings.Index(html[start:], "</article>")
	return html[start : start+end]
}

// TestDashboard_Browser drives the dashboard in headless Chromium on a
// server with traffic (deliveries, a failed event and a dead letter), and
// checks that the figures on the overview are those of GET /api/v1/stats
// and /api/v1/dlq. It saves screenshots of the overview, the dead-letter
// queue and a contact's trace.
func TestDashboard_Browser(t *testing.T) {
	t.Parallel()
	bin := chromium(t)
	// Any failing delivery is dead-lettered at once, so one outage makes one dead letter.
	a := startAPI(t, func(c *Config) { c.Queue.MaxAge = time.Millisecond })
	for i := range 5 {
		a.shopify("customers/create", shopifyCustomer(int64(7001+i), fmt.Sprintf("dash%d@example.com", i), "Dana", 0, "subscribed", 0))
	}
	a.waitIdle(10 * time.Second)
	a.sim.SetOutage(brevosim.Outage500)
	_, reply := a.shopify("customers/create", shopifyCustomer(7100, "outage@example.com", "Otto", 0, "subscribed", 0))
	deadContact := reply["events"].([]any)[0].(map[string]any)["contactId"].(string)
	a.waitIdle(10 * time.Second)
	a.sim.SetOutage(brevosim.OutageNone)
	a.shopify("customers/create", shopifyCustomer(7101, "not-an-email", "Nope", 0, "", 0))
	a.shopify("customers/update", shopifyCustomer(7001, "dash0@example.com", "Daniela", 5, "subscribed", 0))
	a.waitIdle(10 * time.Second)

	_, st := a.call("GET", "/api/v1/stats?window=1h", a.keys[synclayer.RoleViewer], nil)
	_, dlq := a.call("GET", "/api/v1/dlq", a.keys[synclayer.RoleViewer], nil)
	var want map[string]any
	for _, s := range st["skills"].([]any) {
		if s.(map[string]any)["skill"] == "customer-sync" {
			want = s.(map[string]any)
		}
	}
	dead := len(dlq["jobs"].([]any))
	if want == nil || want["delivered"] != 6.0 || want["dead"] != 1.0 || dead != 1 {
		t.Fatalf("traffic did not make 6 deliveries and 1 dead letter: stats %v, dlq %v", st, dlq)
	}

	// Chromium reaches the server through a proxy that adds the session
	// cookie, as a browser that logged in would.
	cookie := a.login(a.keys[synclayer.RoleOperator])
	target, _ := url.Parse(a.base)
	proxy := httputil.NewSingleHostReverseProxy(target)
	direct := proxy.Director
	proxy.Director = func(r *http.Request) { direct(r); r.Host = target.Host; r.AddCookie(cookie) }
	ps := httptest.NewServer(proxy)
	t.Cleanup(ps.Close)

	dom := browse(t, bin, ps.URL+"/ui/?window=1h", "")
	got := stats(card(t, dom, "customer-sync"))
	queue := want["queue"].(map[string]any)
	for stat, w := range map[string]string{
		"delivered":    fmt.Sprint(want["delivered"]),
		"retried":      fmt.Sprint(want["retried"]),
		"deadAttempts": fmt.Sprint(want["dead"]),
		"successRate":  fmt.Sprintf("%.1f%%", want["successRate"].(float64)*100),
		"errorRate":    fmt.Sprintf("%.1f%%", want["errorRate"].(float64)*100),
		"pending":      fmt.Sprint(queue["pending"]),
		"running":      fmt.Sprint(queue["running"]),
		"dead":         fmt.Sprint(queue["dead"]),
	} {
		if got[stat] != w {
			t.Errorf("overview %s = %q, API says %q", stat, got[stat], w)
		}
	}
	if s := stats(dom)["dlqSize"]; s != fmt.Sprint(dead) {
		t.Errorf("overview dead-letter size %q, /api/v1/dlq lists %d", s, dead)
	}
	for stat, ms := range map[string]float64{"avgLatency": want["avgLatencyMs"].(float64), "p95Latency": want["p95LatencyMs"].(float64)} {
		if w := fmt.Sprintf("%.0f ms", math.Round(ms)); ms < 999 && got[stat] != w {
			t.Errorf("overview %s = %q, API says %v ms", stat, got[stat], ms)
		}
	}
	if got["successRate"] != "85.7%" || got["avgLatency"] == "—" || got["p95Latency"] == "—" {
		t.Errorf("overview figures: %v", got)
	}
	if !strings.Contains(dom, "retry window") {
		t.Error("the overview's recent failures do not show the dead letter's reason")
	}

	dir := artifacts(t)
	for name, path := range map[string]string{
		"overview": "/ui/?window=1h",
		"dlq":      "/ui/dlq",
		"contact":  "/ui/contacts/" + deadContact,
		"failures": "/ui/failures?window=1h",
		"login":    "/ui/login",
	} {
		file := filepath.Join(dir, "dashboard-"+name+".png")
		browse(t, bin, ps.URL+path, file)
		t.Logf("screenshot of %s: %s", path, file)
	}
	dlqDOM := browse(t, bin, ps.URL+"/ui/dlq", "")
	if s := stats(dlqDOM)["dlqSize"]; s != fmt.Sprint(dead) || !strings.Contains(dlqDOM, ">Retry</button>") {
		t.Errorf("DLQ page: size %q, want %d, with Retry buttons for an operator", s, dead)
	}
	if !strings.Contains(dom, `<svg class="chart"`) || !strings.Contains(dom, "queue now: ") {
		t.Error("the overview's card has no chart")
	}

	// At phone width nothing may be wider than the page.
	probe := phoneProbe(t, target, cookie)
	for _, path := range []string{"/ui/?window=1h", "/ui/contacts?q=example.com", "/ui/contacts", "/ui/connections", "/ui/failures?window=1h", "/ui/dlq", "/ui/contacts/" + deadContact} {
		dom := browseAt(t, bin, probe+"/__probe?width=375&path="+url.QueryEscape(path), "800,1000", "")
		m := probeRE.FindStringSubmatch(dom)
		if m == nil {
			t.Errorf("%s at 375 px: the layout probe did not run:\n%s", path, dom)
			continue
		}
		inner, _ := strconv.Atoi(m[1])
		scroll, _ := strconv.Atoi(m[2])
		if inner != 375 || scroll > inner {
			t.Errorf("%s at 375 px: innerWidth %d, document scrollWidth %d; reaching past the right edge: %s", path, inner, scroll, m[3])
		}
	}
	for name, path := range map[string]string{"overview": "/ui/?window=1h", "connections": "/ui/connections"} {
		file := filepath.Join(dir, "dashboard-phone-"+name+".png")
		browseAt(t, bin, probe+"/__probe?width=375&height=1600&path="+url.QueryEscape(path), "500,1600", file)
		t.Logf("screenshot of %s at 375 px: %s", path, file)
	}
}

// probeRE reads what phoneProbe's script found.
var probeRE = regexp.MustCompile(`<pre id="layout-probe">(\d+) (\d+) ?([^<]*)</pre>`)

// phoneProbe serves the dashboard with the session cookie through a proxy
// that drops the Content-Security-Policy and adds, at the end of each
// page, a script that measures it: innerWidth, document.documentElement's
// scrollWidth, and the elements that reach past the right edge outside a
// scrolling box. Headless Chromium's window is at least 500 px wide, so
// <proxy>/__probe?width=375&path=P shows P in an iframe that wide, and the
// script writes what it found into the parent page, for --dump-dom to
// show. The dashboard itself runs no script; only this test's copy does.
func phoneProbe(t *testing.T, target *url.URL, cookie *http.Cookie) string {
	t.Helper()
	const script = `<script>(function(){var w=innerWidth,out=[];` +
		`function scrolls(e){for(e=e.parentElement;e&&e!==document.body;e=e.parentElement){if(/auto|scroll|hidden/.test(getComputedStyle(e).overflowX))return true}return false}` +
		`document.querySelectorAll("body *").forEach(function(e){var r=e.getBoundingClientRect();` +
		`if(r.right>w+0.5&&out.length<8&&!scrolls(e)){out.push(e.tagName.toLowerCase()+(typeof e.className==="string"&&e.className?"."+e.className.split(" ").join("."):"")+"("+Math.round(r.right)+")")}});` +
		`var d=parent.document,p=d.createElement("pre");p.id="layout-probe";` +
		`p.textContent=w+" "+document.documentElement.scrollWidth+" "+out.join(" ");d.body.appendChild(p)})()</script>`
	proxy := httputil.NewSingleHostReverseProxy(target)
	direct := proxy.Director
	proxy.Director = func(r *http.Request) {
		direct(r)
		r.Host = target.Host
		r.AddCookie(cookie)
		r.Header.Del("Accept-Encoding")
	}
	proxy.ModifyResponse = func(resp *http.Response) error {
		resp.Header.Del("Content-Security-Policy")
		resp.Header.Del("X-Frame-Options")
		if !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/html") {
			return nil
		}
		b, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		if err != nil {
			return err
		}
		page := strings.Replace(string(b), "</body>", script+"</body>", 1)
		resp.Body = io.NopCloser(strings.NewReader(page))
		resp.ContentLength = int64(len(page))
		resp.Header.Set("Content-Length", fmt.Sprint(len(page)))
		return nil
	}
	mux := http.NewServeMux()
	mux.Handle("/", proxy)
	mux.HandleFunc("/__probe", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		fmt.Fprintf(w, `<!doctype html><html><body style="margin:0"><iframe src="%s" width="%s" height="%s" style="border:0"></iframe></body></html>`,
			html.EscapeString(r.URL.Query().Get("path")), html.EscapeString(r.URL.Query().Get("width")), html.EscapeString(cmp.Or(r.URL.Query().Get("height"), "900")))
	})
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return srv.URL
}

// TestDashboard_Sessions checks the login cookie, CSRF on the forms, roles,
// revocation and logout, over plain HTTP.
func TestDashboard_Sessions(t *testing.T) {
	t.Parallel()
	a := startAPI(t)
	a.deadLetter("ct_gone")
	jobs, _ := a.m.DB.FindJobs(context.Background(), synclayer.JobFilter{State: synclayer.JobDead})
	if len(jobs) != 1 {
		t.Fatalf("dead jobs: %d", len(jobs))
	}
	id := fmt.Sprint(jobs[0].ID)

	t.Run("LoginRequired", func(t *testing.T) {
		status, loc, _ := a.page("GET", "/ui/dlq", nil, "", nil)
		if status != http.StatusSeeOther || loc != "/ui/login?next=%2Fui%2Fdlq" {
			t.Errorf("GET /ui/dlq without a session: %d to %q", status, loc)
		}
		status, _, _ = a.page("POST", "/ui/dlq/"+id+"/retry", nil, "", url.Values{})
		if status != http.StatusUnauthorized {
			t.Errorf("POST without a session: %d, want 401", status)
		}
		status, _, body := a.page("POST", "/ui/login", nil, "", url.Values{"key": {"sl_wrong"}})
		if status != http.StatusUnauthorized || !strings.Contains(body, "unknown or revoked") {
			t.Errorf("wrong key: %d", status)
		}
	})
	t.Run("Cookie", func(t *testing.T) {
		c := a.login(a.keys[synclayer.RoleViewer])
		if !c.HttpOnly || c.SameSite != http.SameSiteStrictMode || c.Path != "/ui/" || c.Secure || c.MaxAge <= 0 {
			t.Errorf("cookie over http: %+v", c)
		}
		req, _ := http.NewRequest("POST", a.base+"/ui/login", strings.NewReader(url.Values{"key": {a.keys[synclayer.RoleViewer]}}.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.Header.Set("X-Forwarded-Proto", "https")
		resp, err := dashClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if cs := resp.Cookies(); len(cs) != 1 || !cs[0].Secure {
			t.Errorf("cookie behind an https proxy: %+v, want Secure", cs)
		}
	})
	t.Run("ViewerSeesNoButtons", func(t *testing.T) {
		c := a.login(a.keys[synclayer.RoleViewer])
		status, _, body := a.page("GET", "/ui/dlq", c, "", nil)
		if status != 200 || !strings.Contains(body, "ct_gone") || strings.Contains(body, "Retry</button>") {
			t.Errorf("viewer's DLQ page: %d, lists the job %v, shows Retry %v", status, strings.Contains(body, "ct_gone"), strings.Contains(body, "Retry</button>"))
		}
		csrf := csrfRE.FindStringSubmatch(body)[1] // the logout form's
		if status, _, _ := a.page("POST", "/ui/dlq/"+id+"/retry", c, "", url.Values{"csrf": {csrf}}); status != http.StatusForbidden {
			t.Errorf("viewer retry: %d, want 403", status)
		}
	})
	t.Run("BearerWorks", func(t *testing.T) {
		status, _, body := a.page("GET", "/ui/?window=7d", nil, a.keys[synclayer.RoleViewer], nil)
		if status != 200 || !strings.Contains(body, `data-skill="customer-sync"`) {
			t.Errorf("overview with a bearer key: %d", status)
		}
		if status, _, _ := a.page("GET", "/ui/?window=2h", nil, a.keys[synclayer.RoleViewer], nil); status != 400 {
			t.Errorf("unknown window: %d, want 400", status)
		}
	})
	t.Run("OperatorRetryNeedsCSRF", func(t *testing.T) {
		c := a.login(a.keys[synclayer.RoleOperator])
		_, _, body := a.page("GET", "/ui/dlq", c, "", nil)
		m := csrfRE.FindStringSubmatch(body)
		if m == nil || !strings.Contains(body, "/ui/dlq/"+id+"/retry") {
			t.Fatalf("operator's DLQ page has no retry form:\n%s", body)
		}
		if status, _, _ := a.page("POST", "/ui/dlq/"+id+"/retry", c, "", url.Values{"csrf": {"forged"}}); status != http.StatusForbidden {
			t.Errorf("retry with a wrong CSRF token: %d, want 403", status)
		}
		req, _ := http.NewRequest("POST", a.base+"/ui/dlq/"+id+"/discard", strings.NewReader("csrf="+m[1]))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.Header.Set("Origin", "https://evil.example")
		req.AddCookie(c)
		if resp, err := dashClient.Do(req); err != nil || resp.StatusCode != http.StatusForbidden {
			t.Errorf("cross-site discard: %v %v, want 403", resp.StatusCode, err)
		}
		status, loc, _ := a.page("POST", "/ui/dlq/"+id+"/retry", c, "", url.Values{"csrf": {m[1]}})
		if status != http.StatusSeeOther || !strings.HasPrefix(loc, "/ui/dlq?done=retried") {
			t.Errorf("retry: %d to %q", status, loc)
		}
		if left, _ := a.m.DB.FindJobs(context.Background(), synclayer.JobFilter{State: synclayer.JobDead}); len(left) != 0 {
			// The worker may already have dead-lettered it again; it is a new attempt then.
			if left[0].Attempts == jobs[0].Attempts && left[0].UpdatedAt.Equal(jobs[0].UpdatedAt) {
				t.Errorf("the job was not requeued: %+v", left[0])
			}
		}
	})
	t.Run("RevokedKeyEndsSession", func(t *testing.T) {
		k, secret, _ := synclayer.NewAPIKey(synclayer.RoleOperator, "short-lived", time.Now())
		_ = a.m.DB.CreateKey(context.Background(), k)
		c := a.login(secret)
		if status, _, _ := a.page("GET", "/ui/", c, "", nil); status != 200 {
			t.Fatalf("fresh session: %d", status)
		}
		_ = a.m.DB.RevokeKey(context.Background(), k.ID, time.Now())
		if status, loc, _ := a.page("GET", "/ui/", c, "", nil); status != http.StatusSeeOther || !strings.HasPrefix(loc, "/ui/login") {
			t.Errorf("session of a revoked key: %d to %q, want the login page", status, loc)
		}
	})
	t.Run("Logout", func(t *testing.T) {
		c := a.login(a.keys[synclayer.RoleViewer])
		_, _, body := a.page("GET", "/ui/", c, "", nil)
		csrf := csrfRE.FindStringSubmatch(body)[1]
		if status, loc, _ := a.page("POST", "/ui/logout", c, "", url.Values{"csrf": {csrf}}); status != http.StatusSeeOther || loc != "/ui/login" {
			t.Errorf("logout: %d to %q", status, loc)
		}
		if status, _, _ := a.page("GET", "/ui/", c, "", nil); status != http.StatusSeeOther {
			t.Errorf("after logout: %d, want a redirect to the login page", status)
		}
	})
	t.Run("ContactSearchOpensTrace", func(t *testing.T) {
		_, reply := a.shopify("customers/create", shopifyCustomer(7201, "Trace.Me@example.com", "Tracy", 0, "subscribed", 0))
		cid := reply["events"].([]any)[0].(map[string]any)["contactId"].(string)
		a.waitIdle(10 * time.Second)
		status, loc, _ := a.page("GET", "/ui/contacts?email=TRACE.me@example.com", nil, a.keys[synclayer.RoleViewer], nil)
		if status != http.StatusSeeOther || loc != "/ui/contacts/"+cid {
			t.Fatalf("search: %d to %q, want the contact %s", status, loc, cid)
		}
		_, _, body := a.page("GET", loc, nil, a.keys[synclayer.RoleViewer], nil)
		for _, want := range []string{"trace.me@example.com", "newer_wins", "POST /contacts → 201 created", "Tracy"} {
			if !strings.Contains(body, want) {
				t.Errorf("the contact page does not show %q", want)
			}
		}
	})
}

// TestDashboard_Connections checks the connections page on a running
// server: the Shopify source with its webhook URL, last webhook and
// rejects, the WooCommerce source flagged as never heard from, and the
// Brevo destination (the test's simulator, with a key) with its key
// accepted and the rate-limit budget its answers reported.
func TestDashboard_Connections(t *testing.T) {
	t.Parallel()
	a := startAPI(t)
	a.shopify("customers/create", shopifyCustomer(7301, "conn@example.com", "Connie", 0, "subscribed", 0))
	a.waitIdle(10 * time.Second)
	body := mustMarshal(shopifyCustomer(7302, "forged@example.com", "Fay", 0, "", 0))
	if status, _ := a.post("/webhooks/shopify", body, shopifyHeaders("customers/create", "wh-forged", body, "not-the-secret")); status != http.StatusUnauthorized {
		t.Fatalf("forged webhook: %d, want 401", status)
	}

	status, _, page := a.page("GET", "/ui/connections?window=1h", nil, a.keys[synclayer.RoleViewer], nil)
	if status != 200 {
		t.Fatalf("connections: %d\n%s", status, page)
	}
	row := func(attr, name string) string {
		t.Helper()
		i := strings.Index(page, attr+`="`+name+`"`)
		if i < 0 {
			t.Fatalf("no row for %s in:\n%s", name, page)
		}
		return page[i : i+strings.Index(page[i:], "</tr>")]
	}
	shop := row("data-source", "shopify")
	if st := stats(shop); st["lastWebhook"] != "just now" || st["rejects"] != "1" || st["silent"] != "" {
		t.Errorf("shopify row: %v, want a webhook just now, 1 reject, not silent", st)
	}
	if !strings.Contains(shop, "http://"+a.m.Addr+"/webhooks/shopify") || !strings.Contains(shop, "401") {
		t.Errorf("shopify row lacks its webhook URL or the reject's status:\n%s", shop)
	}
	if _, ok := a.m.Config.Sources["woocommerce"]; ok {
		if st := stats(row("data-source", "woocommerce")); st["silent"] != "no webhook received yet" {
			t.Errorf("woocommerce row: %v", st)
		}
	}
	brevo := row("data-destination", "brevo")
	if st := stats(brevo); st["credentials"] != "ok" || st["backlog"] != "0" || !strings.Contains(brevo, "destinations.brevo.api_key") {
		t.Errorf("brevo row: %v, want its key accepted, named, and no backlog", st)
	}
	if !strings.Contains(brevo, `<span class="mono">contacts</span>`) {
		t.Errorf("brevo row shows no budget of the contacts bucket:\n%s", brevo)
	}
	if !strings.Contains(page, `href="/ui/connections" aria-current="page"`) {
		t.Error("the nav does not link the connections page")
	}
}
