package faults

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"time"
)

// Build compiles cmd/synclayer into dir and returns the binary's path. The
// harness runs the real binary, so a kill is a real process dying with
// whatever it had in flight, not a test closing a struct.
func Build(ctx context.Context, dir string, race bool) (string, error) {
	bin := filepath.Join(dir, "synclayer")
	args := []string{"build", "-o", bin}
	if race {
		args = append(args, "-race")
	}
	out, err := exec.CommandContext(ctx, "go", append(args, "synclayer/cmd/synclayer")...).CombinedOutput()
	if err != nil {
		return "", fmt.Errorf("go build: %w\n%s", err, out)
	}
	return bin, nil
}

// serverConfig is what the generated synclayer.yaml says.
type serverConfig struct {
	listen      string
	driver, dsn string
	brevoURL    string
	adminURL    string // the Shopify Admin API simulator, the write-back's base_url
	slackURL    string // the Slack receiver, given as SLACK_WEBHOOK_URL
	hookURL     string // the webhook receiver, given as ORDER_WEBHOOK_URL
}

// yaml renders the config. Secrets stay ${VAR} references, so they come
// from the environment as in a deployment. The short lease and poll make a
// killed worker's jobs come back within seconds; the long max_age keeps a
// long outage from dead-lettering anything; the short abandon_after lets
// carts' waits span kills and end within the run. The workflow names the
// order and its buyer in the Slack text, for the checks to read. Brevo's
// webhook is served (the harness sends its opt-outs itself, so none is
// registered) without reconciliation: a reconciliation reads a block at
// Brevo's modifiedAt, today, while the model's statements are dated in
// its own past, 90 days ago. The Shopify source's admin block makes the
// write-back call the Admin API simulator (writeback.go).
func (c serverConfig) yaml() string {
	return fmt.Sprintf(`server:
  listen: %q
storage:
  driver: %s
  dsn: %q
sources:
  shopify:
    secret: "${SHOPIFY_WEBHOOK_SECRET}"
    admin: { shop: demo.myshopify.com, access_token: "${SHOPIFY_ADMIN_TOKEN}", base_url: %q }
  custom:  { secret: "${CUSTOM_WEBHOOK_SECRET}" }
destinations:
  brevo:
    api_key: "${BREVO_API_KEY}"
    base_url: %q
    webhook: { token: "${BREVO_WEBHOOK_TOKEN}", reconcile_interval: "off" }
skills:
  customer-sync:
    enabled: true
    source: [shopify, custom]
    options:
      list_id: %d
      consent_sources: [shopify]   # the model's consent owner; custom's opt-in claims must not count
  order-events:
    enabled: true
    source: [shopify]
  cart-events:
    enabled: true
    source: [shopify, custom]
    options:
      abandon_after: %s
workflows:
  - name: %s
    owner: ops@example.com
    trigger: order_created
    filter: 'order.total >= %s'
    actions:
      - slack: { webhook_url: "${SLACK_WEBHOOK_URL}", text: "order {{ .order.id }} total {{ .order.total }} for {{ .contact.email }}" }
      - webhook: { url: "${ORDER_WEBHOOK_URL}", secret: "${ORDER_WEBHOOK_SECRET}" }
queue:
  lease: 3s
  poll: 100ms
  max_age: 720h
`, c.listen, c.driver, c.dsn, c.adminURL, c.brevoURL, listID, abandonAfter, ruleName, highValue)
}

// env is the child's environment beyond the harness's own: every secret
// the config names.
func (c serverConfig) env() []string {
	return []string{"SHOPIFY_WEBHOOK_SECRET=" + shopifySecret, "CUSTOM_WEBHOOK_SECRET=" + customSecret, "BREVO_API_KEY=" + brevoAPIKey,
		"SHOPIFY_ADMIN_TOKEN=" + shopifyAdminToken, "BREVO_WEBHOOK_TOKEN=" + brevoWebhookToken,
		"SLACK_WEBHOOK_URL=" + c.slackURL, "ORDER_WEBHOOK_URL=" + c.hookURL, "ORDER_WEBHOOK_SECRET=" + orderHookSecret}
}

// listID is the marketable Brevo list.
const listID = 5

// server is synclayer running as a child process, restartable on the same
// address and data.
type server struct {
	bin, dir, cfgPath, logPath string
	url                        string
	env                        []string
	cmd                        *exec.Cmd
	exited                     chan struct{}
}

func newServer(bin, dir string, c serverConfig) (*server, error) {
	return newServerWith(bin, dir, c.env(), func(listen string) string { c.listen = listen; return c.yaml() })
}

// newServerWith is newServer for a config of the caller's, rendered for
// the address the server is to listen on, with env its secrets.
func newServerWith(bin, dir string, env []string, yaml func(listen string) string) (*server, error) {
	port, err := freePort()
	if err != nil {
		return nil, err
	}
	listen := "127.0.0.1:" + port
	s := &server{bin: bin, dir: dir, cfgPath: filepath.Join(dir, "synclayer.yaml"), logPath: filepath.Join(dir, "server.log"), url: "http://" + listen, env: env}
	return s, os.WriteFile(s.cfgPath, []byte(yaml(listen)), 0o600)
}

// start starts the binary and returns once GET /readyz answers 200.
func (s *server) start(ctx context.Context) error {
	logf, err := os.OpenFile(s.logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return err
	}
	defer logf.Close()
	fmt.Fprintf(logf, "---- harness: start at %s\n", time.Now().Format(time.RFC3339Nano))
	cmd := exec.Command(s.bin, "serve", "--config", s.cfgPath)
	cmd.Dir = s.dir
	cmd.Env = append(os.Environ(), s.env...)
	cmd.Stdout, cmd.Stderr = logf, logf
	cmd.SysProcAttr = childAttr()
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("start synclayer: %w", err)
	}
	exited := make(chan struct{})
	go func() { _ = cmd.Wait(); close(exited) }()
	s.cmd, s.exited = cmd, exited
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		select {
		case <-exited:
			return s.withLog(fmt.Errorf("synclayer exited during start: %v", cmd.ProcessState))
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(20 * time.Millisecond):
		}
		if resp, err := http.Get(s.url + "/readyz"); err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
		}
	}
	return s.withLog(errors.New("synclayer not ready after 30s"))
}

// kill sends SIGKILL and waits for the process to be gone.
func (s *server) kill() {
	if s.cmd == nil {
		return
	}
	_ = s.cmd.Process.Kill()
	<-s.exited
}

// stop sends SIGTERM, which lets deliveries in flight finish, and kills
// the process if it has not exited after 15 s.
func (s *server) stop() {
	if s.cmd == nil {
		return
	}
	select {
	case <-s.exited:
		return
	default:
	}
	_ = s.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-s.exited:
	case <-time.After(15 * time.Second):
		s.kill()
	}
}

// withLog adds the tail of the server's log to err.
func (s *server) withLog(err error) error {
	return fmt.Errorf("%w\nserver log (tail):\n%s", err, tail(s.logPath, 20))
}

func tail(path string, n int) string {
	b, _ := os.ReadFile(path)
	lines := strings.Split(strings.TrimSpace(string(b)), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return "  " + strings.Join(lines, "\n  ")
}

// freePort asks the kernel for a port that is free now.
func freePort() (string, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	defer ln.Close()
	_, port, err := net.SplitHostPort(ln.Addr().String())
	return port, err
}
