package store

import (
	"context"
	"encoding/json"
	"fmt"

	"synclayer"
)

var (
	_ synclayer.ProductStore = (*DB)(nil)
	_ synclayer.ProductTx    = (*Tx)(nil)
)

func (s *DB) findProducts(ctx context.Context, q querier, where string, args ...any) ([]*synclayer.Product, error) {
	rows, err := q.QueryContext(ctx, s.q("SELECT id, data FROM products WHERE "+where), args...)
	if err != nil {
		return nil, fmt.Errorf("find products: %w", err)
	}
	defer rows.Close()
	var out []*synclayer.Product
	for rows.Next() {
		var id, data string
		if err := rows.Scan(&id, &data); err != nil {
			return nil, err
		}
		p := &synclayer.Product{}
		if err := json.Unmarshal([]byte(data), p); err != nil {
			return nil, fmt.Errorf("decode product %s: %w", id, err)
		}
		p.ID = id
		out = append(out, p)
	}
	return out, rows.Err()
}

func (s *DB) findProduct(ctx context.Context, q querier, id string) (*synclayer.Product, error) {
	ps, err := s.findProducts(ctx, q, "id = ?", id)
	if err != nil {
		return nil, err
	}
	if len(ps) == 0 {
		return nil, notFound("product")
	}
	return ps[0], nil
}

func (s *DB) findCategory(ctx context.Context, q querier, id string) (*synclayer.Category, error) {
	var data string
	err := q.QueryRowContext(ctx, s.q("SELECT data FROM categories WHERE id = ?"), id).Scan(&data)
	if isNoRows(err) {
		return nil, notFound("category")
	}
	if err != nil {
		return nil, fmt.Errorf("find category: %w", err)
	}
	c := &synclayer.Category{}
	if err := json.Unmarshal([]byte(data), c); err != nil {
		return nil, fmt.Errorf("decode category %s: %w", id, err)
	}
	c.ID = id
	return c, nil
}

// FindProductByID returns the product, or ENOTFOUND.
func (s *DB) FindProductByID(ctx context.Context, id string) (*synclayer.Product, error) {
	return s.findProduct(ctx, s.db, id)
}

// FindCategoryByID returns the category, or ENOTFOUND.
func (s *DB) FindCategoryByID(ctx context.Context, id string) (*synclayer.Category, error) {
	return s.findCategory(ctx, s.db, id)
}

// FindProductByID returns the product, or ENOTFOUND.
func (t *Tx) FindProductByID(ctx context.Context, id string) (*synclayer.Product, error) {
	return t.s.findProduct(ctx, t.tx, id)
}

// FindProductVariants returns the variants of parentID, by ID.
func (t *Tx) FindProductVariants(ctx context.Context, parentID string) ([]*synclayer.Product, error) {
	if parentID == "" {
		return nil, nil
	}
	return t.s.findProducts(ctx, t.tx, "parent_id = ? AND parent_id <> '' ORDER BY id", parentID)
}

// SaveProduct inserts or updates p and bumps its version.
func (t *Tx) SaveProduct(ctx context.Context, p *synclayer.Product) error {
	p.Version++
	data, err := json.Marshal(p)
	if err != nil {
		return fmt.Errorf("encode product: %w", err)
	}
	_, err = t.exec(ctx, `INSERT INTO products (id, parent_id, data, version, updated_at) VALUES (?, ?, ?, ?, ?)
		ON CONFLICT (id) DO UPDATE SET parent_id = excluded.parent_id, data = excluded.data, version = excluded.version, updated_at = excluded.updated_at`,
		p.ID, p.ParentID, string(data), p.Version, micros(p.UpdatedAt))
	if err != nil {
		return fmt.Errorf("save product: %w", err)
	}
	return nil
}

// FindCategoryByID returns the category, or ENOTFOUND.
func (t *Tx) FindCategoryByID(ctx context.Context, id string) (*synclayer.Category, error) {
	return t.s.findCategory(ctx, t.tx, id)
}

// SaveCategory inserts or updates c and bumps its version.
func (t *Tx) SaveCategory(ctx context.Context, c *synclayer.Category) error {
	c.Version++
	data, err := json.Marshal(c)
	if err != nil {
		return fmt.Errorf("encode category: %w", err)
	}
	_, err = t.exec(ctx, `INSERT INTO categories (id, data, version, updated_at) VALUES (?, ?, ?, ?)
		ON CONFLICT (id) DO UPDATE SET data = excluded.data, version = excluded.version, updated_at = excluded.updated_at`,
		c.ID, string(data), c.Version, micros(c.UpdatedAt))
	if err != nil {
		return fmt.Errorf("save category: %w", err)
	}
	return nil
}
