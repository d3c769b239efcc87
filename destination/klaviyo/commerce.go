package klaviyo

import (
	"context"
	"errors"
	"log/slog"
	"math/big"

	"synclayer"
)

var (
	_ synclayer.OrderDestination   = (*Destination)(nil)
	_ synclayer.ProductDestination = (*Destination)(nil)
	_ synclayer.CartDestination    = (*Destination)(nil)
)

// The metrics the commerce skills send. Placed Order, Ordered Product,
// Cancelled Order and Refunded Order are the names Klaviyo's guide to
// integrating a platform without a pre-built integration gives, so
// Klaviyo's own order reports and flow templates find them.
const (
	MetricPlacedOrder       = "Placed Order"
	MetricOrderedProduct    = "Ordered Product"
	MetricRefundedOrder     = "Refunded Order"
	MetricCancelledOrder    = "Cancelled Order"
	MetricAbandonedCheckout = "Abandoned Checkout"
)

// SkillOptions is the Klaviyo part of a commerce skill's options. The
// skills need none yet; any key is an error naming it.
type SkillOptions struct{}

// skillOptions decodes a commerce skill's options strictly; errors name
// the key as options.<key>.
func skillOptions(cfg synclayer.SkillConfig) error {
	var o SkillOptions
	err := synclayer.DecodeSettings(cfg.Options, &o, "Klaviyo option: this skill takes none on Klaviyo")
	var e *synclayer.Error
	if errors.As(err, &e) && e.Field != "" {
		e.Field = "options." + e.Field
	}
	return err
}

func (d *Destination) logger(cfg synclayer.SkillConfig) *slog.Logger {
	if cfg.Logger != nil {
		return cfg.Logger
	}
	return d.log
}

// OrderSync builds order-events on this account. Errors name the key
// inside the skill's block (options.<key>).
func (d *Destination) OrderSync(cfg synclayer.SkillConfig) (synclayer.OrderSync, error) {
	if err := skillOptions(cfg); err != nil {
		return nil, err
	}
	return &OrderSync{client: d.client, log: d.logger(cfg)}, nil
}

// ProductSync builds product-catalog on this account.
func (d *Destination) ProductSync(cfg synclayer.SkillConfig) (synclayer.ProductSync, error) {
	if err := skillOptions(cfg); err != nil {
		return nil, err
	}
	return &ProductSync{client: d.client, log: d.logger(cfg)}, nil
}

// CartSync builds cart-events on this account.
func (d *Destination) CartSync(cfg synclayer.SkillConfig) (synclayer.CartSync, error) {
	if err := skillOptions(cfg); err != nil {
		return nil, err
	}
	return &CartSync{client: d.client, log: d.logger(cfg)}, nil
}

// Prepare has nothing to do: Klaviyo creates a metric with the first
// event that names it.
func (s *OrderSync) Prepare(context.Context) error { return nil }

// Prepare has nothing to do: the $custom:::$default catalog needs no
// setup.
func (s *ProductSync) Prepare(context.Context) error { return nil }

// Prepare has nothing to do, as for OrderSync.
func (s *CartSync) Prepare(context.Context) error { return nil }

// lineItems are the Items and ItemNames properties of an order or a cart,
// named as in Klaviyo's Placed Order example. Amounts stay Money, so they
// are JSON numbers with the platform's digits.
func lineItems(items []synclayer.OrderItem) (lines []map[string]any, names []string) {
	lines, names = []map[string]any{}, []string{}
	for _, it := range items {
		line := map[string]any{"ProductID": it.ProductID, "Quantity": it.Quantity}
		if it.VariantID != "" {
			line["VariantID"] = it.VariantID
		}
		if it.SKU != "" {
			line["SKU"] = it.SKU
		}
		if it.Name != "" {
			line["ProductName"] = it.Name
			names = append(names, it.Name)
		}
		if !it.Price.IsZero() {
			line["ItemPrice"] = it.Price
			line["RowTotal"] = rowTotal(it.Price, it.Quantity)
		}
		lines = append(lines, line)
	}
	return lines, names
}

// rowTotal is price × quantity, exactly, with price's fraction digits.
func rowTotal(price synclayer.Money, qty int64) synclayer.Money {
	r, ok := new(big.Rat).SetString(price.String())
	if !ok {
		return synclayer.Money{}
	}
	r.Mul(r, new(big.Rat).SetInt64(qty))
	scale := 0
	for i, c := range price.String() {
		if c == '.' {
			scale = len(price.String()) - i - 1
		}
	}
	m, err := synclayer.ParseMoney(r.FloatString(scale))
	if err != nil {
		return synclayer.Money{}
	}
	return m
}
