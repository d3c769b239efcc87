package store

import (
	"context"
	"encoding/json"
	"fmt"
	"time"
	"unicode/utf8"

	"github.com/oklog/ulid/v2"

	"synclayer"
)

var (
	_ synclayer.CompanyTx    = (*Tx)(nil)
	_ synclayer.CompanyStore = (*DB)(nil)
)

func decodeCompany(id, data string) (*synclayer.Company, error) {
	co := &synclayer.Company{}
	if err := json.Unmarshal([]byte(data), co); err != nil {
		return nil, fmt.Errorf("decode company %s: %w", id, err)
	}
	co.ID = id
	return co, nil
}

// FindCompanyByKey returns the company with that key, or ENOTFOUND.
func (t *Tx) FindCompanyByKey(ctx context.Context, key string) (*synclayer.Company, error) {
	var id, data string
	err := t.tx.QueryRowContext(ctx, t.s.q("SELECT id, data FROM companies WHERE name_key = ?"), key).Scan(&id, &data)
	if isNoRows(err) {
		return nil, notFound("company")
	}
	if err != nil {
		return nil, fmt.Errorf("find company: %w", err)
	}
	return decodeCompany(id, data)
}

// SaveCompany inserts or updates co and bumps its version.
func (t *Tx) SaveCompany(ctx context.Context, co *synclayer.Company) error {
	if co.ID == "" {
		co.ID = "co_" + ulid.Make().String()
	}
	co.Version++
	data, err := json.Marshal(co)
	if err != nil {
		return fmt.Errorf("encode company: %w", err)
	}
	_, err = t.exec(ctx, `INSERT INTO companies (id, name_key, data, version, updated_at) VALUES (?, ?, ?, ?, ?)
		ON CONFLICT (id) DO UPDATE SET name_key = excluded.name_key, data = excluded.data,
			version = excluded.version, updated_at = excluded.updated_at`,
		co.ID, co.Key, string(data), co.Version, micros(co.UpdatedAt))
	if err != nil {
		return fmt.Errorf("save company: %w", err)
	}
	return nil
}

// SetContactCompany links the contact to the company, or unlinks it.
func (t *Tx) SetContactCompany(ctx context.Context, contactID, companyID string) error {
	var err error
	if companyID == "" {
		_, err = t.exec(ctx, "DELETE FROM company_contacts WHERE contact_id = ?", contactID)
	} else {
		_, err = t.exec(ctx, `INSERT INTO company_contacts (contact_id, company_id, linked_at) VALUES (?, ?, ?)
			ON CONFLICT (contact_id) DO UPDATE SET company_id = excluded.company_id, linked_at = excluded.linked_at`,
			contactID, companyID, micros(time.Now()))
	}
	if err != nil {
		return fmt.Errorf("link contact to company: %w", err)
	}
	return nil
}

// FindCompany returns the company, or ENOTFOUND.
func (s *DB) FindCompany(ctx context.Context, id string) (*synclayer.Company, error) {
	var data string
	err := s.db.QueryRowContext(ctx, s.q("SELECT data FROM companies WHERE id = ?"), id).Scan(&data)
	if isNoRows(err) {
		return nil, notFound("company " + id)
	}
	if err != nil {
		return nil, fmt.Errorf("find company: %w", err)
	}
	return decodeCompany(id, data)
}

// FindCompanies returns the companies whose key starts with the prefix's
// key, by key.
func (s *DB) FindCompanies(ctx context.Context, prefix string, limit int) ([]*synclayer.Company, error) {
	if limit <= 0 {
		limit = 100
	}
	key := synclayer.CompanyKey(prefix)
	// substr rather than LIKE, whose escaping and case rules differ
	// between the dialects; both count characters.
	rows, err := s.db.QueryContext(ctx, s.q("SELECT id, data FROM companies WHERE substr(name_key, 1, ?) = ? ORDER BY name_key LIMIT ?"),
		utf8.RuneCountInString(key), key, limit)
	if err != nil {
		return nil, fmt.Errorf("find companies: %w", err)
	}
	defer rows.Close()
	var out []*synclayer.Company
	for rows.Next() {
		var id, data string
		if err := rows.Scan(&id, &data); err != nil {
			return nil, fmt.Errorf("find companies: %w", err)
		}
		co, err := decodeCompany(id, data)
		if err != nil {
			return nil, err
		}
		out = append(out, co)
	}
	return out, rows.Err()
}

// FindCompanyContacts returns the IDs of the company's contacts.
func (s *DB) FindCompanyContacts(ctx context.Context, companyID string, limit int) ([]string, error) {
	if limit <= 0 {
		limit = 100
	}
	rows, err := s.db.QueryContext(ctx, s.q("SELECT contact_id FROM company_contacts WHERE company_id = ? ORDER BY linked_at, contact_id LIMIT ?"), companyID, limit)
	if err != nil {
		return nil, fmt.Errorf("find company contacts: %w", err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			return nil, fmt.Errorf("find company contacts: %w", err)
		}
		out = append(out, id)
	}
	return out, rows.Err()
}
