package shopify_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"synclayer"
	"synclayer/source/shopify"
	"synclayer/source/shopify/shopifysim"
)

const adminToken = "shpat_0123456789abcdef0123456789abcdef"

var optOutAt = time.Date(2024, 10, 2, 14, 30, 0, 0, time.UTC)

// mustOpenAdmin starts a simulator checked against the vendored schema and
// opens a Shopify source on it the way the program does: through Type.Open
// with an admin block whose base_url is the simulator. Every request the
// test makes must pass the schema check.
func mustOpenAdmin(t *testing.T, o shopifysim.Options) (*shopifysim.Server, synclayer.ConsentWriter) {
	t.Helper()
	if o.AccessToken == "" {
		o.AccessToken = adminToken
	}
	o.Validate = mustLoadSchema(t).validate
	sim := shopifysim.New(o)
	srv := httptest.NewServer(sim)
	t.Cleanup(srv.Close)
	t.Cleanup(func() {
		for _, v := range sim.Violations() {
			t.Errorf("request refused by the Admin schema: %s", v)
		}
	})
	src := mustOpenSource(t, fmt.Sprintf(`{"admin": {"shop": "demo.myshopify.com", "access_token": %q, "api_version": "2025-10", "base_url": %q}}`,
		adminToken, srv.URL+"/simulator/shopify"))
	cw, ok := src.(synclayer.ConsentWriter)
	if !ok {
		t.Fatalf("Type.Open with admin: %T is not a synclayer.ConsentWriter", src)
	}
	return sim, cw
}

func mustOpenSource(t *testing.T, section string) synclayer.Source {
	t.Helper()
	src, err := shopify.Type.Open([]string{testSecret}, synclayer.SourceSettings{Section: json.RawMessage(section)})
	if err != nil {
		t.Fatalf("Type.Open(%s): %v", section, err)
	}
	return src
}

func optOut(id string, email, sms bool) synclayer.ConsentWrite {
	w := synclayer.ConsentWrite{SourceID: id, Email: "ada@example.com"}
	if email {
		w.EmailConsent = synclayer.Consent{State: synclayer.ConsentUnsubscribed, Source: "brevo", At: optOutAt, OptOutAt: optOutAt}
	}
	if sms {
		w.SMSConsent = synclayer.Consent{State: synclayer.ConsentUnsubscribed, Source: "brevo", At: optOutAt.Add(time.Minute), OptOutAt: optOutAt.Add(time.Minute)}
	}
	return w
}

func isPermanent(err error) bool {
	var p *synclayer.PermanentError
	return errors.As(err, &p)
}

func retryAfter(err error) (time.Duration, bool) {
	var ra *synclayer.RetryAfterError
	if errors.As(err, &ra) {
		return ra.After, true
	}
	return 0, false
}

func TestAdmin_WriteConsent(t *testing.T) {
	ctx := context.Background()

	t.Run("EmailOptOutWrittenOnceWithTheCanonicalTime", func(t *testing.T) {
		t.Parallel()
		sim, cw := mustOpenAdmin(t, shopifysim.Options{})
		sim.AddCustomer("7001", "ada@example.com", "+33612345678")
		sim.SetConsent("7001", false, shopifysim.Consent{MarketingState: "SUBSCRIBED", MarketingOptInLevel: "CONFIRMED_OPT_IN"})

		summary, err := cw.WriteConsent(ctx, optOut("7001", true, false))
		if err != nil {
			t.Fatal(err)
		}
		if want := "shopify: customerEmailMarketingConsentUpdate → UNSUBSCRIBED (customer 7001)"; summary != want {
			t.Errorf("summary = %q, want %q", summary, want)
		}
		c, _ := sim.Customer("7001")
		if c.EmailConsent.MarketingState != "UNSUBSCRIBED" || !c.EmailConsent.ConsentUpdatedAt.Equal(optOutAt) {
			t.Errorf("email consent = %+v, want UNSUBSCRIBED at %s (the opt-out's time, not the write's)", *c.EmailConsent, optOutAt)
		}
		if c.EmailWrites != 1 || c.SMSWrites != 0 || len(sim.Calls()) != 1 {
			t.Errorf("writes: email %d, SMS %d, calls %d; want one email write and nothing else", c.EmailWrites, c.SMSWrites, len(sim.Calls()))
		}
		if c.SMSConsent.MarketingState != "NOT_SUBSCRIBED" {
			t.Errorf("SMS consent changed to %s by an email opt-out", c.SMSConsent.MarketingState)
		}
		if got := sim.Calls()[0].Header.Get("X-Shopify-Access-Token"); got != adminToken {
			t.Errorf("X-Shopify-Access-Token = %q", got)
		}
	})

	t.Run("EmailThenSMSForACustomerWithAPhone", func(t *testing.T) {
		t.Parallel()
		sim, cw := mustOpenAdmin(t, shopifysim.Options{})
		sim.AddCustomer("7002", "ada@example.com", "+33612345678")
		summary, err := cw.WriteConsent(ctx, optOut("7002", true, true))
		if err != nil {
			t.Fatal(err)
		}
		c, _ := sim.Customer("7002")
		if c.EmailConsent.MarketingState != "UNSUBSCRIBED" || c.SMSConsent.MarketingState != "UNSUBSCRIBED" {
			t.Errorf("consent = email %s, SMS %s; want both UNSUBSCRIBED", c.EmailConsent.MarketingState, c.SMSConsent.MarketingState)
		}
		if !c.SMSConsent.ConsentUpdatedAt.Equal(optOutAt.Add(time.Minute)) {
			t.Errorf("SMS consentUpdatedAt = %s, want the SMS opt-out's time", c.SMSConsent.ConsentUpdatedAt)
		}
		calls := sim.Calls()
		if len(calls) != 2 || !bytes.Contains(calls[0].Body, []byte("customerEmailMarketingConsentUpdate")) ||
			!bytes.Contains(calls[1].Body, []byte("customerSmsMarketingConsentUpdate")) {
			t.Errorf("calls = %d, want the email mutation then the SMS one", len(calls))
		}
		if !strings.Contains(summary, "customerSmsMarketingConsentUpdate → UNSUBSCRIBED (customer 7002)") {
			t.Errorf("summary = %q", summary)
		}
	})

	t.Run("NoSMSWriteForACustomerWithoutAPhone", func(t *testing.T) {
		t.Parallel()
		sim, cw := mustOpenAdmin(t, shopifysim.Options{})
		sim.AddCustomer("7003", "ada@example.com", "")
		summary, err := cw.WriteConsent(ctx, optOut("7003", true, true))
		if err != nil {
			t.Fatal(err)
		}
		if n := len(sim.Calls()); n != 1 {
			t.Errorf("%d calls, want only the email one: the email answer shows there is no phone", n)
		}
		if !strings.Contains(summary, "customerSmsMarketingConsentUpdate skipped: customer 7003 has no phone number") {
			t.Errorf("summary = %q, want the SMS skip said", summary)
		}
	})

	t.Run("SMSOnlyForACustomerWithoutAPhoneIsASkip", func(t *testing.T) {
		t.Parallel()
		sim, cw := mustOpenAdmin(t, shopifysim.Options{})
		sim.AddCustomer("7004", "ada@example.com", "")
		for range 2 { // a retried job is skipped again, never an error loop
			summary, err := cw.WriteConsent(ctx, optOut("7004", false, true))
			if err != nil {
				t.Fatalf("SMS opt-out for a customer without a phone: %v, want a skip", err)
			}
			if !strings.Contains(summary, "skipped") || !strings.Contains(summary, "phone number") {
				t.Errorf("summary = %q", summary)
			}
		}
		if c, _ := sim.Customer("7004"); c.SMSConsent != nil || c.SMSWrites != 0 || c.EmailWrites != 0 {
			t.Errorf("customer changed: %+v", c)
		}
	})

	t.Run("NothingUnsubscribedCallsNothing", func(t *testing.T) {
		t.Parallel()
		sim, cw := mustOpenAdmin(t, shopifysim.Options{})
		sim.AddCustomer("7005", "ada@example.com", "+33612345678")
		w := optOut("7005", false, false)
		w.EmailConsent = synclayer.Consent{State: synclayer.ConsentSubscribed, At: optOutAt}
		w.SMSConsent = synclayer.Consent{State: synclayer.ConsentNone}
		summary, err := cw.WriteConsent(ctx, w)
		if err != nil || len(sim.Calls()) != 0 {
			t.Errorf("WriteConsent = %q, %v with %d calls; want no call and no error", summary, err, len(sim.Calls()))
		}
	})

	t.Run("UnknownCustomerIsPermanent", func(t *testing.T) {
		t.Parallel()
		_, cw := mustOpenAdmin(t, shopifysim.Options{})
		_, err := cw.WriteConsent(ctx, optOut("9999", true, true))
		if !isPermanent(err) || synclayer.ErrorCode(err) != synclayer.ENOTFOUND {
			t.Errorf("unknown customer: %v (code %s), want Permanent not_found", err, synclayer.ErrorCode(err))
		}
		if !strings.Contains(err.Error(), "9999") {
			t.Errorf("error does not name the customer: %v", err)
		}
	})

	t.Run("NonNumericIDIsPermanentWithoutACall", func(t *testing.T) {
		t.Parallel()
		sim, cw := mustOpenAdmin(t, shopifysim.Options{})
		_, err := cw.WriteConsent(ctx, optOut("ada@example.com", true, false))
		if !isPermanent(err) || len(sim.Calls()) != 0 {
			t.Errorf("non-numeric ID: %v with %d calls, want Permanent and no call", err, len(sim.Calls()))
		}
	})

	t.Run("EmptyStringsAreNoOptOut", func(t *testing.T) {
		t.Parallel()
		sim, cw := mustOpenAdmin(t, shopifysim.Options{})
		sim.AddCustomer("7006", "ada@example.com", "")
		w := optOut("7006", true, false)
		w.EmailConsent.At, w.EmailConsent.OptOutAt = time.Time{}, time.Time{}
		if _, err := cw.WriteConsent(ctx, w); err != nil {
			t.Fatal(err)
		}
		if c, _ := sim.Customer("7006"); c.EmailConsent.MarketingState != "UNSUBSCRIBED" || c.EmailConsent.ConsentUpdatedAt.IsZero() {
			t.Errorf("an opt-out with no time: %+v, want UNSUBSCRIBED dated by Shopify", *c.EmailConsent)
		}
	})
}

func TestAdmin_Errors(t *testing.T) {
	ctx := context.Background()

	t.Run("BadTokenIsPermanentNamingTheSetting", func(t *testing.T) {
		t.Parallel()
		sim, cw := mustOpenAdmin(t, shopifysim.Options{})
		sim.AddCustomer("7001", "ada@example.com", "")
		sim.SetAccessToken("shpat_another_token")
		_, err := cw.WriteConsent(ctx, optOut("7001", true, false))
		if !isPermanent(err) || synclayer.HTTPStatus(err) != http.StatusUnauthorized {
			t.Fatalf("bad token: %v (status %d), want Permanent 401", err, synclayer.HTTPStatus(err))
		}
		if !strings.Contains(err.Error(), "admin.access_token") || !strings.Contains(err.Error(), "write_customers") {
			t.Errorf("error does not tell what to check: %v", err)
		}
		if strings.Contains(err.Error(), adminToken) || strings.Contains(synclayer.ErrorMessage(err), adminToken) {
			t.Errorf("error quotes the access token: %v", err)
		}
		if synclayer.ErrorCode(err) != synclayer.EUNAUTHORIZED {
			t.Errorf("code = %s", synclayer.ErrorCode(err))
		}
	})

	t.Run("ThrottledIsRetryAfterTheMissingPoints", func(t *testing.T) {
		t.Parallel()
		sim, cw := mustOpenAdmin(t, shopifysim.Options{Bucket: 50, RestoreRate: 1})
		sim.AddCustomer("7001", "ada@example.com", "")
		sim.SetAvailable(4) // a mutation costs 10: 6 points, 6 seconds away
		_, err := cw.WriteConsent(ctx, optOut("7001", true, false))
		d, ok := retryAfter(err)
		if !ok || isPermanent(err) || d < 5*time.Second || d > 7*time.Second {
			t.Fatalf("THROTTLED: %v, after %s; want RetryAfter about 6s", err, d)
		}
		if c, _ := sim.Customer("7001"); c.EmailWrites != 0 {
			t.Error("a throttled mutation was applied")
		}
		// The answer told the client the bucket is nearly empty: the next
		// write waits for it without asking Shopify again.
		sim.ClearCalls()
		_, err = cw.WriteConsent(ctx, optOut("7001", true, false))
		if d, ok := retryAfter(err); !ok || d < 5*time.Second || len(sim.Calls()) != 0 {
			t.Errorf("write after THROTTLED: %v after %s with %d calls; want RetryAfter and no call", err, d, len(sim.Calls()))
		}
	})

	t.Run("ShortThrottleIsWaitedOut", func(t *testing.T) {
		t.Parallel()
		sim, cw := mustOpenAdmin(t, shopifysim.Options{Bucket: 1000, RestoreRate: 100})
		sim.AddCustomer("7001", "ada@example.com", "")
		sim.SetAvailable(5) // 5 points missing: 50 ms
		if _, err := cw.WriteConsent(ctx, optOut("7001", true, false)); err != nil {
			t.Fatalf("a throttle of 50 ms: %v, want it waited out", err)
		}
		if c, _ := sim.Customer("7001"); c.EmailWrites != 1 {
			t.Errorf("email writes = %d, want 1", c.EmailWrites)
		}
	})

	t.Run("TooManyRequestsIsRetryAfter", func(t *testing.T) {
		t.Parallel()
		sim, cw := mustOpenAdmin(t, shopifysim.Options{RetryAfter: 30 * time.Second})
		sim.AddCustomer("7001", "ada@example.com", "")
		sim.FailNext(1, http.StatusTooManyRequests)
		_, err := cw.WriteConsent(ctx, optOut("7001", true, false))
		if d, ok := retryAfter(err); !ok || isPermanent(err) || d != 30*time.Second {
			t.Errorf("429 with Retry-After 30: %v after %s, want RetryAfter 30s", err, d)
		}
	})

	t.Run("ShortTooManyRequestsIsWaitedOut", func(t *testing.T) {
		t.Parallel()
		sim, cw := mustOpenAdmin(t, shopifysim.Options{RetryAfter: 100 * time.Millisecond})
		sim.AddCustomer("7001", "ada@example.com", "")
		sim.FailNext(1, http.StatusTooManyRequests)
		if _, err := cw.WriteConsent(ctx, optOut("7001", true, false)); err != nil {
			t.Fatalf("429 with Retry-After 0.1: %v, want it waited out", err)
		}
		if n := len(sim.Calls()); n != 2 {
			t.Errorf("%d calls, want the 429 and the retry", n)
		}
	})

	t.Run("ServerErrorsAreRetriedByTheQueue", func(t *testing.T) {
		t.Parallel()
		sim, cw := mustOpenAdmin(t, shopifysim.Options{})
		sim.AddCustomer("7001", "ada@example.com", "")
		sim.SetOutage(shopifysim.Outage500)
		_, err := cw.WriteConsent(ctx, optOut("7001", true, false))
		if _, ra := retryAfter(err); err == nil || isPermanent(err) || ra {
			t.Errorf("500: %v, want a plain error the queue retries with backoff", err)
		}
		sim.SetOutage(shopifysim.OutageNone)
		sim.FailNext(1, http.StatusServiceUnavailable)
		if _, err := cw.WriteConsent(ctx, optOut("7001", true, false)); err == nil || isPermanent(err) {
			t.Errorf("503: %v, want retryable", err)
		}
		if _, err := cw.WriteConsent(ctx, optOut("7001", true, false)); err != nil {
			t.Errorf("after the outage: %v", err)
		}
	})

	t.Run("FailedSMSWriteSaysTheEmailOneIsDone", func(t *testing.T) {
		t.Parallel()
		sim, cw := mustOpenAdmin(t, shopifysim.Options{})
		sim.AddCustomer("7001", "ada@example.com", "+33612345678")
		sim.FailNextMutation("customerSmsMarketingConsentUpdate", 1, http.StatusInternalServerError)
		_, err := cw.WriteConsent(ctx, optOut("7001", true, true))
		if err == nil || isPermanent(err) || !strings.Contains(err.Error(), "already done: customerEmailMarketingConsentUpdate → UNSUBSCRIBED") {
			t.Fatalf("SMS write failing after the email one: %v, want a retryable error saying the email one is done", err)
		}
		if _, err := cw.WriteConsent(ctx, optOut("7001", true, true)); err != nil {
			t.Fatalf("the retry: %v", err)
		}
		if c, _ := sim.Customer("7001"); c.SMSConsent.MarketingState != "UNSUBSCRIBED" || c.EmailConsent.MarketingState != "UNSUBSCRIBED" {
			t.Errorf("after the retry: email %s, SMS %s", c.EmailConsent.MarketingState, c.SMSConsent.MarketingState)
		}
	})

	for _, tt := range []struct {
		status    int
		permanent bool
		after     time.Duration // RetryAfter, or 0
		mention   string
	}{
		{http.StatusForbidden, true, 0, "write_customers"},
		{http.StatusNotFound, true, 0, "admin.shop"},
		{http.StatusPaymentRequired, false, time.Hour, "frozen"},
		{http.StatusLocked, false, time.Hour, "locked"},
		{http.StatusBadRequest, true, 0, "refused"},
	} {
		t.Run(fmt.Sprintf("Status%d", tt.status), func(t *testing.T) {
			t.Parallel()
			sim, cw := mustOpenAdmin(t, shopifysim.Options{})
			sim.AddCustomer("7001", "ada@example.com", "")
			sim.FailNext(1, tt.status)
			_, err := cw.WriteConsent(ctx, optOut("7001", true, false))
			d, _ := retryAfter(err)
			if err == nil || isPermanent(err) != tt.permanent || d != tt.after || !strings.Contains(err.Error(), tt.mention) {
				t.Errorf("%d: %v (permanent %v, after %s); want permanent %v, after %s, naming %q",
					tt.status, err, isPermanent(err), d, tt.permanent, tt.after, tt.mention)
			}
		})
	}
}

// TestAdmin_TokenNeverLogged runs failing and passing writes with a debug
// logger and checks that neither the log nor the errors hold the token.
func TestAdmin_TokenNeverLogged(t *testing.T) {
	sim := shopifysim.New(shopifysim.Options{AccessToken: adminToken, Validate: mustLoadSchema(t).validate})
	srv := httptest.NewServer(sim)
	defer srv.Close()
	var log bytes.Buffer
	src, err := shopify.NewAdminSource(shopify.Config{Secrets: []string{testSecret}}, shopify.AdminConfig{
		Shop: "demo.myshopify.com", AccessToken: adminToken, Endpoint: srv.URL + "/admin/api/2025-10/graphql.json",
		Logger: slog.New(slog.NewTextHandler(&log, &slog.HandlerOptions{Level: slog.LevelDebug})),
	})
	if err != nil {
		t.Fatal(err)
	}
	sim.AddCustomer("7001", "ada@example.com", "+33612345678")
	var errs []string
	for _, setup := range []func(){
		func() {},
		func() { sim.FailNext(1, http.StatusUnauthorized) },
		func() { sim.FailNext(1, http.StatusForbidden) },
		func() { sim.SetOutage(shopifysim.Outage500) },
	} {
		setup()
		if _, err := src.WriteConsent(context.Background(), optOut("7001", true, true)); err != nil {
			errs = append(errs, err.Error())
		}
		sim.SetOutage(shopifysim.OutageNone)
	}
	if len(errs) != 3 || log.Len() == 0 {
		t.Fatalf("errors %q, log %d bytes: the scenarios did not run", errs, log.Len())
	}
	if strings.Contains(log.String(), adminToken) || strings.Contains(strings.Join(errs, "\n"), adminToken) {
		t.Errorf("the access token leaked:\n%s\n%s", log.String(), strings.Join(errs, "\n"))
	}
	for _, pii := range []string{"ada@example.com", "+33612345678"} {
		if strings.Contains(log.String(), pii) {
			t.Errorf("the log holds %s", pii)
		}
	}
	if v := sim.Violations(); len(v) > 0 {
		t.Errorf("schema violations: %q", v)
	}
}
