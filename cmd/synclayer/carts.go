package main

import (
	"synclayer/destination/brevo"
	"synclayer/ingest"
)

// CartEventsConfig is skills.cart-events. (Filled in by the cart-events work.)
type CartEventsConfig struct{}

// finishCarts checks and defaults skills.cart-events.
func (c *Config) finishCarts(e *configErrors) {}

// cartIngest adds cart-events' route to an ingest config.
func (m *Main) cartIngest(cfg *ingest.Config) {}

// startCarts starts cart-events' worker when it is enabled.
func (m *Main) startCarts(client *brevo.Client) {}
