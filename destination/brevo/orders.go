package brevo

import (
	"context"
	"net/http"
	"strconv"
	"time"

	"synclayer"
)

// TimeLayout is the UTC date-time form Brevo's e-commerce endpoints take:
// YYYY-MM-DDTHH:mm:ssZ.
const TimeLayout = "2006-01-02T15:04:05Z"

// FormatTime returns t in TimeLayout, in UTC.
func FormatTime(t time.Time) string { return t.UTC().Format(TimeLayout) }

// Order is the body of POST /orders/status, and one order of a batch.
// Brevo creates the order or, for a known ID, records its new status and
// amount. Identifiers link it to a contact; without them the order is
// kept but belongs to no one.
type Order struct {
	ID          string            `json:"id"`
	CreatedAt   string            `json:"createdAt"` // TimeLayout
	UpdatedAt   string            `json:"updatedAt"` // TimeLayout
	Status      string            `json:"status"`
	Amount      synclayer.Money   `json:"amount"` // shipping and tax included; sent digit for digit
	Products    []OrderProduct    `json:"products"`
	Identifiers *OrderIdentifiers `json:"identifiers,omitempty"`
	StoreID     string            `json:"storeId,omitempty"`
	Coupons     []string          `json:"coupons,omitempty"`
	MetaInfo    map[string]string `json:"metaInfo,omitempty"`
}

// OrderProduct is one line of an order.
type OrderProduct struct {
	ProductID string          `json:"productId"`
	VariantID string          `json:"variantId,omitempty"`
	Price     synclayer.Money `json:"price"` // of one unit
	Quantity  int64           `json:"quantity"`
}

// OrderIdentifiers name the contact an order belongs to.
type OrderIdentifiers struct {
	EmailID string `json:"email_id,omitempty"`
	ExtID   string `json:"ext_id,omitempty"`
	PhoneID string `json:"phone_id,omitempty"`
}

// UpsertOrder creates the order, or records its new state when Brevo
// already holds its ID (POST /orders/status, 204). It counts against the
// "orders" rate-limit bucket. Errors are classified as for every request:
// a 400 is permanent.
func (c *Client) UpsertOrder(ctx context.Context, o Order) error {
	_, err := c.do(ctx, call{method: http.MethodPost, route: "/orders/status", path: "/orders/status", body: o})
	return err
}

// ImportOrders sends up to 1,000 orders in one call (POST
// /orders/status/batch, 202). With historical true, as for a backfill, the
// orders trigger no automation. It returns Brevo's batch ID and count.
// The call counts against the scarce "other" bucket (100 an hour on
// Brevo's general tier), so it is for backfills, not live orders.
func (c *Client) ImportOrders(ctx context.Context, orders []Order, historical bool) (batchID string, count int64, err error) {
	body := struct {
		Orders     []Order `json:"orders"`
		Historical bool    `json:"historical"`
	}{orders, historical}
	var out struct {
		BatchID any   `json:"batchId"` // a number in the spec, a string in its example
		Count   int64 `json:"count"`
	}
	if _, err := c.do(ctx, call{method: http.MethodPost, route: "/orders/status/batch", path: "/orders/status/batch", body: body, out: &out}); err != nil {
		return "", 0, err
	}
	switch v := out.BatchID.(type) {
	case string:
		batchID = v
	case float64:
		batchID = strconv.FormatFloat(v, 'f', -1, 64)
	}
	return batchID, out.Count, nil
}
