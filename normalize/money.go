package normalize

import (
	"encoding/json"
	"strconv"

	"synclayer"
)

// Money returns a decimal amount, given as a JSON number or a decimal
// string such as "409.94", exactly as written; null or "" is the zero
// Money. Anything else is an EINVALID error naming field.
func Money(field string, raw json.RawMessage) (synclayer.Money, error) {
	v, err := Decimal(field, raw)
	if err != nil || IsNull(v) {
		return synclayer.Money{}, err
	}
	m, err := synclayer.ParseMoney(string(v))
	if err != nil {
		return synclayer.Money{}, synclayer.FieldErrorf(field, "%q is not a decimal amount: write it like 199.65", clip(string(v)))
	}
	return m, nil
}

// Int64 returns a whole number, given as a JSON number or a string of
// digits; ok is false for null or "". Anything else, or a number beyond
// 64 bits, is an EINVALID error naming field.
func Int64(field string, raw json.RawMessage) (n int64, ok bool, err error) {
	v, err := Integer(field, raw)
	if err != nil || IsNull(v) {
		return 0, false, err
	}
	n, err = strconv.ParseInt(string(v), 10, 64)
	if err != nil {
		return 0, false, synclayer.FieldErrorf(field, "%s is not a whole number of at most 64 bits", clip(string(v)))
	}
	return n, true, nil
}

// Array decodes raw as a JSON array and returns its items, each still raw;
// null is no items. Any other value is an EINVALID error naming field.
func Array(field string, raw json.RawMessage) ([]json.RawMessage, error) {
	if IsNull(raw) {
		return nil, nil
	}
	var items []json.RawMessage
	if err := json.Unmarshal(raw, &items); err != nil {
		return nil, synclayer.FieldErrorf(field, "must be an array, not %s", kind(raw))
	}
	return items, nil
}

// LineItem reads the fields Shopify and WooCommerce line items share, sku,
// name, price (a missing price is 0) and quantity, into it; path names the
// line in errors.
func LineItem(path string, li map[string]json.RawMessage, it *synclayer.OrderItem) error {
	var err error
	if it.SKU, err = String(path+".sku", li["sku"]); err != nil {
		return err
	}
	if it.Name, err = String(path+".name", li["name"]); err != nil {
		return err
	}
	if it.Price, err = Money(path+".price", li["price"]); err != nil {
		return err
	}
	if it.Price.IsZero() {
		it.Price = synclayer.MustMoney("0")
	}
	it.Quantity, _, err = Int64(path+".quantity", li["quantity"])
	return err
}
