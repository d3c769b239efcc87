package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"slices"
	"strings"

	"github.com/oklog/ulid/v2"

	"synclayer"
)

const contactColumns = "id, data"

func scanContact(row interface{ Scan(...any) error }) (*synclayer.Contact, error) {
	var id string
	var data []byte
	if err := row.Scan(&id, &data); err != nil {
		return nil, err
	}
	return decodeContact(id, data)
}

func decodeContact(id string, data []byte) (*synclayer.Contact, error) {
	c := &synclayer.Contact{}
	if err := json.Unmarshal(data, c); err != nil {
		return nil, fmt.Errorf("decode contact %s: %w", id, err)
	}
	c.ID = id
	return c, nil
}

// findContact reads one contact, in tx or, with tx nil, outside one.
func (s *DB) findContact(ctx context.Context, tx *sql.Tx, where string, args ...any) (*synclayer.Contact, error) {
	c, err := scanContact(s.queryRowTx(ctx, tx, "SELECT "+contactColumns+" FROM contacts WHERE "+where, args...))
	if isNoRows(err) {
		return nil, notFound("contact")
	}
	if err != nil {
		return nil, fmt.Errorf("find contact: %w", err)
	}
	return c, nil
}

type querier interface {
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
}

// FindContactByID returns the contact, or ENOTFOUND.
func (s *DB) FindContactByID(ctx context.Context, id string) (*synclayer.Contact, error) {
	return s.findContact(ctx, nil, "id = ?", id)
}

// FindContacts returns contacts matching f, newest first.
func (s *DB) FindContacts(ctx context.Context, f synclayer.ContactFilter) ([]*synclayer.Contact, error) {
	where, args := "1 = 1", []any{}
	if f.Email != "" {
		where, args = where+" AND email = ? AND email <> ''", append(args, f.Email)
	}
	if f.Phone != "" {
		where, args = where+" AND phone = ? AND phone <> ''", append(args, f.Phone)
	}
	limit := f.Limit
	if limit <= 0 || limit > 1000 {
		limit = 100
	}
	rows, err := s.db.QueryContext(ctx, s.q("SELECT "+contactColumns+" FROM contacts WHERE "+where+" ORDER BY updated_at DESC LIMIT ?"), append(args, limit)...)
	if err != nil {
		return nil, fmt.Errorf("find contacts: %w", err)
	}
	return scanContacts(rows)
}

// SearchContacts finds contacts whose email, or first and last name as
// "first last", holds query, ignoring case; % and _ in query match
// themselves. Most recently changed first, at most limit (1 to 200, else
// 50) from offset. A substring cannot use an index: it reads the table,
// until limit rows match.
func (s *DB) SearchContacts(ctx context.Context, query string, limit, offset int) ([]*synclayer.Contact, error) {
	if limit <= 0 || limit > 200 {
		limit = 50
	}
	pattern := "%" + likeEscaper.Replace(strings.ToLower(strings.TrimSpace(query))) + "%"
	name := s.dialect.contactField(synclayer.FieldFirstName) + " || ' ' || " + s.dialect.contactField(synclayer.FieldLastName)
	rows, err := s.db.QueryContext(ctx, s.q("SELECT "+contactColumns+" FROM contacts WHERE "+
		s.dialect.containsCI("email")+" OR "+s.dialect.containsCI(name)+
		" ORDER BY updated_at DESC, id DESC LIMIT ? OFFSET ?"), pattern, pattern, limit, max(offset, 0))
	if err != nil {
		return nil, fmt.Errorf("search contacts: %w", err)
	}
	return scanContacts(rows)
}

// scanContacts reads every contact row and closes rows.
func scanContacts(rows *sql.Rows) ([]*synclayer.Contact, error) {
	defer rows.Close()
	var out []*synclayer.Contact
	for rows.Next() {
		c, err := scanContact(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, c)
	}
	return out, rows.Err()
}

// likeEscaper makes a user's text match itself in a LIKE pattern whose
// escape is \.
var likeEscaper = strings.NewReplacer(`\`, `\\`, "%", `\%`, "_", `\_`)

// Lock takes a transaction-scoped lock on each key, in sorted order so that
// two transactions never deadlock on each other.
func (t *Tx) Lock(ctx context.Context, keys ...string) error {
	keys = slices.Clone(keys)
	slices.Sort(keys)
	return t.s.dialect.lockKeys(ctx, t.tx, slices.Compact(keys))
}

// FindContactBySourceID returns the contact a source knows by id, or ENOTFOUND.
func (t *Tx) FindContactBySourceID(ctx context.Context, source, id string) (*synclayer.Contact, error) {
	return t.s.findContact(ctx, t.tx, "id = (SELECT contact_id FROM contact_source_ids WHERE source = ? AND source_id = ?)", source, id)
}

// FindContactByEmail returns the oldest live contact with the email, or
// ENOTFOUND. Deleted contacts are matched only when no live one exists.
func (t *Tx) FindContactByEmail(ctx context.Context, email string) (*synclayer.Contact, error) {
	// "email <> ''" lets SQLite and PostgreSQL's generic plans use the
	// partial index, which leaves out contacts without an email.
	return t.s.findContact(ctx, t.tx, "email = ? AND email <> '' ORDER BY deleted, created_at LIMIT 1", email)
}

// FindContactByPhone returns the oldest live contact with the phone, or ENOTFOUND.
func (t *Tx) FindContactByPhone(ctx context.Context, phone string) (*synclayer.Contact, error) {
	return t.s.findContact(ctx, t.tx, "phone = ? AND phone <> '' ORDER BY deleted, created_at LIMIT 1", phone)
}

// FindContactsByIdentity reads the matches of a source ID, an email and a
// phone in one statement: each branch is the query of its own find.
func (t *Tx) FindContactsByIdentity(ctx context.Context, source, sourceID, email, phone string) (bySource, byEmail, byPhone *synclayer.Contact, err error) {
	if sourceID == "" {
		source = "" // matches no row: the branch is skipped
	}
	rows, err := t.s.queryTx(ctx, t.tx, `SELECT 1, `+contactColumns+` FROM contacts
			WHERE ? <> '' AND id = (SELECT contact_id FROM contact_source_ids WHERE source = ? AND source_id = ?)
		UNION ALL SELECT 2, `+contactColumns+` FROM (SELECT `+contactColumns+` FROM contacts WHERE email = ? AND email <> '' ORDER BY deleted, created_at LIMIT 1) e
		UNION ALL SELECT 3, `+contactColumns+` FROM (SELECT `+contactColumns+` FROM contacts WHERE phone = ? AND phone <> '' ORDER BY deleted, created_at LIMIT 1) p`,
		sourceID, source, sourceID, email, phone)
	if err != nil {
		return nil, nil, nil, fmt.Errorf("find contacts by identity: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var branch int
		var id string
		var data []byte
		if err := rows.Scan(&branch, &id, &data); err != nil {
			return nil, nil, nil, fmt.Errorf("find contacts by identity: %w", err)
		}
		c := &synclayer.Contact{}
		if err := json.Unmarshal(data, c); err != nil {
			return nil, nil, nil, fmt.Errorf("decode contact %s: %w", id, err)
		}
		c.ID = id
		switch branch {
		case 1:
			bySource = c
		case 2:
			byEmail = c
		case 3:
			byPhone = c
		}
	}
	if err := rows.Err(); err != nil {
		return nil, nil, nil, fmt.Errorf("find contacts by identity: %w", err)
	}
	return bySource, byEmail, byPhone, nil
}

// SaveContact inserts c when it has no ID, assigning a stable "ct_" ID, and
// updates it otherwise. Its source IDs are recorded for identity resolution.
func (t *Tx) SaveContact(ctx context.Context, c *synclayer.Contact) error {
	insert := c.ID == ""
	if insert {
		c.ID = "ct_" + ulid.Make().String()
		c.CreatedAt = c.UpdatedAt
	}
	c.Version++
	data, err := json.Marshal(c)
	if err != nil {
		return fmt.Errorf("encode contact: %w", err)
	}
	if insert {
		_, err = t.exec(ctx, "INSERT INTO contacts (id, email, phone, deleted, data, version, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
			c.ID, c.Email, c.Phone, boolInt(c.Deleted), string(data), c.Version, micros(c.CreatedAt), micros(c.UpdatedAt))
	} else {
		_, err = t.exec(ctx, "UPDATE contacts SET email = ?, phone = ?, deleted = ?, data = ?, version = ?, updated_at = ? WHERE id = ?",
			c.Email, c.Phone, boolInt(c.Deleted), string(data), c.Version, micros(c.UpdatedAt), c.ID)
	}
	if err != nil {
		return fmt.Errorf("save contact: %w", err)
	}
	for source, id := range c.SourceIDs {
		_, err := t.exec(ctx, "INSERT INTO contact_source_ids (source, source_id, contact_id) VALUES (?, ?, ?) ON CONFLICT (source, source_id) DO UPDATE SET contact_id = excluded.contact_id", source, id, c.ID)
		if err != nil {
			return fmt.Errorf("save contact source id: %w", err)
		}
	}
	return nil
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}

// FindContactForDelivery reads the contact and its sync state at
// destination with one statement.
func (s *DB) FindContactForDelivery(ctx context.Context, id, destination string) (*synclayer.Contact, *synclayer.SyncState, error) {
	var data []byte
	var remoteID, state sql.NullString
	var updated sql.NullInt64
	err := s.db.QueryRowContext(ctx, s.q(`SELECT c.data, st.remote_id, st.state, st.updated_at FROM contacts c
		LEFT JOIN sync_state st ON st.record_key = c.id AND st.destination = ? WHERE c.id = ?`), destination, id).
		Scan(&data, &remoteID, &state, &updated)
	if isNoRows(err) {
		return nil, nil, notFound("contact")
	}
	if err != nil {
		return nil, nil, fmt.Errorf("find contact: %w", err)
	}
	c, err := decodeContact(id, data)
	if err != nil {
		return nil, nil, err
	}
	if !state.Valid {
		return c, nil, nil
	}
	return c, &synclayer.SyncState{RecordKey: id, Destination: destination, RemoteID: remoteID.String,
		State: json.RawMessage(state.String), UpdatedAt: fromMicros(updated.Int64)}, nil
}
