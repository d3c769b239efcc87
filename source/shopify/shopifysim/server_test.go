package shopifysim_test

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

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

// query posts a GraphQL query with variables.
func query(t *testing.T, url, q string, vars map[string]any) answer {
	t.Helper()
	b, _ := json.Marshal(map[string]any{"query": q, "variables": vars})
	req, _ := http.NewRequest(http.MethodPost, url, bytes.NewReader(b))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("X-Shopify-Access-Token", token)
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

const customersQuery = `query c($first: Int, $after: String, $query: String) {
  customers(first: $first, after: $after, query: $query, sortKey: UPDATED_AT) { edges { node { id email updatedAt } } pageInfo { hasNextPage endCursor } } }`

func TestServer_Listing(t *testing.T) {
	sim := shopifysim.New(shopifysim.Options{AccessToken: token})
	srv := httptest.NewServer(sim)
	defer srv.Close()
	url := srv.URL + "/admin/api/2025-10/graphql.json"
	from := time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)

	t.Run("Seeds100000Fast", func(t *testing.T) {
		start := time.Now()
		if ids := sim.SeedCustomers(100000, from); len(ids) != 100000 {
			t.Fatalf("%d ids", len(ids))
		}
		if d := time.Since(start); d > 2*time.Second {
			t.Errorf("seeding 100,000 customers took %s", d)
		}
		a := query(t, url, `query { customersCount { count precision } }`, nil)
		if string(a.Body.Data["customersCount"]) != `{"count":10000,"precision":"AT_LEAST"}` {
			t.Errorf("customersCount = %s, want 10000 AT_LEAST (Shopify's default limit)", a.Body.Data["customersCount"])
		}
	})

	t.Run("PagesFilterAndSelect", func(t *testing.T) {
		vars := map[string]any{"first": 2, "query": "updated_at:>='" + from.Add(99998*time.Second).Format(time.RFC3339) + "'"}
		a := query(t, url, customersQuery, vars)
		var c struct {
			Edges []struct {
				Node map[string]any `json:"node"`
			} `json:"edges"`
			PageInfo struct {
				HasNextPage bool   `json:"hasNextPage"`
				EndCursor   string `json:"endCursor"`
			} `json:"pageInfo"`
		}
		json.Unmarshal(a.Body.Data["customers"], &c)
		if len(c.Edges) != 2 || c.PageInfo.HasNextPage || c.Edges[0].Node["id"] != "gid://shopify/Customer/1099999" {
			t.Fatalf("filtered page: %s", a.Body.Data["customers"])
		}
		if len(c.Edges[0].Node) != 3 {
			t.Errorf("node %v: the answer holds fields the query did not select", c.Edges[0].Node)
		}
		if cost := a.Body.Extensions.Cost; cost == nil || cost.RequestedQueryCost != 2+2*1 {
			t.Errorf("cost %+v, want 2 + 2 × 1 requested", cost)
		}
	})

	t.Run("RefusesWhatShopifyRefuses", func(t *testing.T) {
		for name, vars := range map[string]map[string]any{
			"first over 250": {"first": 251},
			"no first":       {},
			"bad cursor":     {"first": 1, "after": "nope"},
		} {
			if a := query(t, url, customersQuery, vars); len(a.Body.Errors) == 0 || a.Body.Data["customers"] != nil {
				t.Errorf("%s: answered %s", name, a.Body.Data["customers"])
			}
		}
		big := strings.Replace(customersQuery, "email updatedAt", "email updatedAt defaultAddress { company } amountSpent { amount } emailMarketingConsent { marketingState } smsMarketingConsent { marketingState } tags", 1)
		a := query(t, url, big, map[string]any{"first": 250})
		if !strings.Contains(string(a.Body.Errors), "MAX_COST_EXCEEDED") {
			t.Errorf("a query of 1252 points: %s, want MAX_COST_EXCEEDED", a.Body.Errors)
		}
	})

	t.Run("BulkOperation", func(t *testing.T) {
		run := `mutation r($query: String!) { bulkOperationRunQuery(query: $query) { bulkOperation { id status } userErrors { field message code } } }`
		a := query(t, url, run, map[string]any{"query": `{ customers { edges { node { id email } } } }`})
		if !strings.Contains(string(a.Body.Data["bulkOperationRunQuery"]), `"status":"CREATED"`) {
			t.Fatalf("run: %s %s", a.Body.Data["bulkOperationRunQuery"], a.Body.Errors)
		}
		a = query(t, url, `query { currentBulkOperation { id status objectCount url } }`, nil)
		var op struct{ ID, Status, ObjectCount, URL string }
		json.Unmarshal(a.Body.Data["currentBulkOperation"], &op)
		if op.Status != "COMPLETED" || op.ObjectCount != "100000" || op.URL == "" {
			t.Fatalf("current: %s", a.Body.Data["currentBulkOperation"])
		}
		req, _ := http.NewRequest(http.MethodGet, op.URL, nil)
		req.Header.Set("Range", "bytes=0-99")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		head, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusPartialContent || !strings.HasPrefix(string(head), `{"email":"customer0@example.com","id":"gid://shopify/Customer/1000001"}`) {
			t.Errorf("results: %d %s", resp.StatusCode, head)
		}
		a = query(t, url, run, map[string]any{"query": `{ orders { edges { node { id } } } }`})
		if !strings.Contains(string(a.Body.Data["bulkOperationRunQuery"]), `"code":"INVALID"`) {
			t.Errorf("a bulk query the simulator cannot run: %s", a.Body.Data["bulkOperationRunQuery"])
		}
		sim.ExpireBulkResults()
		resp, err = http.Get(op.URL)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusForbidden {
			t.Errorf("expired results: %d, want 403", resp.StatusCode)
		}
	})

	t.Run("WebhookUserErrors", func(t *testing.T) {
		create := `mutation c($topic: WebhookSubscriptionTopic!, $sub: WebhookSubscriptionInput!) {
  webhookSubscriptionCreate(topic: $topic, webhookSubscription: $sub) { webhookSubscription { id } userErrors { field message } } }`
		for _, tt := range []struct{ url, want string }{
			{"https://sync.example.com/webhooks/shopify", `"userErrors":[]`},
			{"https://sync.example.com/webhooks/shopify", "Address for this topic has already been taken"},
			{"http://sync.example.com/webhooks/shopify", "Address protocol http:// is not supported"},
			{"https://localhost/webhooks/shopify", "internal domain"},
		} {
			a := query(t, url, create, map[string]any{"topic": "CUSTOMERS_UPDATE", "sub": map[string]any{"callbackUrl": tt.url, "format": "JSON"}})
			if got := string(a.Body.Data["webhookSubscriptionCreate"]); !strings.Contains(got, tt.want) {
				t.Errorf("create at %s: %s, want %s", tt.url, got, tt.want)
			}
		}
	})
}
