package shopify

import (
	"encoding/json"
	"fmt"
	"time"

	"synclayer"
	"synclayer/normalize"
)

// An order page reads the first orderLines lines of each order and the
// first orderRefunds refunds with orderRefundTransactions transactions
// each: what the order webhook's parser reads, at a cost that keeps a few
// orders to a page under Shopify's 1000-point query limit. An order with
// more lines is reported Failed rather than synced short (its webhook
// carries them all).
const (
	orderLines              = 25
	orderRefunds            = 3
	orderRefundTransactions = 3
)

const (
	ordersOp    = "orders"
	ordersQuery = `query orders($first: Int, $after: String, $query: String, $sortKey: OrderSortKeys, $lines: Int, $refunds: Int, $transactions: Int) {
  orders(first: $first, after: $after, query: $query, sortKey: $sortKey) {
    edges { node {
      id legacyResourceId name currencyCode createdAt updatedAt cancelledAt
      displayFinancialStatus displayFulfillmentStatus email phone
      totalPriceSet { shopMoney { amount currencyCode } }
      customer { legacyResourceId email phone firstName lastName }
      billingAddress { phone firstName lastName }
      lineItems(first: $lines) {
        edges { node { id name sku quantity originalUnitPriceSet { shopMoney { amount } } product { legacyResourceId } variant { legacyResourceId } } }
        pageInfo { hasNextPage }
      }
      refunds(first: $refunds) {
        legacyResourceId createdAt
        transactions(first: $transactions) { edges { node { kind status amountSet { shopMoney { amount } } } } }
      }
    } }
    pageInfo { hasNextPage endCursor }
  }
}`
)

// orderListing pages orders: an order costs 5 points for itself and its
// objects, 2 + 5 a line for its lines, and 2 + (3 + 3 a transaction) a
// refund for its refunds (170 points), 4 to a page.
var orderListing = listing{kind: synclayer.ListOrders, op: ordersOp, query: ordersQuery,
	perNode: 5 + (2 + orderLines*5) + (2 + orderRefunds*(1+2+orderRefundTransactions*3)), page: 4, convert: convertOrder,
	vars: map[string]any{"lines": orderLines, "refunds": orderRefunds, "transactions": orderRefundTransactions}}

// fulfillmentStatuses maps displayFulfillmentStatus to the REST
// fulfillment_status; the others are null there (nothing fulfilled yet).
var fulfillmentStatuses = map[string]string{"FULFILLED": "fulfilled", "PARTIALLY_FULFILLED": "partial", "RESTOCKED": "restocked"}

// convertOrder turns an Order node into the event of its orders/updated
// webhook through parseOrder. The GraphQL Order has no checkout token,
// so a listed order names no cart (CartID): the conversion of a cart is
// left to the order webhooks.
func convertOrder(_ *Source, raw json.RawMessage, now time.Time) (*synclayer.Event, error) {
	node, err := normalize.Object("node", raw)
	if err != nil {
		return nil, recordError("order", "", err)
	}
	id := legacyID(stringOf(node["id"]))
	obj, err := restOrder(node)
	if err != nil {
		return nil, recordError("order", id, err)
	}
	oc, at, err := parseOrder(obj)
	if err != nil {
		return nil, recordError("order", id, err)
	}
	if at.IsZero() {
		return nil, recordError("order", id, synclayer.FieldErrorf("updatedAt", "missing; a listed order has one"))
	}
	ev := listedEvent(synclayer.ListOrders, "orders/updated", at, oc.SourceID, raw, now)
	ev.Order = oc
	return ev, nil
}

// restOrder is the REST order payload of an Order node.
func restOrder(node map[string]json.RawMessage) (map[string]json.RawMessage, error) {
	obj := map[string]json.RawMessage{}
	rename(obj, node, "legacyResourceId", "id", "name", "name", "currencyCode", "currency", "createdAt", "created_at",
		"updatedAt", "updated_at", "cancelledAt", "cancelled_at", "email", "email", "phone", "phone", "displayFinancialStatus", "financial_status")
	lower(obj, "financial_status")
	obj["fulfillment_status"] = json.RawMessage("null")
	if s, ok := fulfillmentStatuses[stringOf(node["displayFulfillmentStatus"])]; ok {
		obj["fulfillment_status"] = mustJSON(s)
	}
	total, err := shopAmount("totalPriceSet", node["totalPriceSet"])
	if err != nil {
		return nil, err
	}
	obj["total_price"] = total
	for _, p := range []struct {
		from, to string
		keys     []string
	}{
		{"customer", "customer", []string{"legacyResourceId", "id", "email", "email", "phone", "phone", "firstName", "first_name", "lastName", "last_name"}},
		{"billingAddress", "billing_address", []string{"phone", "phone", "firstName", "first_name", "lastName", "last_name"}},
	} {
		raw, ok := node[p.from]
		if !ok || normalize.IsNull(raw) {
			continue
		}
		o, err := normalize.Object(p.from, raw)
		if err != nil {
			return nil, err
		}
		out := map[string]json.RawMessage{}
		rename(out, o, p.keys...)
		obj[p.to] = mustJSON(out)
	}
	lines, more, err := nodes("lineItems", node["lineItems"])
	if err != nil {
		return nil, err
	}
	if more {
		return nil, synclayer.FieldErrorf("lineItems", "the order has more than %d lines, more than a listing reads; its orders/updated webhook carries them all", orderLines)
	}
	var items []json.RawMessage
	for i, raw := range lines {
		li, err := normalize.Object(fmt.Sprintf("lineItems[%d]", i), raw)
		if err != nil {
			return nil, err
		}
		out := map[string]json.RawMessage{"id": mustJSON(legacyID(stringOf(li["id"])))}
		rename(out, li, "name", "name", "sku", "sku", "quantity", "quantity")
		if out["price"], err = shopAmount(fmt.Sprintf("lineItems[%d].originalUnitPriceSet", i), li["originalUnitPriceSet"]); err != nil {
			return nil, err
		}
		for from, to := range map[string]string{"product": "product_id", "variant": "variant_id"} {
			if out[to], err = member(fmt.Sprintf("lineItems[%d].%s", i, from), li[from], "legacyResourceId"); err != nil {
				return nil, err
			}
		}
		items = append(items, mustJSON(out))
	}
	obj["line_items"] = mustJSON(items)
	refunds, err := normalize.Array("refunds", node["refunds"])
	if err != nil {
		return nil, err
	}
	var rs []json.RawMessage
	for i, raw := range refunds {
		path := fmt.Sprintf("refunds[%d]", i)
		r, err := normalize.Object(path, raw)
		if err != nil {
			return nil, err
		}
		out := map[string]json.RawMessage{}
		rename(out, r, "legacyResourceId", "id", "createdAt", "created_at")
		txs, _, err := nodes(path+".transactions", r["transactions"])
		if err != nil {
			return nil, err
		}
		var ts []json.RawMessage
		for j, raw := range txs {
			tpath := fmt.Sprintf("%s.transactions[%d]", path, j)
			tx, err := normalize.Object(tpath, raw)
			if err != nil {
				return nil, err
			}
			t := map[string]json.RawMessage{}
			rename(t, tx, "kind", "kind", "status", "status")
			lower(t, "kind", "status")
			if t["amount"], err = shopAmount(tpath+".amountSet", tx["amountSet"]); err != nil {
				return nil, err
			}
			ts = append(ts, mustJSON(t))
		}
		out["transactions"] = mustJSON(ts)
		rs = append(rs, mustJSON(out))
	}
	obj["refunds"] = mustJSON(rs)
	return obj, nil
}

// shopAmount is a MoneyBag's shopMoney.amount: the shop's currency, which
// the REST payloads' amounts are in.
func shopAmount(field string, raw json.RawMessage) (json.RawMessage, error) {
	shop, err := member(field, raw, "shopMoney")
	if err != nil {
		return nil, err
	}
	return member(field+".shopMoney", shop, "amount")
}

// nodes returns a nested connection's nodes and whether it has more.
func nodes(field string, raw json.RawMessage) ([]json.RawMessage, bool, error) {
	if normalize.IsNull(raw) {
		return nil, false, nil
	}
	var conn connection
	if err := json.Unmarshal(raw, &conn); err != nil {
		return nil, false, synclayer.FieldErrorf(field, "is not a connection (edges and pageInfo)")
	}
	out := make([]json.RawMessage, 0, len(conn.Edges))
	for _, e := range conn.Edges {
		out = append(out, e.Node)
	}
	return out, conn.PageInfo.HasNextPage, nil
}
