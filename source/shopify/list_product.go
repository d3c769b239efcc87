package shopify

import (
	"encoding/json"
	"fmt"
	"time"

	"synclayer"
	"synclayer/normalize"
)

// productVariants is how many variants a product page reads of each
// product: the 100 Shopify allowed a product until 2024, which a product
// webhook carries. A product with more is reported Failed, not synced
// short: its product has AllVariants set, which would remove the rest.
const productVariants = 100

const (
	productsOp    = "products"
	productsQuery = `query products($first: Int, $after: String, $query: String, $sortKey: ProductSortKeys, $variants: Int) {
  products(first: $first, after: $after, query: $query, sortKey: $sortKey) {
    edges { node {
      id legacyResourceId title handle productType createdAt updatedAt
      featuredImage { id url }
      variants(first: $variants) {
        edges { node { legacyResourceId title sku price inventoryQuantity updatedAt image { id url } } }
        pageInfo { hasNextPage }
      }
    } }
    pageInfo { hasNextPage endCursor }
  }
}`
)

// productListing pages products: a product costs 2 points for itself and
// its image and 2 + 2 a variant for its variants (204 points), 4 to a page.
var productListing = listing{kind: synclayer.ListProducts, op: productsOp, query: productsQuery,
	perNode: 2 + (2 + productVariants*2), page: 4, convert: convertProduct,
	vars: map[string]any{"variants": productVariants}}

// convertProduct turns a Product node into the event of its
// products/update webhook through parseProduct, with the shop's
// myshopify.com domain for the storefront URL, as the webhook's
// X-Shopify-Shop-Domain gives it.
func convertProduct(s *Source, raw json.RawMessage, now time.Time) (*synclayer.Event, error) {
	node, err := normalize.Object("node", raw)
	if err != nil {
		return nil, recordError("product", "", err)
	}
	id := legacyID(stringOf(node["id"]))
	obj, err := restProduct(node)
	if err != nil {
		return nil, recordError("product", id, err)
	}
	pc, at, err := parseProduct(obj, s.admin.shop)
	if err != nil {
		return nil, recordError("product", id, err)
	}
	if at.IsZero() {
		return nil, recordError("product", id, synclayer.FieldErrorf("updatedAt", "missing; a listed product has one"))
	}
	ev := listedEvent(synclayer.ListProducts, "products/update", at, pc.SourceID, raw, now)
	ev.Product = pc
	return ev, nil
}

// restProduct is the REST product payload of a Product node: the
// featured image is image, and each variant's image is in images, named
// by the variant's image_id.
func restProduct(node map[string]json.RawMessage) (map[string]json.RawMessage, error) {
	obj := map[string]json.RawMessage{}
	rename(obj, node, "legacyResourceId", "id", "title", "title", "handle", "handle", "productType", "product_type",
		"createdAt", "created_at", "updatedAt", "updated_at")
	if raw, ok := node["featuredImage"]; ok {
		src, err := member("featuredImage", raw, "url")
		if err != nil {
			return nil, err
		}
		obj["image"] = json.RawMessage("null")
		if !normalize.IsNull(raw) {
			obj["image"] = mustJSON(map[string]json.RawMessage{"src": src})
		}
	}
	variants, more, err := nodes("variants", node["variants"])
	if err != nil {
		return nil, err
	}
	if more {
		return nil, synclayer.FieldErrorf("variants", "the product has more than %d variants, more than a listing reads; its products/update webhook carries them", productVariants)
	}
	var vs, images []json.RawMessage
	for i, raw := range variants {
		path := fmt.Sprintf("variants[%d]", i)
		v, err := normalize.Object(path, raw)
		if err != nil {
			return nil, err
		}
		out := map[string]json.RawMessage{}
		rename(out, v, "legacyResourceId", "id", "title", "title", "sku", "sku", "price", "price",
			"inventoryQuantity", "inventory_quantity", "updatedAt", "updated_at")
		if img, ok := v["image"]; ok && !normalize.IsNull(img) {
			gid, err := member(path+".image", img, "id")
			if err != nil {
				return nil, err
			}
			src, _ := member(path+".image", img, "url")
			imageID := legacyID(stringOf(gid))
			out["image_id"] = mustJSON(imageID)
			images = append(images, mustJSON(map[string]json.RawMessage{"id": mustJSON(imageID), "src": src}))
		}
		vs = append(vs, mustJSON(out))
	}
	obj["variants"] = mustJSON(vs)
	obj["images"] = mustJSON(images)
	return obj, nil
}
