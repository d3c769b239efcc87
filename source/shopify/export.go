package shopify

import (
	"bufio"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"synclayer"
	"synclayer/normalize"
)

// Export kinds: what an admin CSV export holds.
const (
	ExportCustomers = "customers"
	ExportOrders    = "orders"
)

// Export is Shopify's admin CSV exports, for backfill: the customer
// export or the order export, told apart by the header.
var Export = synclayer.ExportFormat{
	Exts: []string{".csv"},
	What: "a Shopify customer or order export",
	Open: func(r io.Reader, asOf, _ time.Time) (synclayer.ExportReader, error) {
		return NewExportReader(bufio.NewReaderSize(r, 256<<10), asOf)
	},
}

// ExportReader streams the events of a Shopify admin CSV export: the
// customer export (one row per customer) or the order export (one row per
// line item; the rows of one order follow each other and share its Name).
// Headers are matched without regard to case or spacing, and older names
// are accepted ("Accepts Marketing" for "Accepts Email Marketing").
type ExportReader struct {
	csv  *csv.Reader
	kind string
	cols map[string]int
	asOf time.Time

	peek     []string // the next order row, read ahead
	peekLine int
	err      error // a read error met while reading ahead
}

// NewExportReader reads the header and tells the export's kind from it.
// asOf dates what the customer export says (it carries no update times),
// so newer webhooks win over it; use the export's time.
func NewExportReader(r io.Reader, asOf time.Time) (*ExportReader, error) {
	// The byte order mark goes before the CSV reader sees it: left in, it
	// makes a quoted first header ("\ufeff\"Customer ID\"") a literal with
	// quotes that matches no column.
	br := bufio.NewReader(r)
	if b, err := br.Peek(3); err == nil && string(b) == "\ufeff" {
		br.Discard(3)
	}
	c := csv.NewReader(br)
	c.FieldsPerRecord = -1
	c.LazyQuotes = true
	header, err := c.Read()
	if err != nil {
		return nil, synclayer.FieldErrorf("header", "cannot read the CSV header: %v", err)
	}
	x := &ExportReader{csv: c, cols: map[string]int{}, asOf: asOf.UTC()}
	for i, h := range header {
		h = strings.TrimPrefix(h, "\ufeff")
		x.cols[key(h)] = i
	}
	switch {
	case x.has("lineitem name") || x.has("lineitem quantity"):
		x.kind = ExportOrders
		if !x.has("name") {
			return nil, synclayer.FieldErrorf("header", `the order export has no "Name" column, which groups its line items`)
		}
	case x.has("email") || x.has("customer id") || x.has("phone"):
		x.kind = ExportCustomers
	default:
		return nil, synclayer.FieldErrorf("header", `not a Shopify customer or order export: no "Email", "Customer ID" or "Lineitem name" column`)
	}
	return x, nil
}

func key(h string) string { return strings.Join(strings.Fields(strings.ToLower(h)), " ") }

func (x *ExportReader) has(col string) bool { _, ok := x.cols[col]; return ok }

// Kind returns ExportCustomers or ExportOrders.
func (x *ExportReader) Kind() string { return x.kind }

// Records is what the export holds: synclayer.ExportContacts or
// synclayer.ExportOrders.
func (x *ExportReader) Records() string {
	if x.kind == ExportOrders {
		return synclayer.ExportOrders
	}
	return synclayer.ExportContacts
}

// get returns the row's value of the first named column it has.
func (x *ExportReader) get(row []string, cols ...string) string {
	for _, c := range cols {
		if i, ok := x.cols[c]; ok && i < len(row) {
			if v := strings.TrimSpace(row[i]); v != "" {
				return v
			}
		}
	}
	return ""
}

// Next returns the next event and the line it starts on. A row that
// cannot be read returns its line and an EINVALID error naming the
// column; reading can go on after it. The end is io.EOF.
func (x *ExportReader) Next() (int, *synclayer.Event, error) {
	if x.kind == ExportOrders {
		return x.nextOrder()
	}
	row, line, err := x.read()
	if err != nil {
		return line, nil, err
	}
	ev, err := x.customer(row)
	return line, ev, err
}

func (x *ExportReader) read() ([]string, int, error) {
	row, err := x.csv.Read()
	line, _ := x.csv.FieldPos(0)
	if err != nil {
		var pe *csv.ParseError
		if errors.As(err, &pe) {
			return nil, pe.StartLine, synclayer.FieldErrorf("csv", "%v", pe.Err)
		}
		return nil, line, err
	}
	return row, line, nil
}

// str is a CSV value as the JSON string the normalize helpers read.
func str(s string) json.RawMessage { b, _ := json.Marshal(s); return b }

// customer reads one row of the customer export.
func (x *ExportReader) customer(row []string) (*synclayer.Event, error) {
	ch := &synclayer.CustomerChange{Fields: map[string]json.RawMessage{}}
	// Shopify writes the ID with a leading apostrophe so that spreadsheets
	// keep it as text.
	id := strings.TrimPrefix(x.get(row, "customer id", "id"), "'")
	var err error
	if id != "" {
		if ch.SourceID, err = normalize.ID(`"Customer ID"`, str(id)); err != nil {
			return nil, err
		}
	}
	text := []struct{ field, col, alt string }{
		{synclayer.FieldEmail, "email", ""},
		{synclayer.FieldFirstName, "first name", ""},
		{synclayer.FieldLastName, "last name", ""},
		{synclayer.FieldPhone, "phone", "default address phone"},
	}
	for _, t := range text {
		v := x.get(row, t.col, t.alt)
		if v == "" {
			continue
		}
		if ch.Fields[t.field], err = normalize.Text(fmt.Sprintf("%q", t.col), str(strings.TrimPrefix(v, "'"))); err != nil {
			return nil, err
		}
	}
	if v := x.get(row, "total orders"); v != "" {
		if ch.Fields[synclayer.FieldTotalOrders], err = normalize.Count(`"Total Orders"`, str(v)); err != nil {
			return nil, err
		}
	}
	if v := x.get(row, "total spent"); v != "" {
		if ch.Fields[synclayer.FieldTotalSpent], err = normalize.Decimal(`"Total Spent"`, str(v)); err != nil {
			return nil, err
		}
	}
	if v := x.get(row, "tags"); v != "" {
		if ch.Fields[synclayer.FieldTags], err = normalize.Tags(`"Tags"`, str(v)); err != nil {
			return nil, err
		}
	}
	if ch.EmailConsent, err = x.accepts(row, `"Accepts Email Marketing"`, "accepts email marketing", "accepts marketing"); err != nil {
		return nil, err
	}
	if ch.SMSConsent, err = x.accepts(row, `"Accepts SMS Marketing"`, "accepts sms marketing"); err != nil {
		return nil, err
	}
	if !ch.Identifies() {
		return nil, synclayer.FieldErrorf(`"Email"`, "the row has no Customer ID, Email or Phone to identify the customer")
	}
	return &synclayer.Event{Source: sourceName, Topic: "export/customers", Type: synclayer.EventCustomerUpdated,
		OccurredAt: x.asOf, Customer: ch}, nil
}

// accepts reads a yes/no marketing column: yes is an opt-in, no only
// "not subscribed", which never lifts an opt-out (as accepts_marketing).
func (x *ExportReader) accepts(row []string, name string, cols ...string) (*synclayer.ConsentChange, error) {
	v := strings.ToLower(x.get(row, cols...))
	switch v {
	case "":
		return nil, nil
	case "yes", "true", "y", "1":
		return &synclayer.ConsentChange{State: synclayer.ConsentSubscribed, At: x.asOf}, nil
	case "no", "false", "n", "0":
		return &synclayer.ConsentChange{State: synclayer.ConsentNone, At: x.asOf}, nil
	}
	return nil, synclayer.FieldErrorf(name, "must be yes or no, not %q", normalize.Clip(v))
}
