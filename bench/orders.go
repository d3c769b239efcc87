package main

import (
	"encoding/json"
	"fmt"
	"time"
)

// prepareOrders returns n signed orders/create webhooks, each a new order
// of two lines by its own customer, shaped like a Shopify 2024-10 order.
func prepareOrders(secret string, first, n int) []webhook {
	now := time.Now().UTC()
	out := make([]webhook, n)
	for i := range out {
		id := int64(first + i)
		email := fmt.Sprintf("buyer%d@example.com", id)
		body, _ := json.Marshal(map[string]any{
			"id": 9000000000 + id, "name": fmt.Sprintf("#%d", 1000+id), "email": email, "currency": "USD",
			"total_price": fmt.Sprintf("%d.%02d", 20+id%300, id%100), "subtotal_price": "19.00", "total_tax": "1.00",
			"financial_status": "paid", "fulfillment_status": nil, "cancelled_at": nil,
			"created_at": now.Add(-time.Minute).Format(time.RFC3339), "updated_at": now.Format(time.RFC3339),
			"customer": map[string]any{"id": 8000000000 + id, "email": email, "first_name": firstNames[id%int64(len(firstNames))], "last_name": "Doe"},
			"line_items": []any{
				map[string]any{"id": 1, "product_id": 632910392, "variant_id": 808950810, "sku": "IPOD2008PINK", "quantity": 1, "price": "10.00", "title": "IPod Nano"},
				map[string]any{"id": 2, "product_id": 632910393, "variant_id": 808950811, "sku": "CASE", "quantity": 1, "price": "9.00", "title": "Case"},
			},
			"refunds": []any{},
		})
		h := shopifyHeader(secret, "orders/create", fmt.Sprintf("bench-order-%d-%s", id, randomHex(4)), body, now)
		out[i] = webhook{email: email, body: body, header: h}
	}
	return out
}
