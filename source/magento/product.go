package magento

import (
	"fmt"
	"strings"
	"time"

	"synclayer"
	"synclayer/normalize"
)

// parseProduct reads a product: the REST ProductInterface (stock and
// categories under extension_attributes, url_key among custom_attributes)
// or the product model a webhook carries (url_key, category_ids and
// quantity_and_stock_status at the top). base is the store's URL, which
// with the url_key and Magento's default .html suffix makes the product's
// page.
func parseProduct(r record, base string) (*synclayer.ProductChange, error) {
	id, err := r.id()
	if err != nil {
		return nil, err
	}
	p := &synclayer.Product{SourceID: id}
	if _, p.UpdatedAt, err = r.updatedAt(); err != nil {
		return nil, err
	}
	if p.Name, err = r.text("name"); err != nil {
		return nil, err
	}
	if p.Name == "" {
		return nil, synclayer.FieldErrorf(r.field("name"), "missing; a product carries its name")
	}
	if p.SKU, err = r.text("sku"); err != nil {
		return nil, err
	}
	if p.Price, err = normalize.Money(r.field("price"), r.m["price"]); err != nil {
		return nil, err
	}
	urlKey, err := r.text("url_key")
	if err != nil {
		return nil, err
	}
	var cats []string
	if raw, ok := r.m["category_ids"]; ok {
		if cats, err = ids(r.field("category_ids"), raw); err != nil {
			return nil, err
		}
	}
	if st, ok, err := r.object("quantity_and_stock_status"); err != nil {
		return nil, err
	} else if ok {
		if p.Stock, err = stock(st); err != nil {
			return nil, err
		}
	}
	if ext, ok, err := r.object("extension_attributes"); err != nil {
		return nil, err
	} else if ok {
		if si, ok, err := ext.object("stock_item"); err != nil {
			return nil, err
		} else if ok {
			if p.Stock, err = stock(si); err != nil {
				return nil, err
			}
		}
		links, err := normalize.Array(ext.field("category_links"), ext.m["category_links"])
		if err != nil {
			return nil, err
		}
		for i, raw := range links {
			m, err := normalize.Object(fmt.Sprintf("%s[%d]", ext.field("category_links"), i), raw)
			if err != nil {
				return nil, err
			}
			c, err := normalize.ID(fmt.Sprintf("%s[%d].category_id", ext.field("category_links"), i), m["category_id"])
			if err != nil {
				return nil, err
			}
			if c != "" {
				cats = append(cats, c)
			}
		}
	}
	attrs, err := normalize.Array(r.field("custom_attributes"), r.m["custom_attributes"])
	if err != nil {
		return nil, err
	}
	for i, raw := range attrs {
		m, err := normalize.Object(fmt.Sprintf("%s[%d]", r.field("custom_attributes"), i), raw)
		if err != nil {
			return nil, err
		}
		a := record{path: fmt.Sprintf("%s[%d]", r.field("custom_attributes"), i), m: m}
		if code, _ := a.text("attribute_code"); code == "url_key" {
			if urlKey, err = a.text("value"); err != nil {
				return nil, err
			}
		}
	}
	if urlKey != "" && base != "" {
		p.URL = base + "/" + urlKey + ".html"
	}
	p.Categories = cats
	return &synclayer.ProductChange{SourceID: id, Product: p}, nil
}

func stock(r record) (*int64, error) {
	q, err := normalize.Decimal(r.field("qty"), r.m["qty"])
	if err != nil || normalize.IsNull(q) {
		return nil, err
	}
	whole, _, _ := strings.Cut(strings.Trim(string(q), `"`), ".")
	var n int64
	if _, err := fmt.Sscan(whole, &n); err != nil {
		return nil, synclayer.FieldErrorf(r.field("qty"), "%s is not a quantity", normalize.Clip(string(q)))
	}
	return &n, nil
}

func ids(field string, raw []byte) ([]string, error) {
	items, err := normalize.Array(field, raw)
	if err != nil {
		return nil, err
	}
	var out []string
	for i, it := range items {
		id, err := normalize.ID(fmt.Sprintf("%s[%d]", field, i), it)
		if err != nil {
			return nil, err
		}
		if id != "" {
			out = append(out, id)
		}
	}
	return out, nil
}

// productEvent makes the event of a product read by webhook or API.
func (s *Source) productEvent(r record, topic string, body []byte, now time.Time) (*synclayer.Event, error) {
	ch, err := parseProduct(r, s.storeURL())
	if err != nil {
		return nil, err
	}
	return &synclayer.Event{Source: s.name, DedupeKey: dedupeKey("product", ch.SourceID, ch.Product.UpdatedAt), Topic: topic,
		Type: synclayer.EventProductUpdated, OccurredAt: ch.Product.UpdatedAt, ReceivedAt: now.UTC(), Payload: body, Product: ch}, nil
}

// storeURL is api_url without a trailing slash, or "" when unset.
func (s *Source) storeURL() string {
	return strings.TrimRight(s.settings.APIURL, "/")
}
