package shopify

import (
	"encoding/json"
	"fmt"
	"net/url"
	"strings"
	"time"

	"synclayer"
	"synclayer/normalize"
)

// parseProduct reads a product resource with its variants. Each variant
// becomes a product of its own whose parent is the product; the product's
// price is its lowest variant price and its stock the sum of its
// variants' (when Shopify tracks them all). The product type, when set,
// is its category. The storefront URL is built from the shop's domain
// and the handle, since the payload has none. Only what the product sync
// sends is read, so a change to anything else changes nothing.
func parseProduct(obj map[string]json.RawMessage, shop string) (*synclayer.ProductChange, time.Time, error) {
	id, err := requiredID(obj, "id", "a product payload names the product's id")
	if err != nil {
		return nil, time.Time{}, err
	}
	p := &synclayer.Product{SourceID: id}
	if p.Name, err = normalize.String("title", obj["title"]); err != nil {
		return nil, time.Time{}, err
	}
	handle, err := normalize.String("handle", obj["handle"])
	if err != nil {
		return nil, time.Time{}, err
	}
	if handle != "" && shop != "" {
		p.URL = "https://" + shop + "/products/" + url.PathEscape(handle)
	}
	if p.ImageURL, err = imageSrc("image", obj["image"]); err != nil {
		return nil, time.Time{}, err
	}
	if _, p.UpdatedAt, err = normalize.Date("updated_at", obj["updated_at"]); err != nil {
		return nil, time.Time{}, err
	}
	if p.UpdatedAt.IsZero() {
		if _, p.UpdatedAt, err = normalize.Date("created_at", obj["created_at"]); err != nil {
			return nil, time.Time{}, err
		}
	}
	ch := &synclayer.ProductChange{SourceID: id, Product: p, AllVariants: true}
	productType, err := normalize.String("product_type", obj["product_type"])
	if err != nil {
		return nil, time.Time{}, err
	}
	if productType != "" {
		cat := synclayer.Category{ID: "type:" + productType, Name: productType, UpdatedAt: p.UpdatedAt}
		ch.Categories = []synclayer.Category{cat}
		p.Categories = []string{cat.ID}
	}
	images, err := variantImages(obj["images"])
	if err != nil {
		return nil, time.Time{}, err
	}
	variants, err := normalize.Array("variants", obj["variants"])
	if err != nil {
		return nil, time.Time{}, err
	}
	var stock int64
	tracked := len(variants) > 0
	for i, raw := range variants {
		path := fmt.Sprintf("variants[%d]", i)
		v, err := normalize.Object(path, raw)
		if err != nil {
			return nil, time.Time{}, err
		}
		vid, err := requiredID(v, path+".id", "a variant has an id")
		if err != nil {
			return nil, time.Time{}, err
		}
		vp := &synclayer.Product{SourceID: variantID(id, vid), ParentID: id, Name: p.Name, ImageURL: p.ImageURL,
			Categories: p.Categories, UpdatedAt: p.UpdatedAt}
		title, err := normalize.String(path+".title", v["title"])
		if err != nil {
			return nil, time.Time{}, err
		}
		if title != "" && title != "Default Title" {
			vp.Name = strings.TrimSpace(p.Name + " - " + title)
		}
		if p.URL != "" {
			vp.URL = p.URL + "?variant=" + url.QueryEscape(vid)
		}
		// A stock change may move only the variant's updated_at; the
		// product's price and stock follow its variants, so it does too.
		_, vat, err := normalize.Date(path+".updated_at", v["updated_at"])
		if err != nil {
			return nil, time.Time{}, err
		}
		if vat.After(vp.UpdatedAt) {
			vp.UpdatedAt = vat
		}
		if vp.SKU, err = normalize.String(path+".sku", v["sku"]); err != nil {
			return nil, time.Time{}, err
		}
		if vp.Price, err = normalize.Money(path+".price", v["price"]); err != nil {
			return nil, time.Time{}, err
		}
		n, ok, err := normalize.Int64(path+".inventory_quantity", v["inventory_quantity"])
		if err != nil {
			return nil, time.Time{}, err
		}
		if ok {
			vp.Stock = &n
			stock += n
		} else {
			tracked = false
		}
		imageID, err := normalize.ID(path+".image_id", v["image_id"])
		if err != nil {
			return nil, time.Time{}, err
		}
		if src := images[imageID]; src != "" {
			vp.ImageURL = src
		}
		if !vp.Price.IsZero() && (p.Price.IsZero() || vp.Price.Cmp(p.Price) < 0) {
			p.Price = vp.Price
		}
		ch.Variants = append(ch.Variants, vp)
	}
	if tracked {
		p.Stock = &stock
	}
	for _, vp := range ch.Variants {
		if vp.UpdatedAt.After(p.UpdatedAt) {
			p.UpdatedAt = vp.UpdatedAt
		}
	}
	for i := range ch.Categories {
		ch.Categories[i].UpdatedAt = p.UpdatedAt
	}
	if len(ch.Variants) == 1 {
		p.SKU = ch.Variants[0].SKU
	}
	return ch, p.UpdatedAt, nil
}

// imageSrc reads the src of an image object; null is "".
func imageSrc(field string, raw json.RawMessage) (string, error) {
	if normalize.IsNull(raw) {
		return "", nil
	}
	img, err := normalize.Object(field, raw)
	if err != nil {
		return "", err
	}
	return normalize.String(field+".src", img["src"])
}

// variantImages maps each image ID in images[] to its src.
func variantImages(raw json.RawMessage) (map[string]string, error) {
	items, err := normalize.Array("images", raw)
	if err != nil {
		return nil, err
	}
	out := map[string]string{}
	for i, item := range items {
		path := fmt.Sprintf("images[%d]", i)
		img, err := normalize.Object(path, item)
		if err != nil {
			return nil, err
		}
		id, err := normalize.ID(path+".id", img["id"])
		if err != nil {
			return nil, err
		}
		src, err := normalize.String(path+".src", img["src"])
		if err != nil {
			return nil, err
		}
		if id != "" {
			out[id] = src
		}
	}
	return out, nil
}

// parseProductDelete reads the {"id": ...} body of products/delete.
func parseProductDelete(obj map[string]json.RawMessage) (*synclayer.ProductChange, error) {
	id, err := requiredID(obj, "id", "a products/delete payload names the deleted product's id")
	if err != nil {
		return nil, err
	}
	return &synclayer.ProductChange{SourceID: id, Delete: true}, nil
}
