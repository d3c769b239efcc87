package mailchimp

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strings"

	"synclayer"
)

var (
	_ synclayer.OrderDestination   = (*Destination)(nil)
	_ synclayer.ProductDestination = (*Destination)(nil)
	_ synclayer.CartDestination    = (*Destination)(nil)
)

// CommerceOptions are the options of order-events, product-catalog and
// cart-events for Mailchimp. Every skill names the same store.
type CommerceOptions struct {
	StoreID    string `json:"store_id"`    // required: the e-commerce store's ID, chosen by synclayer's user
	AudienceID string `json:"audience_id"` // required: the store's audience; Mailchimp never lets a store change it
	Currency   string `json:"currency"`    // ISO 4217, default USD: the store's, and of records that name none
	StoreName  string `json:"store_name"`  // default "synclayer store"
}

// commerce is what the three e-commerce skills share: the client, the
// store, and its Prepare.
type commerce struct {
	client *Client
	opt    CommerceOptions
	log    *slog.Logger
}

func newCommerce(c *Client, cfg synclayer.SkillConfig) (*commerce, error) {
	opt := CommerceOptions{}
	if err := decodeCommerceOptions(cfg.Options, &opt); err != nil {
		return nil, err
	}
	var errs []error
	if strings.TrimSpace(opt.StoreID) == "" {
		errs = append(errs, synclayer.FieldErrorf("options.store_id", "is required: an ID of your choice for the Mailchimp e-commerce store synclayer fills (like \"synclayer\"); synclayer creates the store when it is missing"))
	}
	if strings.TrimSpace(opt.AudienceID) == "" {
		errs = append(errs, synclayer.FieldErrorf("options.audience_id", "is required: the ID of the Mailchimp audience the store belongs to (Audience → Settings → Audience name and defaults)"))
	}
	if opt.Currency == "" {
		opt.Currency = "USD"
	}
	if len(opt.Currency) != 3 || strings.ToUpper(opt.Currency) != opt.Currency {
		errs = append(errs, synclayer.FieldErrorf("options.currency", "must be a three-letter ISO 4217 code in capitals, like USD"))
	}
	if opt.StoreName == "" {
		opt.StoreName = "synclayer store"
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	log := cfg.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &commerce{client: c, opt: opt, log: log}, nil
}

func decodeCommerceOptions(raw json.RawMessage, v *CommerceOptions) error {
	if len(raw) == 0 || string(raw) == "null" {
		return nil
	}
	var keys map[string]json.RawMessage
	if err := json.Unmarshal(raw, &keys); err != nil {
		return synclayer.FieldErrorf("options", "must be an object")
	}
	for k := range keys {
		switch k {
		case "store_id", "audience_id", "currency", "store_name":
		default:
			return synclayer.FieldErrorf("options."+k, "is not a Mailchimp e-commerce option; the options are store_id, audience_id, currency, store_name")
		}
	}
	if err := json.Unmarshal(raw, v); err != nil {
		var te *json.UnmarshalTypeError
		if errors.As(err, &te) {
			return synclayer.FieldErrorf("options."+te.Field, "must be a %s", te.Type)
		}
		return synclayer.FieldErrorf("options", "%v", err)
	}
	return nil
}

// Prepare makes sure the store exists, creating it in the audience when
// it does not. An audience that does not exist, or a store tied to
// another audience, is an EINVALID error naming options.audience_id;
// anything else is retried by the runner.
func (m *commerce) Prepare(ctx context.Context) error {
	st, err := m.client.GetStore(ctx, m.opt.StoreID)
	switch {
	case err == nil:
		if st.ListID != m.opt.AudienceID {
			return synclayer.FieldErrorf("options.audience_id", "the Mailchimp store %s belongs to audience %s, not %s, and a store can never move to another audience: set audience_id to %s or choose another store_id",
				m.opt.StoreID, st.ListID, m.opt.AudienceID, st.ListID)
		}
		return nil
	case !IsNotFound(err):
		return fmt.Errorf("read the Mailchimp store %s: %w", m.opt.StoreID, err)
	}
	if err := m.client.GetList(ctx, m.opt.AudienceID); IsNotFound(err) {
		return synclayer.FieldErrorf("options.audience_id", "the Mailchimp account has no audience %s: copy the audience ID from Audience → Settings → Audience name and defaults", m.opt.AudienceID)
	} else if err != nil {
		return fmt.Errorf("read the Mailchimp audience %s: %w", m.opt.AudienceID, err)
	}
	err = m.client.CreateStore(ctx, Store{ID: m.opt.StoreID, ListID: m.opt.AudienceID, Name: m.opt.StoreName, CurrencyCode: m.opt.Currency})
	if err != nil && !IsDuplicate(err) {
		return fmt.Errorf("create the Mailchimp store %s: %w", m.opt.StoreID, err)
	}
	m.log.Info("created the Mailchimp e-commerce store", "store", m.opt.StoreID, "audience", m.opt.AudienceID)
	return nil
}

// OrderSync builds order-events for cfg; errors name options.<key>.
func (d *Destination) OrderSync(cfg synclayer.SkillConfig) (synclayer.OrderSync, error) {
	return NewOrderSync(d.client, cfg)
}

// ProductSync builds product-catalog for cfg; errors name options.<key>.
func (d *Destination) ProductSync(cfg synclayer.SkillConfig) (synclayer.ProductSync, error) {
	return NewProductSync(d.client, cfg)
}

// CartSync builds cart-events for cfg; errors name options.<key>.
func (d *Destination) CartSync(cfg synclayer.SkillConfig) (synclayer.CartSync, error) {
	return NewCartSync(d.client, cfg)
}

// customerID is the e-commerce customer ID of a contact: its synclayer
// ID, or a hash of it beyond Mailchimp's 50 characters.
func customerID(contactID string) string {
	if len(contactID) <= 50 {
		return contactID
	}
	sum := sha256.Sum256([]byte(contactID))
	return "sl-" + hex.EncodeToString(sum[:])[:40]
}

// customer is the e-commerce customer of contact c. opt_in_status is
// always false: true would subscribe the address to the audience (a new
// member, or a transactional one such as customer-sync creates), and
// consent travels only through customer-sync's rules.
func customer(c *synclayer.Contact) (*Customer, error) {
	if c == nil || c.Deleted {
		return nil, errors.New("no contact is known for it")
	}
	email, err := contactEmail(c)
	if err != nil {
		return nil, errors.New("its contact has no email Mailchimp accepts")
	}
	no := false
	return &Customer{ID: customerID(c.ID), EmailAddress: email, OptInStatus: &no}, nil
}

// money returns m, or 0 for no amount: Mailchimp's amounts are numbers.
func money(m synclayer.Money) synclayer.Money {
	if m.IsZero() {
		return synclayer.MustMoney("0")
	}
	return m
}
