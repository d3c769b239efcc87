package skill

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"synclayer"
)

// ConsentWriteBackName is the write-back's name in queues and job rows:
// its queue on source s is synclayer.Queue(ConsentWriteBackName, s).
const ConsentWriteBackName = "consent-writeback"

// ConsentWriteBack tells a source platform of the opt-outs made elsewhere
// (synclayer.ConsentWriter): when a person unsubscribes from a Brevo
// campaign, Shopify's own mails must stop too. Ingest queues the
// contact's job whenever it changes while opted out by another system;
// the job writes each channel once per opt-out, recording what it wrote
// under ConsentWriteBackKey, so a redelivery, a retry after a lost
// answer's read-back, or the platform's echo never writes twice. Only
// opt-outs are written: synclayer never subscribes anyone in a store.
type ConsentWriteBack struct {
	Store  synclayer.Store
	Source string // the source's config name
	Writer synclayer.ConsentWriter
}

// ConsentWriteBackKey is the sync-state key of what was written back of
// contact id's consent.
func ConsentWriteBackKey(id string) string { return "consent-writeback:" + id }

// writtenBack is what a source platform was told of a contact's consent:
// the time of the opt-out statement written on each channel.
type writtenBack struct {
	Email time.Time `json:"email,omitzero"`
	SMS   time.Time `json:"sms,omitzero"`
}

// Handle writes the job's contact's opt-outs that came from another
// system and were not written yet.
func (s *ConsentWriteBack) Handle(ctx context.Context, job *synclayer.Job) (*synclayer.SyncState, *synclayer.TraceEntry, error) {
	c, err := s.Store.FindContactByID(ctx, job.RecordKey)
	switch {
	case synclayer.ErrorCode(err) == synclayer.ENOTFOUND:
		return nil, nil, nil
	case err != nil:
		return nil, nil, err
	}
	trace := func(summary string, detail any) *synclayer.TraceEntry {
		d, _ := json.Marshal(map[string]any{"source": s.Source, "detail": detail})
		return &synclayer.TraceEntry{ContactID: c.ID, Kind: synclayer.TraceDelivery, Summary: summary, Detail: d}
	}
	sid := c.SourceIDs[s.Source]
	if c.Deleted || sid == "" {
		return nil, trace(s.Source+": no consent write-back (the contact is not a "+s.Source+" customer)", nil), nil
	}
	raw, err := held(ctx, s.Store, ConsentWriteBackKey(c.ID), s.Source)
	if err != nil {
		return nil, nil, err
	}
	w, next, err := ConsentWriteFor(c, s.Source, raw)
	if err != nil {
		return nil, nil, synclayer.Permanent(err)
	}
	if w.EmailConsent.State == "" && w.SMSConsent.State == "" {
		// Told already, or it came from the source: the common case of a
		// later change to an opted-out contact, so the trace stays quiet.
		return nil, nil, nil
	}
	summary, err := s.Writer.WriteConsent(ctx, w)
	if err != nil {
		return nil, nil, err
	}
	return &synclayer.SyncState{RecordKey: ConsentWriteBackKey(c.ID), Destination: s.Source, RemoteID: sid, State: next},
		trace(summary, map[string]any{"email": w.EmailConsent, "sms": w.SMSConsent}), nil
}

// ConsentWriteFor is what is left to write back of contact c's consent
// to source, given what was written before (prevRaw, the state under
// ConsentWriteBackKey; nil for nothing): each channel opted out by
// another system with a statement not written yet. It returns the write
// (no channel set when nothing is due) and the state once it is done.
func ConsentWriteFor(c *synclayer.Contact, source string, prevRaw json.RawMessage) (synclayer.ConsentWrite, json.RawMessage, error) {
	var prev writtenBack
	if prevRaw != nil {
		if err := json.Unmarshal(prevRaw, &prev); err != nil {
			return synclayer.ConsentWrite{}, nil, fmt.Errorf("decode the consent write-back state of %s: %w", c.ID, err)
		}
	}
	w := synclayer.ConsentWrite{SourceID: c.SourceIDs[source], Email: c.Email}
	next := prev
	due := func(k synclayer.Consent, written time.Time) bool {
		return k.State == synclayer.ConsentUnsubscribed && k.Source != source && !k.At.Equal(written)
	}
	if due(c.EmailConsent, prev.Email) {
		w.EmailConsent, next.Email = c.EmailConsent, c.EmailConsent.At
	}
	if due(c.SMSConsent, prev.SMS) {
		w.SMSConsent, next.SMS = c.SMSConsent, c.SMSConsent.At
	}
	b, _ := json.Marshal(next)
	return w, b, nil
}
