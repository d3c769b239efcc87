package brevo

import (
	"synclayer"
	"synclayer/skill"
)

var _ synclayer.BatchDestination = (*Destination)(nil)

// BatchFlusher runs a skill's batch queue through Brevo's batch calls:
// customer-sync's contacts through imports, order-events' orders through
// POST /orders/status/batch, product-catalog's products through POST
// /products/batch. Only the account named brevo has it for now: the
// batch path's sync state is recorded under that name. Another Brevo
// account returns nil and delivers realtime.
func (d *Destination) BatchFlusher(cfg synclayer.BatchConfig) (synclayer.BatchFlusher, error) {
	if d.name != "brevo" {
		return nil, nil
	}
	fc := FlusherConfig{Store: cfg.Store, Client: d.client, Skill: cfg.Skill, Historical: cfg.Historical,
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
		fc.Orders = &OrderEvents{Store: cfg.Store, Client: d.client, Logger: cfg.Logger}
	case skill.ProductCatalogName:
		fc.Products = &ProductCatalog{Store: cfg.Store, Client: d.client, Logger: cfg.Logger}
	default:
		return nil, nil
	}
	return NewFlusher(fc), nil
}
