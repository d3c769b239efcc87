package woocommerce

import (
	"encoding/json"
	"fmt"
	"time"

	"synclayer"
	"synclayer/normalize"
)

// parseProduct reads a REST product (or variation) resource, or the
// {"id": N} of a delete. A variation is a product of its own whose
// parent_id names its product; a trashed product is a delete. Only what
// the product sync sends is read, so an edit to anything else (the
// description, a meta field) changes nothing.
func parseProduct(obj map[string]json.RawMessage, deleted bool) (*synclayer.ProductChange, string, time.Time, error) {
	id, err := requiredID(obj)
	if err != nil {
		return nil, "", time.Time{}, err
	}
	ch := &synclayer.ProductChange{SourceID: id}
	status, err := normalize.String("status", obj["status"])
	if err != nil {
		return nil, "", time.Time{}, err
	}
	if deleted {
		ch.Delete = true
		return ch, "", time.Time{}, nil
	}
	p := &synclayer.Product{SourceID: id}
	if p.Name, err = normalize.String("name", obj["name"]); err != nil {
		return nil, "", time.Time{}, err
	}
	if p.URL, err = normalize.String("permalink", obj["permalink"]); err != nil {
		return nil, "", time.Time{}, err
	}
	if p.SKU, err = normalize.String("sku", obj["sku"]); err != nil {
		return nil, "", time.Time{}, err
	}
	if p.Price, err = normalize.Money("price", obj["price"]); err != nil {
		return nil, "", time.Time{}, err
	}
	if n, ok, err := normalize.Int64("stock_quantity", obj["stock_quantity"]); err != nil {
		return nil, "", time.Time{}, err
	} else if ok {
		p.Stock = &n
	}
	if parent, err := normalize.ID("parent_id", obj["parent_id"]); err != nil {
		return nil, "", time.Time{}, err
	} else if parent != "0" {
		p.ParentID = parent
	}
	modified, err := normalize.String("date_modified_gmt", obj["date_modified_gmt"])
	if err != nil {
		return nil, "", time.Time{}, err
	}
	for _, name := range []string{"date_modified_gmt", "date_created_gmt"} {
		if _, p.UpdatedAt, err = normalize.Date(name, obj[name]); err != nil {
			return nil, "", time.Time{}, err
		}
		if !p.UpdatedAt.IsZero() {
			break
		}
	}
	if p.ImageURL, err = firstImage(obj); err != nil {
		return nil, "", time.Time{}, err
	}
	cats, err := normalize.Array("categories", obj["categories"])
	if err != nil {
		return nil, "", time.Time{}, err
	}
	for i, raw := range cats {
		path := fmt.Sprintf("categories[%d]", i)
		c, err := normalize.Object(path, raw)
		if err != nil {
			return nil, "", time.Time{}, err
		}
		cid, err := normalize.ID(path+".id", c["id"])
		if err != nil {
			return nil, "", time.Time{}, err
		}
		name, err := normalize.String(path+".name", c["name"])
		if err != nil {
			return nil, "", time.Time{}, err
		}
		if cid == "" {
			return nil, "", time.Time{}, synclayer.FieldErrorf(path+".id", "missing; a category has an id")
		}
		ch.Categories = append(ch.Categories, synclayer.Category{ID: cid, Name: name, UpdatedAt: p.UpdatedAt})
		p.Categories = append(p.Categories, cid)
	}
	if status == "trash" {
		p.Deleted, p.DeletedAt = true, p.UpdatedAt
	}
	ch.Product = p
	return ch, modified, p.UpdatedAt, nil
}

// firstImage returns the src of images[0], or of a variation's image.
func firstImage(obj map[string]json.RawMessage) (string, error) {
	if raw, ok := obj["image"]; ok && !normalize.IsNull(raw) {
		img, err := normalize.Object("image", raw)
		if err != nil {
			return "", err
		}
		return normalize.String("image.src", img["src"])
	}
	images, err := normalize.Array("images", obj["images"])
	if err != nil || len(images) == 0 {
		return "", err
	}
	img, err := normalize.Object("images[0]", images[0])
	if err != nil {
		return "", err
	}
	return normalize.String("images[0].src", img["src"])
}
