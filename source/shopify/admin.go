package shopify

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"synclayer"
	"synclayer/normalize"
)

// DefaultAPIVersion is the Admin API version requested when admin.api_version
// is not set. Shopify supports a version for at least 12 months and then
// answers a request for it with the oldest supported one ("falls
// forward"); the two consent mutations are the same in every version
// since 2022-04.
const DefaultAPIVersion = "2025-10"

// maxAdminResponse caps how much of an answer is read.
const maxAdminResponse = 1 << 20

// adminRoute names every request in traces and logs: the version is the
// only variable part, and the path carries no customer data.
const adminRoute = "POST /admin/api/{version}/graphql.json"

// AdminConfig configures an Admin client.
type AdminConfig struct {
	Shop        string // the shop's myshopify.com domain, for messages
	AccessToken string // sent as X-Shopify-Access-Token; never logged or quoted
	APIVersion  string // default DefaultAPIVersion
	Endpoint    string // default https://<Shop>/admin/api/<APIVersion>/graphql.json

	HTTPClient *http.Client      // default: a 15 s timeout, following no redirect
	Transport  http.RoundTripper // the default client's transport; nil is http.DefaultTransport
	// Logger receives one debug line per request: the mutation, status,
	// duration, query cost and Shopify's error codes; never the token,
	// an email or a phone number.
	Logger *slog.Logger
	Now    func() time.Time // the rate limiter's clock; default time.Now

	// Bucket and RestoreRate size the rate limiter (points, points per
	// second) until Shopify's first answer reports the shop's own
	// (extensions.cost.throttleStatus); defaults DefaultBucket and
	// DefaultRestoreRate.
	Bucket      float64
	RestoreRate float64

	// BulkThreshold and ReconcileInterval are the listing settings
	// (AdminSettings); 0 is DefaultBulkThreshold and no reconciliation.
	BulkThreshold     int
	ReconcileInterval time.Duration
}

// Admin calls a shop's Admin GraphQL API. It is safe for concurrent use.
type Admin struct {
	shop     string
	token    string
	version  string
	endpoint string
	http     *http.Client
	log      *slog.Logger
	now      func() time.Time
	limit    *costLimiter
	// download fetches bulk operation results: a signed URL on Shopify's
	// storage, to which the access token is never sent, and a file that
	// can take minutes, past the API calls' 15 s.
	download *http.Client
}

// NewAdmin returns a client for cfg, filling in defaults. It refuses a
// config with no access token or no shop and endpoint.
func NewAdmin(cfg AdminConfig) (*Admin, error) {
	a := &Admin{
		shop:     cfg.Shop,
		token:    cfg.AccessToken,
		version:  cfg.APIVersion,
		endpoint: cfg.Endpoint,
		http:     cfg.HTTPClient,
		log:      cfg.Logger,
		now:      cfg.Now,
	}
	if a.token == "" {
		return nil, synclayer.FieldErrorf("admin.access_token", "missing; the Admin API needs the app's access token")
	}
	if a.version == "" {
		a.version = DefaultAPIVersion
	}
	if a.endpoint == "" {
		if a.shop == "" {
			return nil, synclayer.FieldErrorf("admin.shop", "missing; set the shop's myshopify.com domain")
		}
		a.endpoint = "https://" + a.shop + adminPath(a.version)
	}
	if a.shop == "" {
		if u, err := url.Parse(a.endpoint); err == nil {
			a.shop = u.Host
		}
	}
	if a.http == nil {
		a.http = &http.Client{
			Transport: cfg.Transport,
			Timeout:   15 * time.Second,
			// A redirect would carry X-Shopify-Access-Token to wherever it
			// points (Go drops only Authorization and cookies); the Admin
			// API does not redirect calls to the myshopify.com domain.
			CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
		}
	}
	if a.log == nil {
		a.log = slog.New(slog.DiscardHandler)
	}
	if a.now == nil {
		a.now = time.Now
	}
	a.limit = newCostLimiter(cfg.Bucket, cfg.RestoreRate)
	a.download = cfg.HTTPClient
	if a.download == nil {
		a.download = &http.Client{Transport: cfg.Transport, Timeout: 10 * time.Minute}
	}
	return a, nil
}

// APIError is an answer of the Admin API that did not do what was asked:
// an HTTP error, a GraphQL error or a mutation's userErrors. Message says
// what Shopify said and what to do; it never holds the access token.
type APIError struct {
	Status  int      // the HTTP status; 200 for GraphQL errors and userErrors
	Op      string   // the mutation, such as customerEmailMarketingConsentUpdate
	Code    string   // a GraphQL error's extensions.code or a userError's code
	Field   []string // a userError's path to the input field at fault
	Setting string   // the config key to check, such as admin.access_token
	Message string
	code    string // the synclayer error code Unwrap reports
}

func (e *APIError) Error() string {
	s := "shopify: " + e.Op
	if e.Status != http.StatusOK {
		s += fmt.Sprintf(": %d %s", e.Status, http.StatusText(e.Status))
	}
	return s + ": " + e.Message
}

// HTTPStatus returns the status answered, for synclayer.HTTPStatus: the
// program reads 401 and 403 as credentials the platform refuses.
func (e *APIError) HTTPStatus() int { return e.Status }

// Unwrap returns the error as a synclayer *Error (EUNAUTHORIZED for a
// refused token, ENOTFOUND for a customer Shopify does not have, EINVALID
// for a refused input), naming Setting as its field.
func (e *APIError) Unwrap() error {
	code := e.code
	if code == "" {
		code = synclayer.EINTERNAL
	}
	return &synclayer.Error{Code: code, Field: e.Setting, Message: e.Message}
}

// gqlAnswer is the GraphQL response envelope. errors is a list of error
// objects, or a string in Shopify's HTTP error bodies
// ({"errors":"[API] Invalid API key or access token ..."}).
type gqlAnswer struct {
	Data       json.RawMessage `json:"data"`
	Errors     json.RawMessage `json:"errors"`
	Extensions struct {
		Cost *queryCost `json:"cost"`
	} `json:"extensions"`
}

type gqlError struct {
	Message    string `json:"message"`
	Extensions struct {
		Code string `json:"code"`
	} `json:"extensions"`
}

// queryCost is extensions.cost, which every Admin GraphQL answer carries.
type queryCost struct {
	RequestedQueryCost float64        `json:"requestedQueryCost"`
	ActualQueryCost    *float64       `json:"actualQueryCost"` // null when throttled
	ThrottleStatus     throttleStatus `json:"throttleStatus"`
}

type throttleStatus struct {
	MaximumAvailable   float64 `json:"maximumAvailable"`
	CurrentlyAvailable float64 `json:"currentlyAvailable"`
	RestoreRate        float64 `json:"restoreRate"`
}

func (g *gqlAnswer) errorList() []gqlError {
	t := bytes.TrimSpace(g.Errors)
	if len(t) == 0 || string(t) == "null" {
		return nil
	}
	var list []gqlError
	if json.Unmarshal(t, &list) == nil {
		return list
	}
	var s string
	if json.Unmarshal(t, &s) == nil {
		return []gqlError{{Message: s}}
	}
	var one gqlError
	if json.Unmarshal(t, &one) == nil && one.Message != "" {
		return []gqlError{one}
	}
	return []gqlError{{Message: "unreadable errors member"}}
}

// Throttled answers whose wait is at most maxInlineWait are sent again
// after it, up to throttleRetries times, before the job gets a RetryAfter:
// a short throttle is paced, not sent back to the queue, so the email and
// SMS writes of one job go out together.
const (
	throttleRetries = 2
	maxInlineWait   = 2 * time.Second
)

// mutate sends one mutation and decodes data.<op> into out. Errors are
// classified for the queue as the package documents.
func (a *Admin) mutate(ctx context.Context, op, query string, vars, out any) error {
	for i := 0; ; i++ {
		err := a.send(ctx, op, query, vars, out)
		var ra *synclayer.RetryAfterError
		var apiErr *APIError
		if i == throttleRetries || !errors.As(err, &ra) || !errors.As(err, &apiErr) || apiErr.Code != "THROTTLED" ||
			ra.After > maxInlineWait {
			return err
		}
		t := time.NewTimer(ra.After)
		select {
		case <-ctx.Done():
			t.Stop()
			return err
		case <-t.C:
		}
	}
}

// query sends one query whose root field is op, after taking its
// requested cost (points) from the limiter, and decodes data.<op> into
// out. A throttled query is not sent again here: it returns a Throttled
// error with the wait, and the lister's caller waits and asks again.
func (a *Admin) query(ctx context.Context, op, query string, points int, vars, out any) error {
	if err := a.limit.take(ctx, a.now(), points); err != nil {
		return err
	}
	return a.send(ctx, op, query, vars, out)
}

// send makes one request.
func (a *Admin) send(ctx context.Context, op, query string, vars, out any) error {
	payload, err := json.Marshal(map[string]any{"query": query, "variables": vars})
	if err != nil {
		return synclayer.Permanent(fmt.Errorf("shopify: %s: encode request: %w", op, err))
	}
	req, err := http.NewRequestWithContext(synclayer.WithHTTPRoute(ctx, adminRoute), http.MethodPost, a.endpoint, bytes.NewReader(payload))
	if err != nil {
		return synclayer.Permanent(fmt.Errorf("shopify: %s: build request: check admin.base_url", op))
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/json")
	req.Header.Set("X-Shopify-Access-Token", a.token)

	start := time.Now()
	resp, err := a.http.Do(req)
	if err != nil {
		err = transportError(err)
		a.logRequest(ctx, op, 0, time.Since(start), nil, err)
		return fmt.Errorf("shopify: %s: %w", op, err)
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxAdminResponse))
	resp.Body.Close()
	if err != nil {
		err = transportError(err)
		a.logRequest(ctx, op, resp.StatusCode, time.Since(start), nil, err)
		return fmt.Errorf("shopify: %s: read answer: %w", op, err)
	}
	var ans gqlAnswer
	decodeErr := json.Unmarshal(body, &ans)
	if ans.Extensions.Cost != nil {
		a.limit.observe(a.now(), ans.Extensions.Cost.ThrottleStatus)
	}
	a.logRequest(ctx, op, resp.StatusCode, time.Since(start), &ans, nil)
	if resp.StatusCode != http.StatusOK {
		return a.statusError(op, resp, &ans)
	}
	if decodeErr != nil {
		// A 200 that is not JSON comes from something between us and
		// Shopify (a proxy's page); it may pass.
		return fmt.Errorf("shopify: %s: answer is not JSON: %w", op, decodeErr)
	}
	if errs := ans.errorList(); len(errs) > 0 {
		return a.graphQLError(op, errs, ans.Extensions.Cost)
	}
	var data map[string]json.RawMessage
	if err := json.Unmarshal(ans.Data, &data); err != nil || normalize.IsNull(data[op]) {
		return &noDataError{op}
	}
	if err := json.Unmarshal(data[op], out); err != nil {
		return synclayer.Permanent(fmt.Errorf("shopify: %s: decode data.%s: %w", op, op, err))
	}
	return nil
}

// noDataError is an answer whose data.<op> is null or absent: a failure
// for a mutation, and "none" for a query of one object
// (currentBulkOperation before the app's first).
type noDataError struct{ op string }

func (e *noDataError) Error() string { return "shopify: " + e.op + ": answer has no data." + e.op }

// Long states of the shop, which end without any change in synclayer
// (a frozen shop pays its bill, a locked one is unlocked by Shopify), are
// retried hourly, so the opt-out still lands when the shop comes back.
const shopStateRetry = time.Hour

// statusError classifies a non-200 answer.
func (a *Admin) statusError(op string, resp *http.Response, ans *gqlAnswer) error {
	status := resp.StatusCode
	said := ""
	if errs := ans.errorList(); len(errs) > 0 {
		said = " (Shopify: " + a.scrub(errs[0].Message) + ")"
	}
	e := &APIError{Status: status, Op: op}
	switch {
	case status == http.StatusUnauthorized:
		e.Setting, e.code = "admin.access_token", synclayer.EUNAUTHORIZED
		e.Message = "Shopify refused the access token" + said + ": check admin.access_token in this source's block (sources.<name>.admin.access_token): " +
			"it must be the Admin API access token of an app installed on " + a.shop + ", with the " + scopeFor(op) + " scope"
		return synclayer.Permanent(e)
	case status == http.StatusForbidden:
		e.Setting, e.code = "admin.access_token", synclayer.EFORBIDDEN
		e.Message = "Shopify refused the call" + said + ": the app of admin.access_token lacks the " + scopeFor(op) + " scope; " +
			"add it to the app's Admin API scopes, reinstall the app on " + a.shop + " and update the token if it changed"
		return synclayer.Permanent(e)
	case status == http.StatusNotFound:
		e.Setting, e.code = "admin.shop", synclayer.ENOTFOUND
		e.Message = "no Admin API at " + a.endpointForMessage() + said + ": check admin.shop (the shop's myshopify.com domain) and admin.api_version (" + a.version + ")"
		return synclayer.Permanent(e)
	case status == http.StatusPaymentRequired:
		e.Message = "the shop is frozen" + said + ": its owner must pay the outstanding balance in the Shopify admin; synclayer tries again in an hour"
		return synclayer.RetryAfter(e, shopStateRetry)
	case status == http.StatusLocked:
		e.Message = "the shop is locked" + said + ": Shopify locks a shop that keeps exceeding its API limits or shows a risk such as fraud; its owner must contact Shopify support; synclayer tries again in an hour"
		return synclayer.RetryAfter(e, shopStateRetry)
	case status == http.StatusTooManyRequests:
		e.Code = "THROTTLED"
		e.Message = "rate limited" + said
		return synclayer.Throttled(e, retryAfterHeader(resp.Header, time.Second))
	case status == http.StatusRequestTimeout || status >= 500:
		e.Message = "Shopify failed" + said + "; the call is retried"
		return e
	case status >= 300 && status < 400:
		e.Setting = "admin.shop"
		e.Message = "the Admin API redirected the call to " + redirectHost(resp) + ": set admin.shop to the shop's myshopify.com domain, not its own domain"
		return synclayer.Permanent(e)
	}
	e.code = synclayer.EINVALID
	e.Message = "Shopify refused the request" + said
	return synclayer.Permanent(e)
}

// graphQLError classifies the errors member of a 200 answer: THROTTLED
// waits for the points the answer's cost says are missing; Shopify's own
// failure is retried; anything else (a refused scope, a query the API
// version does not have) cannot pass by sending it again.
func (a *Admin) graphQLError(op string, errs []gqlError, cost *queryCost) error {
	first := errs[0]
	e := &APIError{Status: http.StatusOK, Op: op, Code: first.Extensions.Code, Message: a.scrub(first.Message)}
	switch {
	case first.Extensions.Code == "THROTTLED" || (first.Extensions.Code == "" && first.Message == "Throttled"):
		e.Code = "THROTTLED"
		d := a.limit.throttledWait(cost)
		e.Message = fmt.Sprintf("throttled by Shopify's query cost limit; retry in %s", d.Round(time.Millisecond))
		return synclayer.Throttled(e, d)
	case first.Extensions.Code == "INTERNAL_SERVER_ERROR":
		e.Message = "Shopify failed (" + e.Message + "); the call is retried"
		return e
	case first.Extensions.Code == "ACCESS_DENIED":
		e.Setting, e.code = "admin.access_token", synclayer.EFORBIDDEN
		e.Message = "Shopify denied access (" + e.Message + "): the app of admin.access_token needs the " + scopeFor(op) + " scope"
		return synclayer.Permanent(e)
	}
	e.code = synclayer.EINVALID
	what := "mutation"
	if !strings.HasSuffix(op, "Update") && !strings.HasSuffix(op, "Create") && !strings.HasSuffix(op, "RunQuery") {
		what = "query"
	}
	e.Message = "Shopify refused the " + what + " (" + e.Message + "); admin.api_version " + a.version + " may not have it as synclayer sends it"
	return synclayer.Permanent(e)
}

// scopeFor is the access scope the app needs for op, for messages.
func scopeFor(op string) string {
	switch op {
	case customersOp, customersCountOp, bulkRunOp, bulkCurrentOp:
		return "read_customers"
	case ordersOp:
		return "read_orders (and read_all_orders for orders older than 60 days)"
	case productsOp:
		return "read_products"
	case hooksOp, hookCreateOp, hookUpdateOp:
		return "read scope of each topic's records (read_customers, read_orders, read_products)"
	}
	return "write_customers"
}

// scrub keeps the access token out of a message taken from an answer.
func (a *Admin) scrub(s string) string {
	if a.token != "" {
		s = strings.ReplaceAll(s, a.token, "[access token]")
	}
	return normalize.Clip(s)
}

func (a *Admin) endpointForMessage() string {
	if u, err := url.Parse(a.endpoint); err == nil {
		return u.Host + u.Path
	}
	return "the endpoint"
}

// retryAfterHeader reads Retry-After in seconds, which Shopify writes
// with a fraction ("2.0"); def when absent or unreadable.
func retryAfterHeader(h http.Header, def time.Duration) time.Duration {
	if v := strings.TrimSpace(h.Get("Retry-After")); v != "" {
		if s, err := strconv.ParseFloat(v, 64); err == nil && s > 0 && s < 24*3600 {
			return time.Duration(s * float64(time.Second))
		}
	}
	return def
}

func redirectHost(resp *http.Response) string {
	if u, err := resp.Location(); err == nil {
		return u.Host
	}
	return "another address"
}

// transportError drops the *url.Error wrapper, whose text repeats the
// endpoint; the reason is what the operator needs.
func transportError(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		return ue.Err
	}
	return err
}

// logRequest writes the debug line of one request.
func (a *Admin) logRequest(ctx context.Context, op string, status int, d time.Duration, ans *gqlAnswer, err error) {
	if !a.log.Enabled(ctx, slog.LevelDebug) {
		return
	}
	attrs := []slog.Attr{
		slog.String("op", op),
		slog.Int("status", status),
		slog.Duration("duration", d),
	}
	if ans != nil {
		if c := ans.Extensions.Cost; c != nil {
			attrs = append(attrs, slog.Float64("requested_cost", c.RequestedQueryCost),
				slog.Float64("available", c.ThrottleStatus.CurrentlyAvailable))
		}
		for _, e := range ans.errorList() {
			if e.Extensions.Code != "" {
				attrs = append(attrs, slog.String("code", e.Extensions.Code))
				break
			}
		}
	}
	if err != nil {
		attrs = append(attrs, slog.String("error", err.Error()))
	}
	a.log.LogAttrs(ctx, slog.LevelDebug, "shopify admin request", attrs...)
}
