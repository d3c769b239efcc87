package shopify_test

import (
	"bytes"
	"io"
	"testing"
	"time"

	"synclayer"
	"synclayer/source/shopify"
)

// FuzzExportReader feeds arbitrary CSV to the export reader: every row is
// an event that identifies its record, or an EINVALID error naming a
// column, and reading always reaches the end.
func FuzzExportReader(f *testing.F) {
	for _, s := range []string{
		"Customer ID,First Name,Last Name,Email,Accepts Email Marketing,Default Address Phone,Total Spent,Total Orders,Tags\n'207119551,Ann,Lee,ann@example.com,yes,+14155550100,199.65,3,\"vip, b2b\"\n",
		"First Name,Last Name,Email,Accepts Marketing,Phone,Total Spent,Total Orders,Tags\nBo,,bo@example.com,no,,0.00,0,\n",
		"Name,Email,Financial Status,Paid at,Fulfillment Status,Currency,Subtotal,Total,Created at,Lineitem quantity,Lineitem name,Lineitem price,Lineitem sku,Refunded Amount,Id\n#1001,a@example.com,paid,2024-01-15 10:31:00 -0500,fulfilled,EUR,20.00,25.00,2024-01-15 10:30:00 -0500,2,Tee,10.00,TEE-1,5.00,450789469\n#1001,,,,,,,,,1,Cap,5.00,CAP-1,,\n",
		"Email\n\"unterminated\n",
		"\ufeffEmail,Accepts Email Marketing\na@example.com,maybe\n",
	} {
		f.Add([]byte(s))
	}
	asOf := time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)
	f.Fuzz(func(t *testing.T, data []byte) {
		x, err := shopify.NewExportReader(bytes.NewReader(data), asOf)
		if err != nil {
			if synclayer.ErrorCode(err) != synclayer.EINVALID {
				t.Fatalf("header error %v is not EINVALID", err)
			}
			return
		}
		for range len(data) + 2 {
			_, ev, err := x.Next()
			if err == io.EOF {
				return
			}
			if err != nil {
				if synclayer.ErrorCode(err) != synclayer.EINVALID {
					t.Fatalf("row error %v is not EINVALID", err)
				}
				continue
			}
			switch {
			case ev.Customer != nil && !ev.Customer.Identifies():
				t.Fatalf("a customer row that identifies no one")
			case ev.Order != nil && (ev.Order.SourceID == "" || ev.Order.Order == nil):
				t.Fatalf("an order without its ID")
			case ev.Customer == nil && ev.Order == nil:
				t.Fatalf("an event with neither customer nor order")
			}
		}
		t.Fatalf("reading never reached the end")
	})
}
