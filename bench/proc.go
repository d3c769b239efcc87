package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// buildBinary builds cmd/synclayer into dir. The build is not timed: the
// figures are for the running server.
func buildBinary(ctx context.Context, dir string) (string, error) {
	bin := filepath.Join(dir, "synclayer")
	out, err := exec.CommandContext(ctx, "go", "build", "-o", bin, "synclayer/cmd/synclayer").CombinedOutput()
	if err != nil {
		return "", fmt.Errorf("go build: %w\n%s", err, out)
	}
	return bin, nil
}

// serverConfig is what the generated synclayer.yaml says.
type serverConfig struct {
	bin, dir         string
	driver, dsn      string
	brevoURL         string // the simulator, with /v3
	secret, apiKey   string // passed through the environment, as in production
	queueConcurrency int
	lease            time.Duration // queue.lease (0: its default)
	listen           string
	orders           bool // order-events on, for the order burst
	// yamlOverride, when set, is the whole config, with %s for the
	// listen address.
	yamlOverride string
}

// yaml renders the config. The secrets stay ${VAR} references, so the
// server's environment expansion is exercised like in a real deployment.
func (c serverConfig) yaml() string {
	if c.yamlOverride != "" {
		return fmt.Sprintf(c.yamlOverride, c.listen)
	}
	var b strings.Builder
	fmt.Fprintf(&b, "server:\n  listen: %q\n", c.listen)
	fmt.Fprintf(&b, "storage:\n  driver: %s\n  dsn: %q\n", c.driver, c.dsn)
	b.WriteString("sources:\n  shopify:\n    secret: \"${SHOPIFY_WEBHOOK_SECRET}\"\n")
	fmt.Fprintf(&b, "destinations:\n  brevo:\n    api_key: \"${BREVO_API_KEY}\"\n    base_url: %q\n", c.brevoURL)
	b.WriteString("skills:\n  customer-sync:\n    enabled: true\n    source: shopify\n    options:\n      list_id: 5\n")
	if c.orders {
		b.WriteString("  order-events:\n    enabled: true\n    source: shopify\n")
	}
	if c.queueConcurrency > 0 || c.lease > 0 {
		b.WriteString("queue:\n")
	}
	if c.queueConcurrency > 0 {
		fmt.Fprintf(&b, "  concurrency: %d\n", c.queueConcurrency)
	}
	if c.lease > 0 {
		fmt.Fprintf(&b, "  lease: %s\n", c.lease)
	}
	return b.String()
}

// server is synclayer running as a child process.
type server struct {
	cmd     *exec.Cmd
	url     string
	logPath string
	exited  chan struct{}
	waitErr error
}

// startServer writes the config, starts the binary and returns once
// GET /readyz answers 200. The child is killed if this process dies.
func startServer(ctx context.Context, c serverConfig) (*server, error) {
	port, err := freePort()
	if err != nil {
		return nil, err
	}
	c.listen = "127.0.0.1:" + port
	cfgPath := filepath.Join(c.dir, "synclayer.yaml")
	if err := os.WriteFile(cfgPath, []byte(c.yaml()), 0o600); err != nil {
		return nil, err
	}
	s := &server{url: "http://" + c.listen, logPath: filepath.Join(c.dir, "server.log"), exited: make(chan struct{})}
	logf, err := os.Create(s.logPath)
	if err != nil {
		return nil, err
	}
	defer logf.Close()
	s.cmd = exec.Command(c.bin, "serve", "--config", cfgPath)
	s.cmd.Dir = c.dir
	s.cmd.Env = append(os.Environ(), "SHOPIFY_WEBHOOK_SECRET="+c.secret, "BREVO_API_KEY="+c.apiKey)
	s.cmd.Stdout, s.cmd.Stderr = logf, logf
	s.cmd.SysProcAttr = sysProcAttr()
	if err := s.cmd.Start(); err != nil {
		return nil, fmt.Errorf("start synclayer: %w", err)
	}
	go func() { s.waitErr = s.cmd.Wait(); close(s.exited) }()
	if err := s.waitReady(ctx, 30*time.Second); err != nil {
		s.stop()
		return nil, s.withLog(err)
	}
	return s, nil
}

// freePort asks the kernel for a port that is free now. Another process
// could take it before the server binds it; the start then fails loudly.
func freePort() (string, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	defer ln.Close()
	_, port, err := net.SplitHostPort(ln.Addr().String())
	return port, err
}

func (s *server) waitReady(ctx context.Context, timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	for time.Now().Before(deadline) {
		select {
		case <-s.exited:
			return fmt.Errorf("synclayer exited during start: %v", s.waitErr)
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(50 * time.Millisecond):
		}
		resp, err := http.Get(s.url + "/readyz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
		}
	}
	return fmt.Errorf("synclayer not ready after %s", timeout)
}

// stop sends SIGTERM, which lets deliveries in flight finish, and kills the
// process if it has not exited after 15 s.
func (s *server) stop() {
	select {
	case <-s.exited:
		return
	default:
	}
	_ = s.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-s.exited:
	case <-time.After(15 * time.Second):
		_ = s.cmd.Process.Kill()
		<-s.exited
	}
}

// withLog adds the tail of the server's log to err, since that is usually
// where the reason is.
func (s *server) withLog(err error) error {
	if errors.Is(err, context.Canceled) {
		return errors.New("interrupted")
	}
	b, _ := os.ReadFile(s.logPath)
	lines := strings.Split(strings.TrimSpace(string(b)), "\n")
	if len(lines) > 15 {
		lines = lines[len(lines)-15:]
	}
	if len(b) == 0 {
		return err
	}
	return fmt.Errorf("%w\nserver log (tail):\n  %s", err, strings.Join(lines, "\n  "))
}

// memory returns the server's peak and current resident set in MiB
// (VmHWM and VmRSS), which include the Go heap, stacks, SQLite's page cache
// and the binary's mapped text.
func (s *server) memory() (peak, rss float64, err error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", s.cmd.Process.Pid))
	if err != nil {
		return 0, 0, fmt.Errorf("read server memory: %w", err)
	}
	peak, rss = statusKB(b, "VmHWM:")/1024, statusKB(b, "VmRSS:")/1024
	if peak == 0 {
		return 0, 0, errors.New("read server memory: no VmHWM in /proc status")
	}
	return peak, rss, nil
}

func statusKB(status []byte, key string) float64 {
	for line := range bytes.Lines(status) {
		if rest, ok := bytes.CutPrefix(line, []byte(key)); ok {
			f := strings.Fields(string(rest))
			if len(f) > 0 {
				v, _ := strconv.ParseFloat(f[0], 64)
				return v
			}
		}
	}
	return 0
}

// processCPU returns the user+system CPU seconds used so far by /proc/<pid>
// ("self" for this process), so the report shows whether the server or
// the load generator and simulator took the cores.
func processCPU(pid string) (float64, error) {
	b, err := os.ReadFile("/proc/" + pid + "/stat")
	if err != nil {
		return 0, err
	}
	// Fields after the parenthesized command name; utime and stime are the
	// 14th and 15th fields overall, in USER_HZ (100 on Linux).
	i := bytes.LastIndexByte(b, ')')
	f := strings.Fields(string(b[i+1:]))
	if i < 0 || len(f) < 13 {
		return 0, errors.New("unexpected /proc stat format")
	}
	u, _ := strconv.ParseFloat(f[11], 64)
	st, _ := strconv.ParseFloat(f[12], 64)
	return (u + st) / 100, nil
}
