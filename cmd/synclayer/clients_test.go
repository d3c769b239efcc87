package main

import (
	"context"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"synclayer"
)

// TestClients runs the JavaScript and Python clients' own suites
// (clients/js/test, clients/python/tests) against a real server with a
// Brevo simulator, through a proxy that checks every exchange against
// api/openapi.yaml. CI has node and python3; a machine without them fails
// here, naming what to install. SYNCLAYER_SKIP_CLIENTS=1 skips the test.
func TestClients(t *testing.T) {
	if os.Getenv("SYNCLAYER_SKIP_CLIENTS") == "1" {
		t.Skip("SYNCLAYER_SKIP_CLIENTS=1: the JavaScript and Python clients are not tested")
	}
	t.Parallel()
	node, python := clientTool(t, "node", "Node.js 20 or later"), clientTool(t, "python3", "Python 3.9 or later")
	if t.Failed() {
		t.FailNow()
	}
	root, err := filepath.Abs(filepath.Join("..", ".."))
	if err != nil {
		t.Fatal(err)
	}

	a := startAPI(t)
	target, _ := url.Parse(a.base)
	proxy := httptest.NewServer(&httputil.ReverseProxy{
		Rewrite:   func(r *httputil.ProxyRequest) { r.SetURL(target) },
		Transport: a.spec,
	})
	t.Cleanup(proxy.Close)
	for _, r := range []string{"ct_js_retry", "ct_js_delete", "ct_py_retry", "ct_py_delete"} {
		a.deadJob(r) // two for each suite: one to retry, one to discard
	}
	env := append(os.Environ(),
		"SYNCLAYER_URL="+proxy.URL,
		"SYNCLAYER_API_KEY="+a.keys[synclayer.RoleAdmin],
		"SYNCLAYER_VIEWER_KEY="+a.keys[synclayer.RoleViewer],
		"NO_COLOR=1",
		"PYTHONDONTWRITEBYTECODE=1", // no __pycache__ in the work tree
	)

	// Not in parallel: both suites change the same skill.
	for _, tc := range []struct {
		name string
		cmd  []string
	}{
		{"JS", []string{node, "--test", "clients/js/test"}},
		{"Python", []string{python, "-m", "unittest", "discover", "-v", "-s", "clients/python/tests"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
			defer cancel()
			cmd := exec.CommandContext(ctx, tc.cmd[0], tc.cmd[1:]...)
			cmd.Dir, cmd.Env, cmd.WaitDelay = root, env, 10*time.Second
			out, err := cmd.CombinedOutput()
			if err != nil {
				t.Fatalf("%s: %v\n%s", strings.Join(tc.cmd, " "), err, out)
			}
			t.Logf("%s:\n%s", strings.Join(tc.cmd, " "), out)
		})
	}
	// Every call the clients make went through the spec check.
	for _, op := range []string{
		"GET /api/v1/skills", "PUT /api/v1/skills/{name}", "POST /api/v1/skills/{name}/disable", "POST /api/v1/skills/{name}/trigger",
		"GET /api/v1/contacts", "GET /api/v1/contacts/{id}", "GET /api/v1/contacts/{id}/trace",
		"GET /api/v1/jobs", "GET /api/v1/dlq", "POST /api/v1/dlq/{id}/retry", "DELETE /api/v1/dlq/{id}", "GET /api/v1/stats",
	} {
		if got := a.spec.statuses(op); !slices.Contains(got, 200) && !slices.Contains(got, 202) && !slices.Contains(got, 204) {
			t.Errorf("%s: the clients' tests got no success from it (statuses %v)", op, got)
		}
	}
}

// clientTool returns the path of a program a client's tests need, or marks
// the test failed, naming what to install, when it is missing.
func clientTool(t *testing.T, name, what string) string {
	t.Helper()
	path, err := exec.LookPath(name)
	if err != nil {
		t.Errorf("%s is not installed: install %s to test the clients in clients/ (CI has it), or set SYNCLAYER_SKIP_CLIENTS=1 to skip them", name, what)
	}
	return path
}
