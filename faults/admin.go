package faults

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"time"

	"synclayer/source/shopify/shopifysim"
)

// Mutation names, as the write-back sends them.
const (
	emailMutation = "customerEmailMarketingConsentUpdate"
	smsMutation   = "customerSmsMarketingConsentUpdate"
)

// AdminWrite is one consent mutation that reached the Admin API
// simulator, in arrival order.
type AdminWrite struct {
	At, Answered time.Time // Answered: when the answer left (later when held); zero if never
	Op           string    // emailMutation or smsMutation
	CustomerID   string    // the numeric ID of gid://shopify/Customer/<ID>
	State        string    // the marketingState sent
	ConsentAt    time.Time // the consentUpdatedAt sent; zero when none
	Status       int       // the HTTP status answered; 0 when the connection was dropped or timed out
	Code         string    // THROTTLED, or the first userError's code
	Applied      bool      // the simulator changed the customer's consent
}

// adminServer is shopifysim on a real socket, behind a recorder that
// keeps every mutation and its answer, can hold one answer back (for an
// aimed kill), and calls echo after each applied write's answer left.
type adminServer struct {
	Sim *shopifysim.Server
	URL string
	srv *http.Server

	mu     sync.Mutex
	writes []*AdminWrite
	hold   *adminHold
	echo   func(AdminWrite)
}

// adminHold keeps the answer to the next applied write that match
// accepts from leaving, as hold does for Brevo.
type adminHold struct {
	match   func(*AdminWrite) bool
	applied chan AdminWrite
	release chan struct{}
}

// startAdmin serves a simulator whose cost bucket holds bucket points and
// refills restore a second.
func startAdmin(bucket, restore float64) (*adminServer, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	a := &adminServer{Sim: shopifysim.New(shopifysim.Options{AccessToken: shopifyAdminToken, Bucket: bucket, RestoreRate: restore})}
	a.srv = &http.Server{Handler: a, ReadHeaderTimeout: 10 * time.Second}
	a.URL = "http://" + ln.Addr().String()
	go func() { _ = a.srv.Serve(ln) }()
	return a, nil
}

func (a *adminServer) close() { _ = a.srv.Close() }

// holdNext holds the answer to the next applied write that match accepts.
func (a *adminServer) holdNext(match func(*AdminWrite) bool) *adminHold {
	h := &adminHold{match: match, applied: make(chan AdminWrite, 1), release: make(chan struct{})}
	a.mu.Lock()
	a.hold = h
	a.mu.Unlock()
	return h
}

func (a *adminServer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	r.Body = io.NopCloser(bytes.NewReader(body))
	rec := &AdminWrite{At: time.Now()}
	readMutation(rec, body)
	a.mu.Lock()
	a.writes = append(a.writes, rec)
	a.mu.Unlock()
	// The simulator answers into a buffer, so the answer can be held
	// after the write is applied; a drop still reaches the connection.
	bw := &bufferedWriter{real: w, header: http.Header{}}
	a.Sim.ServeHTTP(bw, r)
	a.mu.Lock()
	rec.Status, rec.Code, rec.Applied = readAnswer(rec.Op, bw)
	var held *adminHold
	if rec.Applied && a.hold != nil && a.hold.match(rec) {
		held, a.hold = a.hold, nil
	}
	a.mu.Unlock()
	if bw.hijacked || bw.status == 0 {
		return // dropped, or the client gave up waiting (a timeout outage)
	}
	if held != nil {
		held.applied <- *rec
		<-held.release
	}
	for k, v := range bw.header {
		w.Header()[k] = v
	}
	w.WriteHeader(bw.status)
	_, err := w.Write(bw.body.Bytes())
	a.mu.Lock()
	if err == nil {
		rec.Answered = time.Now()
	}
	done, echo := *rec, a.echo
	a.mu.Unlock()
	if done.Applied && done.Op == emailMutation && done.State == "UNSUBSCRIBED" && echo != nil {
		echo(done)
	}
}

// readMutation reads which mutation a request runs, on which customer,
// and the consent it sets.
func readMutation(rec *AdminWrite, body []byte) {
	var req struct {
		Query     string `json:"query"`
		Variables struct {
			Input struct {
				CustomerID string `json:"customerId"`
				Email      *struct {
					MarketingState   string `json:"marketingState"`
					ConsentUpdatedAt string `json:"consentUpdatedAt"`
				} `json:"emailMarketingConsent"`
				SMS *struct {
					MarketingState   string `json:"marketingState"`
					ConsentUpdatedAt string `json:"consentUpdatedAt"`
				} `json:"smsMarketingConsent"`
			} `json:"input"`
		} `json:"variables"`
	}
	_ = json.Unmarshal(body, &req)
	for _, op := range []string{emailMutation, smsMutation} {
		if strings.Contains(req.Query, op+"(") {
			rec.Op = op
			break
		}
	}
	in := req.Variables.Input
	rec.CustomerID = strings.TrimPrefix(in.CustomerID, "gid://shopify/Customer/")
	c := in.Email
	if rec.Op == smsMutation {
		c = in.SMS
	}
	if c != nil {
		rec.State = c.MarketingState
		rec.ConsentAt, _ = time.Parse(time.RFC3339, c.ConsentUpdatedAt)
	}
}

// readAnswer reads the simulator's answer: its status, a GraphQL error's
// or userError's code, and whether the write was applied (a customer in
// data and no userErrors).
func readAnswer(op string, bw *bufferedWriter) (status int, code string, applied bool) {
	if bw.hijacked {
		return 0, "", false
	}
	var ans struct {
		Data map[string]struct {
			Customer   json.RawMessage `json:"customer"`
			UserErrors []struct {
				Code string `json:"code"`
			} `json:"userErrors"`
		} `json:"data"`
		Errors json.RawMessage `json:"errors"`
	}
	_ = json.Unmarshal(bw.body.Bytes(), &ans)
	var errs []struct {
		Extensions struct {
			Code string `json:"code"`
		} `json:"extensions"`
	}
	if json.Unmarshal(ans.Errors, &errs) == nil && len(errs) > 0 {
		code = errs[0].Extensions.Code
	}
	p, ok := ans.Data[op]
	if len(p.UserErrors) > 0 {
		code = p.UserErrors[0].Code
	}
	applied = bw.status == http.StatusOK && ok && len(p.Customer) > 0 && string(p.Customer) != "null" && len(p.UserErrors) == 0
	return bw.status, code, applied
}

// Writes returns a copy of every mutation so far, in arrival order.
func (a *adminServer) Writes() []AdminWrite {
	a.mu.Lock()
	defer a.mu.Unlock()
	out := make([]AdminWrite, len(a.writes))
	for i, w := range a.writes {
		out[i] = *w
	}
	return out
}

// applied counts the writes applied so far.
func (a *adminServer) applied() int {
	a.mu.Lock()
	defer a.mu.Unlock()
	n := 0
	for _, w := range a.writes {
		if w.Applied {
			n++
		}
	}
	return n
}

// calls counts the mutations received so far.
func (a *adminServer) calls() int {
	a.mu.Lock()
	defer a.mu.Unlock()
	return len(a.writes)
}

// bufferedWriter keeps an answer for the recorder to send later. Hijack
// reaches the real connection, since the simulator's drop outage closes
// it that way.
type bufferedWriter struct {
	real     http.ResponseWriter
	header   http.Header
	status   int
	body     bytes.Buffer
	hijacked bool
}

func (w *bufferedWriter) Header() http.Header { return w.header }
func (w *bufferedWriter) WriteHeader(code int) {
	if w.status == 0 {
		w.status = code
	}
}
func (w *bufferedWriter) Write(p []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	return w.body.Write(p)
}
func (w *bufferedWriter) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	hj, ok := w.real.(http.Hijacker)
	if !ok {
		return nil, nil, errors.New("hijack not supported")
	}
	w.hijacked = true
	return hj.Hijack()
}
