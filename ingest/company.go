package ingest

import (
	"bytes"
	"context"
	"encoding/json"
	"strings"
	"time"

	"synclayer"
)

// companyLink keeps the contact's Company in step with its company
// field, before the contact is saved: a name no company has yet makes
// one, a name another source spelled differently finds the same one
// (CompanyKey), and companyId is set to its stable ID. It returns the
// link to write once the contact has its ID: the company's ID, "" to
// unlink, or nil when nothing changed. prev is the company field before
// the event merged: a contact whose company did not change costs no
// read.
func (in *Ingester) companyLink(ctx context.Context, tx synclayer.Tx, ev *synclayer.Event, c *synclayer.Contact, prev json.RawMessage) (*string, error) {
	var name, held string
	_ = json.Unmarshal(c.Value(synclayer.FieldCompany), &name)
	_ = json.Unmarshal(c.Value(synclayer.FieldCompanyID), &held)
	key := synclayer.CompanyKey(name)
	if c.Deleted || key == "" {
		if held == "" {
			return nil, nil
		}
		delete(c.Fields, synclayer.FieldCompanyID)
		unlink := ""
		return &unlink, nil
	}
	if held != "" && bytes.Equal(prev, c.Value(synclayer.FieldCompany)) {
		return nil, nil
	}
	if err := tx.Lock(ctx, "company:"+key); err != nil {
		return nil, err
	}
	co, err := tx.FindCompanyByKey(ctx, key)
	switch {
	case synclayer.ErrorCode(err) == synclayer.ENOTFOUND:
		co = &synclayer.Company{Key: key, CreatedAt: ev.ReceivedAt, Sources: map[string]time.Time{}}
	case err != nil:
		return nil, err
	}
	spelled := strings.Join(strings.Fields(name), " ")
	if co.Sources == nil {
		co.Sources = map[string]time.Time{}
	}
	if co.Name == "" || !co.Sources[ev.Source].After(ev.OccurredAt) {
		co.Name = spelled // the latest spelling wins
	}
	if ev.OccurredAt.After(co.Sources[ev.Source]) {
		co.Sources[ev.Source] = ev.OccurredAt
	}
	co.UpdatedAt = ev.ReceivedAt
	if err := tx.SaveCompany(ctx, co); err != nil {
		return nil, err
	}
	if co.ID == held {
		return nil, nil
	}
	id, _ := json.Marshal(co.ID)
	if c.Fields == nil {
		c.Fields = map[string]synclayer.Field{}
	}
	c.Fields[synclayer.FieldCompanyID] = synclayer.Field{Value: id, At: ev.OccurredAt, Source: synclayer.CompanySource}
	return &co.ID, nil
}
