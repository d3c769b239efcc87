package brevo

import (
	"synclayer"
	"synclayer/skill"
)

var _ synclayer.BatchDestination = (*Destination)(nil)

// BatchFlusher runs a skill's batch queue through Brevo's batch calls:
// customer-sync's contacts through imports, order-events' orders through
// POST /orders/status/batch, product-catalog's products through POST
// /products/batch. Each Brevo account (brevo, brevo-eu: type brevo) has
// its own batch queues and records its own sync state.
func (d *Destination) BatchFlusher(cfg synclayer.BatchConfig) (synclayer.BatchFlusher, error) {
	fc := FlusherConfig{Store: cfg.Store, Client: d.client, Skill: cfg.Skill, Destination: d.name, Historical: cfg.Historical,
		Interval: cfg.Interval, MaxSize: cfg.MaxSize, PollMin: cfg.PollMin, PollMax: cfg.PollMax, Logger: cfg.Logger}
	switch cfg.Skill {
	case skill.CustomerSyncName:
		contacts := cfg.Contacts
		fc.CurrentContacts = func() (*ContactSync, int64) {
			if contacts == nil {
				return nil, 0
			}
			bs, ok := contacts().(*ContactSync)
			if !ok || bs == nil {
				return nil, 0
			}
			cp := *bs
			cp.Store = cfg.Store
			return &cp, bs.ImportListID
		}
	case skill.OrderEventsName:
		fc.Orders = &OrderEvents{Store: cfg.Store, Client: d.client, Destination: d.name, Logger: cfg.Logger}
	case skill.ProductCatalogName:
		fc.Products = &ProductCatalog{Store: cfg.Store, Client: d.client, Destination: d.name, Logger: cfg.Logger}
	default:
		return nil, nil
	}
	return NewFlusher(fc), nil
}
