package synclayer_test

import (
	"testing"
	"time"

	"synclayer"
)

func order(id string, status synclayer.OrderStatus, currency, total string, created time.Time, refunds ...string) *synclayer.Order {
	o := &synclayer.Order{ID: id, Status: status, Currency: currency, Total: synclayer.MustMoney(total), CreatedAt: created, UpdatedAt: created}
	for i, r := range refunds {
		o.Refunds = append(o.Refunds, synclayer.Refund{ID: string(rune('a' + i)), OrderID: id, Amount: synclayer.MustMoney(r)})
	}
	return o
}

func TestSumOrders(t *testing.T) {
	orders := []*synclayer.Order{
		order("1", synclayer.OrderPaid, "USD", "409.94", at(0), "41.94"),
		order("2", synclayer.OrderCancelled, "USD", "100", at(10)),
		order("3", synclayer.OrderCompleted, "USD", "0.10", at(20)),
		order("4", synclayer.OrderRefunded, "USD", "50", at(30), "20"), // refunded in full, whatever the refunds say
		order("5", synclayer.OrderPaid, "EUR", "7", at(40)),            // another currency: counted, not summed
		order("6", synclayer.OrderFailed, "USD", "1", at(50)),
		order("7", synclayer.OrderPaid, "USD", "10", at(-10), "15"), // refunds above the total: net 0
	}
	orders[5].Deleted = false
	got := synclayer.SumOrders(orders)
	if got.Orders != 5 || got.Currency != "USD" || got.Spent.String() != "368.10" || !got.First.Equal(at(-10)) || !got.Last.Equal(at(40)) {
		t.Errorf("SumOrders = %+v", got)
	}
	none := synclayer.SumOrders([]*synclayer.Order{order("2", synclayer.OrderCancelled, "USD", "100", at(10))})
	ch := none.Change()
	if string(ch.Fields["totalOrders"]) != "0" || string(ch.Fields["totalSpent"]) != "0" || string(ch.Fields["lastOrderDate"]) != "null" {
		t.Errorf("no counted order: %v", ch.Fields)
	}
	tie := synclayer.SumOrders([]*synclayer.Order{order("1", synclayer.OrderPaid, "USD", "1", at(0)), order("2", synclayer.OrderPaid, "EUR", "2", at(1))})
	if tie.Currency != "EUR" || tie.Spent.String() != "2" {
		t.Errorf("tie goes to the newest order's currency: %+v", tie)
	}
}

func TestOrder_SameContent(t *testing.T) {
	a := order("1", synclayer.OrderPaid, "USD", "5", at(0))
	b := *a
	b.UpdatedAt, b.Version, b.Refunds = at(9), 4, []synclayer.Refund{{ID: "r"}}
	if !a.SameContent(&b) {
		t.Error("the update time, version and refunds count as content")
	}
	b.Status = synclayer.OrderCompleted
	if a.SameContent(&b) {
		t.Error("a new status is not a change")
	}
}
