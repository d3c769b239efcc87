package shopifysim_test

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"

	"synclayer/source/shopify/shopifysim"
)

const token = "shpat_test"

const emailMutation = `mutation customerEmailMarketingConsentUpdate($input: CustomerEmailMarketingConsentUpdateInput!) {
  customerEmailMarketingConsentUpdate(input: $input) { customer { id } userErrors { field message code } } }`

type answer struct {
	Status int
	Header http.Header
	Body   struct {
		Data       map[string]json.RawMessage `json:"data"`
		Errors     json.RawMessage            `json:"errors"`
		Extensions struct {
			Cost *struct {
				RequestedQueryCost float64  `json:"requestedQueryCost"`
				ActualQueryCost    *float64 `json:"actualQueryCost"`
				ThrottleStatus     struct {
					MaximumAvailable, CurrentlyAvailable, RestoreRate float64
				} `json:"throttleStatus"`
			} `json:"cost"`
		} `json:"extensions"`
	}
}

func post(t *testing.T, url, tok, query string, input any) answer {
	t.Helper()
	b, _ := json.Marshal(map[string]any{"query": query, "variables": map[string]any{"input": input}})
	req, _ := http.NewRequest(http.MethodPost, url, bytes.NewReader(b))
	req.Header.Set("Content-Type", "application/json")
	if tok != "" {
		req.Header.Set("X-Shopify-Access-Token", tok)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	a := answer{Status: resp.StatusCode, Header: resp.Header}
	if err := json.Unmarshal(raw, &a.Body); err != nil {
		t.Fatalf("answer is not JSON: %s", raw)
	}
	return a
}

func emailInput(id, state string) map[string]any {
	return map[string]any{"customerId": "gid://shopify/Customer/" + id,
		"emailMarketingConsent": map[string]any{"marketingState": state, "consentUpdatedAt": "2024-10-02T14:30:00Z"}}
}

func TestServer(t *testing.T) {
	sim := shopifysim.New(shopifysim.Options{AccessToken: token, Bucket: 25, RestoreRate: 0.001})
	srv := httptest.NewServer(sim)
	defer srv.Close()
	url := srv.URL + "/admin/api/2025-10/graphql.json"
	sim.AddCustomer("1", "a@example.com", "")

	t.Run("WrongTokenGetsShopifys401", func(t *testing.T) {
		a := post(t, url, "shpat_wrong", emailMutation, emailInput("1", "UNSUBSCRIBED"))
		var msg string
		json.Unmarshal(a.Body.Errors, &msg)
		if a.Status != 401 || msg != "[API] Invalid API key or access token (unrecognized login or wrong password)" {
			t.Errorf("401: %d %q", a.Status, msg)
		}
	})

	t.Run("MutationAnswersThePayloadAndCost", func(t *testing.T) {
		a := post(t, url, token, emailMutation, emailInput("1", "UNSUBSCRIBED"))
		var p struct {
			Customer struct {
				ID                    string
				EmailMarketingConsent struct{ MarketingState, ConsentUpdatedAt string }
				SmsMarketingConsent   *struct{}
			}
			UserErrors []any
		}
		json.Unmarshal(a.Body.Data["customerEmailMarketingConsentUpdate"], &p)
		if a.Status != 200 || p.Customer.ID != "gid://shopify/Customer/1" || p.Customer.EmailMarketingConsent.MarketingState != "UNSUBSCRIBED" ||
			p.Customer.EmailMarketingConsent.ConsentUpdatedAt != "2024-10-02T14:30:00Z" || p.Customer.SmsMarketingConsent != nil || p.UserErrors == nil {
			t.Errorf("payload: %d %+v", a.Status, p)
		}
		c := a.Body.Extensions.Cost
		if c == nil || c.RequestedQueryCost != 10 || c.ActualQueryCost == nil || c.ThrottleStatus.MaximumAvailable != 25 || c.ThrottleStatus.CurrentlyAvailable != 15 {
			t.Errorf("cost: %+v", c)
		}
	})

	t.Run("ReadOnlyStateIsAUserError", func(t *testing.T) {
		a := post(t, url, token, emailMutation, emailInput("1", "NOT_SUBSCRIBED"))
		var p struct {
			UserErrors []struct {
				Field         []string
				Code, Message string
			}
		}
		json.Unmarshal(a.Body.Data["customerEmailMarketingConsentUpdate"], &p)
		if len(p.UserErrors) != 1 || p.UserErrors[0].Code != "INCLUSION" {
			t.Errorf("NOT_SUBSCRIBED as input: %+v", p)
		}
		if c, _ := sim.Customer("1"); c.EmailConsent.MarketingState != "UNSUBSCRIBED" || c.EmailWrites != 1 {
			t.Errorf("customer changed by a refused write: %+v", c.EmailConsent)
		}
	})

	t.Run("EmptyBucketIsThrottled", func(t *testing.T) {
		// 25 points, 10 a mutation: the two above left 5.
		a := post(t, url, token, emailMutation, emailInput("1", "UNSUBSCRIBED"))
		var errs []struct {
			Message    string
			Extensions struct{ Code string }
		}
		json.Unmarshal(a.Body.Errors, &errs)
		if a.Status != 200 || len(errs) != 1 || errs[0].Extensions.Code != "THROTTLED" || a.Body.Data != nil {
			t.Errorf("THROTTLED: %d %s", a.Status, a.Body.Errors)
		}
		if c := a.Body.Extensions.Cost; c == nil || c.ActualQueryCost != nil || c.ThrottleStatus.CurrentlyAvailable >= 10 {
			t.Errorf("throttled cost: %+v", c)
		}
	})

	t.Run("OtherOperationsAreRefused", func(t *testing.T) {
		sim.SetAvailable(25)
		a := post(t, url, token, `mutation { customerDelete(input: $input) { deletedCustomerId } }`, map[string]any{})
		if a.Status != 200 || len(a.Body.Errors) == 0 || a.Body.Data != nil || a.Body.Extensions.Cost == nil {
			t.Errorf("another mutation: %d %s", a.Status, a.Body.Errors)
		}
	})

	t.Run("TooManyRequestsCarriesRetryAfter", func(t *testing.T) {
		sim.FailNext(1, http.StatusTooManyRequests)
		a := post(t, url, token, emailMutation, emailInput("1", "UNSUBSCRIBED"))
		if a.Status != 429 || a.Header.Get("Retry-After") != "2.0" {
			t.Errorf("429: %d Retry-After %q", a.Status, a.Header.Get("Retry-After"))
		}
	})

	t.Run("ClearCallsForgetsHistory", func(t *testing.T) {
		if len(sim.Calls()) == 0 {
			t.Fatal("no calls recorded")
		}
		sim.ClearCalls()
		if n := len(sim.Calls()); n != 0 {
			t.Errorf("%d calls after ClearCalls", n)
		}
	})
}
