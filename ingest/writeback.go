package ingest

import (
	"context"
	"time"

	"synclayer"
)

// WriteBack is a source that takes opt-outs made elsewhere back into its
// platform (synclayer.ConsentWriter: Shopify's consent mutations), so a
// person who unsubscribed from a Brevo campaign stops getting the shop's
// own mails too.
type WriteBack struct {
	Source string // the source's config name: its customer IDs are Contact.SourceIDs[Source]
	Queue  string // the write-back worker's queue
}

// enqueueWriteBacks queues the write-back of contact c's opt-outs to each
// source that holds the contact and did not decide the opt-out itself.
// The worker sends only what the platform has not been told yet, so a
// change that leaves an opt-out as it was costs a job but no call, and the
// echo of a write (the platform's own consent webhook, now deciding)
// queues nothing.
func (in *Ingester) enqueueWriteBacks(ctx context.Context, tx synclayer.Tx, c *synclayer.Contact, now time.Time) ([]string, error) {
	var queues []string
	for _, w := range in.cfg.WriteBacks {
		if c.Deleted || c.SourceIDs[w.Source] == "" || !OptedOutElsewhere(c, w.Source) {
			continue
		}
		if err := tx.EnqueueJob(ctx, w.Queue, w.Source, c.ID, now); err != nil {
			return nil, err
		}
		queues = append(queues, w.Queue)
	}
	return queues, nil
}

// OptedOutElsewhere reports whether c is opted out of email or SMS by a
// statement that did not come from source.
func OptedOutElsewhere(c *synclayer.Contact, source string) bool {
	out := func(k synclayer.Consent) bool { return k.State == synclayer.ConsentUnsubscribed && k.Source != source }
	return out(c.EmailConsent) || out(c.SMSConsent)
}
