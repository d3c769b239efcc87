package shopify_test

import (
	"io"
	"strings"
	"testing"
	"time"

	"synclayer"
	"synclayer/source/shopify"
)

var asOf = time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)

func TestExportReader_Customers(t *testing.T) {
	t.Parallel()
	csv := "\ufeffCustomer ID,First Name,Last Name,Email,Accepts Email Marketing,Default Address Phone,Accepts SMS Marketing,Total Spent,Total Orders,Tags,Note\n" +
		"'207119551,Ann,Lee,Ann@Example.com,yes,+14155550100,no,199.65,3,\"vip, b2b\",hi\n" +
		",Bo,,,no,,,,,,\n" +
		"3,Cy,,cy@example.com,perhaps,,,,,,\n"
	x, err := shopify.NewExportReader(strings.NewReader(csv), asOf)
	if err != nil || x.Kind() != shopify.ExportCustomers {
		t.Fatalf("kind %v, %v", x, err)
	}
	line, ev, err := x.Next()
	if err != nil || line != 2 {
		t.Fatalf("line %d: %v", line, err)
	}
	ch := ev.Customer
	want := map[string]string{"email": `"Ann@Example.com"`, "firstName": `"Ann"`, "lastName": `"Lee"`, "phone": `"+14155550100"`,
		"totalSpent": "199.65", "totalOrders": "3", "tags": `["vip","b2b"]`}
	for f, v := range want {
		if got := string(ch.Fields[f]); got != v {
			t.Errorf("%s = %s, want %s", f, got, v)
		}
	}
	if ch.SourceID != "207119551" || ev.Source != "shopify" || !ev.OccurredAt.Equal(asOf) {
		t.Errorf("source ID %q, source %s, at %v", ch.SourceID, ev.Source, ev.OccurredAt)
	}
	if ch.EmailConsent == nil || ch.EmailConsent.State != synclayer.ConsentSubscribed || ch.SMSConsent == nil || ch.SMSConsent.State != synclayer.ConsentNone {
		t.Errorf("consent %+v %+v", ch.EmailConsent, ch.SMSConsent)
	}
	if line, _, err := x.Next(); line != 3 || synclayer.ErrorCode(err) != synclayer.EINVALID {
		t.Errorf("a row with nothing to identify: line %d, %v", line, err)
	}
	if line, _, err := x.Next(); line != 4 || err == nil || !strings.Contains(err.Error(), "Accepts Email Marketing") {
		t.Errorf("a bad consent value: line %d, %v", line, err)
	}
	if _, _, err := x.Next(); err != io.EOF {
		t.Errorf("end: %v", err)
	}
}

func TestExportReader_OlderHeader(t *testing.T) {
	t.Parallel()
	x, err := shopify.NewExportReader(strings.NewReader("First Name,Last Name,Email,Accepts Marketing,Phone\nBo,Ng,bo@example.com,yes,\n"), asOf)
	if err != nil {
		t.Fatal(err)
	}
	_, ev, err := x.Next()
	if err != nil || ev.Customer.EmailConsent == nil || ev.Customer.EmailConsent.State != synclayer.ConsentSubscribed {
		t.Errorf("Accepts Marketing: %+v, %v", ev, err)
	}
}

func TestExportReader_Orders(t *testing.T) {
	t.Parallel()
	csv := "Name,Email,Financial Status,Paid at,Fulfillment Status,Currency,Subtotal,Total,Created at,Lineitem quantity,Lineitem name,Lineitem price,Lineitem sku,Refunded Amount,Billing Name,Id\n" +
		"#1001,a@example.com,partially_refunded,2024-01-15 10:31:00 -0500,,eur,20.00,25.00,2024-01-15 10:30:00 -0500,2,Tee,10.00,TEE-1,5.00,Ann Lee,450789469\n" +
		"#1001,a@example.com,,,,,,,,1,Cap,5.00,,,,\n" +
		"#1002,b@example.com,refunded,,,EUR,9.00,9.00,2024-01-16 08:00:00 +0000,1,Mug,9.00,MUG,9.00,,450789470\n"
	x, err := shopify.NewExportReader(strings.NewReader(csv), asOf)
	if err != nil || x.Kind() != shopify.ExportOrders {
		t.Fatalf("kind: %v", err)
	}
	line, ev, err := x.Next()
	if err != nil || line != 2 {
		t.Fatalf("line %d: %v", line, err)
	}
	o := ev.Order.Order
	if o.SourceID != "450789469" || o.Number != "#1001" || o.Status != synclayer.OrderPaid || o.Currency != "EUR" || o.Total.String() != "25.00" {
		t.Errorf("order %+v", o)
	}
	if len(o.Items) != 2 || o.Items[0].ProductID != "sku-TEE-1" || o.Items[0].Quantity != 2 || o.Items[1].ProductID != "line-Cap" || o.Items[1].Price.String() != "5.00" {
		t.Errorf("items %+v", o.Items)
	}
	if !o.CreatedAt.Equal(time.Date(2024, 1, 15, 15, 30, 0, 0, time.UTC)) || !o.UpdatedAt.Equal(time.Date(2024, 1, 15, 15, 31, 0, 0, time.UTC)) {
		t.Errorf("times %v %v", o.CreatedAt, o.UpdatedAt)
	}
	if len(ev.Order.Refunds) != 1 || ev.Order.Refunds[0].Amount.String() != "5.00" {
		t.Errorf("refunds %+v", ev.Order.Refunds)
	}
	if c := ev.Order.Customer; c == nil || string(c.Fields["email"]) != `"a@example.com"` || string(c.Fields["lastName"]) != `"Lee"` {
		t.Errorf("customer %+v", c)
	}
	line, ev, err = x.Next()
	if err != nil || line != 4 || ev.Order.Order.Status != synclayer.OrderRefunded {
		t.Errorf("second order: line %d, %+v, %v", line, ev, err)
	}
	if _, _, err := x.Next(); err != io.EOF {
		t.Errorf("end: %v", err)
	}
}

// TestExportReader_BOMBeforeQuotedHeader reads an export saved with a
// byte order mark and every field quoted, as spreadsheet tools write it:
// the first column must still be recognized, so the row keeps its ID.
func TestExportReader_BOMBeforeQuotedHeader(t *testing.T) {
	t.Parallel()
	csv := "\ufeff\"Customer ID\",\"Email\",\"Accepts Email Marketing\"\r\n\"'207119551\",\"ann@example.com\",\"yes\"\r\n"
	x, err := shopify.NewExportReader(strings.NewReader(csv), asOf)
	if err != nil {
		t.Fatal(err)
	}
	line, ev, err := x.Next()
	if err != nil || line != 2 {
		t.Fatalf("line %d: %v", line, err)
	}
	if ev.Customer.SourceID != "207119551" {
		t.Errorf("source ID %q, want 207119551: the quoted first header after the BOM was not recognized", ev.Customer.SourceID)
	}
}

// TestExportReader_OrderErrorNamesItsRow puts a bad price on an order's
// third line item: the error names that row's line, not the order's
// first, so the operator finds it in a file of thousands of rows; the next
// order still reads.
func TestExportReader_OrderErrorNamesItsRow(t *testing.T) {
	t.Parallel()
	csv := "Name,Email,Financial Status,Total,Created at,Lineitem quantity,Lineitem name,Lineitem price,Id\r\n" +
		"#1001,a@example.com,paid,25.00,2024-01-15 10:30:00 -0500,1,Tee,10.00,450789469\r\n" +
		"#1001,,,,,1,\"Cap,\r\nblue\",5.00,\r\n" +
		"#1001,,,,,1,Pin,ten,\r\n" +
		"#1002,b@example.com,paid,9.00,2024-01-16 08:00:00 +0000,1,Mug,9.00,450789470\r\n"
	x, err := shopify.NewExportReader(strings.NewReader(csv), asOf)
	if err != nil {
		t.Fatal(err)
	}
	line, _, err := x.Next()
	if err == nil || line != 5 || !strings.Contains(synclayer.ErrorMessage(err), `"Lineitem price"`) {
		t.Errorf("line %d: %v; want line 5 (after the quoted newline) and the column", line, err)
	}
	if line, ev, err := x.Next(); err != nil || line != 6 || ev.Order.Order.SourceID != "450789470" {
		t.Errorf("next order: line %d, %v", line, err)
	}
}
