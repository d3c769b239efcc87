package shopify

import (
	"context"
	"encoding/json"
	"strings"
	"time"

	"synclayer"
	"synclayer/normalize"
)

// customerFields are the Customer fields parseCustomer maps, and no more:
// the paged query and the bulk operation select the same ones, so a
// customer read either way is the same event.
const customerFields = `id legacyResourceId email phone firstName lastName
      emailMarketingConsent { marketingState marketingOptInLevel consentUpdatedAt }
      smsMarketingConsent { marketingState marketingOptInLevel consentUpdatedAt }
      defaultAddress { company }
      tags numberOfOrders amountSpent { amount currencyCode } createdAt updatedAt`

const (
	customersOp    = "customers"
	customersQuery = `query customers($first: Int, $after: String, $query: String, $sortKey: CustomerSortKeys) {
  customers(first: $first, after: $after, query: $query, sortKey: $sortKey) {
    edges { node { ` + customerFields + ` } }
    pageInfo { hasNextPage endCursor }
  }
}`
	customersCountOp    = "customersCount"
	customersCountQuery = `query customersCount($query: String) { customersCount(query: $query) { count precision } }`
)

// customerListing pages customers: 5 points a customer (the node and its
// four objects), 100 to a page (502 points).
var customerListing = listing{kind: synclayer.ListCustomers, op: customersOp, query: customersQuery,
	perNode: 5, page: 100, convert: convertCustomer}

// customerListShape is the webhook API version whose customer payload a
// listed customer is read as: the last one before 2025-01, whose payloads
// still carry tags and both consents, all of which the query selects. A
// listed customer is thus the customers/update webhook of 2024-10.
const customerListShape = "2024-10"

// customersCount returns how many customers were updated since t (all
// of them for the zero time), and whether the count is exact: Shopify
// counts up to a limit (10,000) and answers AT_LEAST beyond it.
func (s *Source) customersCount(ctx context.Context, since time.Time) (int, bool, error) {
	vars := map[string]any{}
	if q := updatedSince(since); q != "" {
		vars["query"] = q
	}
	var out struct {
		Count     int    `json:"count"`
		Precision string `json:"precision"`
	}
	if err := s.admin.query(ctx, customersCountOp, customersCountQuery, 1, vars, &out); err != nil {
		return 0, false, err
	}
	return out.Count, out.Precision == "EXACT", nil
}

// convertCustomer turns a Customer node into the event of its
// customers/update webhook, through the webhook's own parseCustomer: the
// node is rewritten into the REST payload's names first, so the mapping
// exists once.
func convertCustomer(s *Source, raw json.RawMessage, now time.Time) (*synclayer.Event, error) {
	node, err := normalize.Object("node", raw)
	if err != nil {
		return nil, recordError("customer", "", err)
	}
	id := legacyID(stringOf(node["id"]))
	obj, err := restCustomer(node)
	if err != nil {
		return nil, recordError("customer", id, err)
	}
	ch, at, err := parseCustomer(obj, customerListShape)
	if err != nil {
		return nil, recordError("customer", id, err)
	}
	if ch.SourceID == "" || at.IsZero() {
		return nil, recordError("customer", id, synclayer.FieldErrorf("updatedAt", "missing, or the id is; a listed customer has both"))
	}
	ev := listedEvent(synclayer.ListCustomers, "customers/update", at, ch.SourceID, raw, now)
	ev.Customer = ch
	return ev, nil
}

// restCustomer is the REST customer payload of a Customer node, with the
// keys the node has.
func restCustomer(node map[string]json.RawMessage) (map[string]json.RawMessage, error) {
	obj := map[string]json.RawMessage{}
	rename(obj, node, "legacyResourceId", "id", "email", "email", "phone", "phone", "firstName", "first_name",
		"lastName", "last_name", "tags", "tags", "numberOfOrders", "orders_count", "createdAt", "created_at", "updatedAt", "updated_at")
	if raw, ok := node["amountSpent"]; ok {
		amount, err := member("amountSpent", raw, "amount")
		if err != nil {
			return nil, err
		}
		obj["total_spent"] = amount
	}
	if raw, ok := node["defaultAddress"]; ok {
		if normalize.IsNull(raw) {
			obj["default_address"] = raw
		} else {
			addr, err := normalize.Object("defaultAddress", raw)
			if err != nil {
				return nil, err
			}
			a := map[string]json.RawMessage{}
			rename(a, addr, "company", "company")
			obj["default_address"] = mustJSON(a)
		}
	}
	for from, to := range map[string]string{"emailMarketingConsent": "email_marketing_consent", "smsMarketingConsent": "sms_marketing_consent"} {
		raw, ok := node[from]
		if !ok {
			continue
		}
		c, err := restConsent(from, raw)
		if err != nil {
			return nil, err
		}
		obj[to] = c
	}
	return obj, nil
}

// restConsent rewrites a marketing consent state ({marketingState,
// marketingOptInLevel, consentUpdatedAt}, enum values in capitals) into
// the webhook's {state, opt_in_level, consent_updated_at} in lowercase.
func restConsent(field string, raw json.RawMessage) (json.RawMessage, error) {
	if normalize.IsNull(raw) {
		return raw, nil
	}
	c, err := normalize.Object(field, raw)
	if err != nil {
		return nil, err
	}
	out := map[string]json.RawMessage{}
	rename(out, c, "marketingState", "state", "marketingOptInLevel", "opt_in_level", "consentUpdatedAt", "consent_updated_at")
	lower(out, "state", "opt_in_level")
	return mustJSON(out), nil
}

// rename copies node[from] to obj[to] for each pair present in node.
func rename(obj, node map[string]json.RawMessage, pairs ...string) {
	for i := 0; i+1 < len(pairs); i += 2 {
		if v, ok := node[pairs[i]]; ok {
			obj[pairs[i+1]] = v
		}
	}
}

// lower lowercases the string values at keys (an enum's REST spelling);
// a value of another type is left for the parser to refuse.
func lower(obj map[string]json.RawMessage, keys ...string) {
	for _, k := range keys {
		var v string
		if json.Unmarshal(obj[k], &v) == nil {
			obj[k] = mustJSON(strings.ToLower(v))
		}
	}
}

// member is raw's key (amountSpent.amount); null for a null object.
func member(field string, raw json.RawMessage, key string) (json.RawMessage, error) {
	if normalize.IsNull(raw) {
		return json.RawMessage("null"), nil
	}
	o, err := normalize.Object(field, raw)
	if err != nil {
		return nil, err
	}
	if v, ok := o[key]; ok {
		return v, nil
	}
	return json.RawMessage("null"), nil
}

// stringOf is raw as a string, or "".
func stringOf(raw json.RawMessage) string {
	var s string
	json.Unmarshal(raw, &s)
	return s
}

func mustJSON(v any) json.RawMessage {
	b, _ := json.Marshal(v)
	return b
}
