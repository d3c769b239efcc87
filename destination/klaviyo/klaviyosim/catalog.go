package klaviyosim

import (
	"encoding/json"
	"fmt"
	"maps"
	"net/http"
	"slices"
	"strings"
	"time"
)

// catalogPrefix starts every catalog ID: {integration}:::{catalog}:::,
// the only ones the spec supports.
const catalogPrefix = "$custom:::$default:::"

// CatalogItem is a catalog item: its ID, its attributes as sent (numbers
// as json.Number), and the IDs of its categories.
type CatalogItem struct {
	ID          string
	Attributes  map[string]any
	CategoryIDs []string
	Created     time.Time
	Updated     time.Time
}

// CatalogVariant is a variant of item ItemID.
type CatalogVariant struct {
	ID, ItemID string
	Attributes map[string]any
	Created    time.Time
	Updated    time.Time
}

// CatalogCategory is a catalog category.
type CatalogCategory struct {
	ID, Name string
	Created  time.Time
	Updated  time.Time
}

// catalogKinds are the resources' attributes after the spec's create
// queries (the update queries take the same ones but external_id,
// integration_type and catalog_type) and the ones a create requires.
var catalogKinds = map[string]struct{ attrs, required []string }{
	"catalog-item": {
		attrs:    []string{"external_id", "integration_type", "catalog_type", "title", "price", "description", "url", "image_full_url", "image_thumbnail_url", "images", "custom_metadata", "published"},
		required: []string{"external_id", "title", "description", "url"},
	},
	"catalog-variant": {
		attrs:    []string{"external_id", "integration_type", "catalog_type", "title", "description", "sku", "inventory_policy", "inventory_quantity", "price", "url", "image_full_url", "image_thumbnail_url", "images", "custom_metadata", "published"},
		required: []string{"external_id", "title", "description", "sku", "inventory_quantity", "price", "url"},
	},
	"catalog-category": {
		attrs:    []string{"external_id", "name", "integration_type", "catalog_type"},
		required: []string{"external_id", "name"},
	},
}

type catalogBody struct {
	Data struct {
		Type          string                     `json:"type"`
		ID            *string                    `json:"id"`
		Attributes    map[string]any             `json:"attributes"`
		Relationships map[string]json.RawMessage `json:"relationships"`
	} `json:"data"`
}

// parseCatalog reads a catalog write of resource typ. A create needs the
// required attributes (strings not blank, which is **assumed**), a
// supported integration and catalog type; an update names the path's ID
// and leaves out what only a create takes.
func parseCatalog(r *http.Request, typ string, create bool) (*catalogBody, *apiError) {
	var b catalogBody
	dec := json.NewDecoder(r.Body)
	dec.UseNumber()
	if err := dec.Decode(&b); err != nil || b.Data.Type != typ || b.Data.Attributes == nil {
		return nil, invalid("The body must be a "+typ+" resource with attributes.", "/data")
	}
	kind := catalogKinds[typ]
	for k := range b.Data.Attributes {
		createOnly := k == "external_id" || k == "integration_type" || k == "catalog_type"
		if !slices.Contains(kind.attrs, k) || (!create && createOnly) {
			return nil, invalid("'"+k+"' is not a valid field for the resource '"+typ+"'.", "/data/attributes/"+k)
		}
	}
	if !create {
		if b.Data.ID == nil || *b.Data.ID != r.PathValue("id") {
			return nil, &apiError{status: http.StatusConflict, code: "conflict", detail: "The body's id does not match the URL's.", pointer: "/data/id"}
		}
		return &b, nil
	}
	for _, k := range kind.required {
		v, ok := b.Data.Attributes[k]
		if s, isStr := v.(string); !ok || v == nil || isStr && strings.TrimSpace(s) == "" {
			return nil, invalid("'"+k+"' is a required field for the resource '"+typ+"'.", "/data/attributes/"+k)
		}
	}
	if v, ok := b.Data.Attributes["integration_type"]; ok && v != nil && v != "$custom" {
		return nil, invalid("Only the $custom integration type is supported.", "/data/attributes/integration_type")
	}
	if v, ok := b.Data.Attributes["catalog_type"]; ok && v != nil && v != "$default" {
		return nil, invalid("Only the $default catalog is supported.", "/data/attributes/catalog_type")
	}
	ext, _ := b.Data.Attributes["external_id"].(string)
	if strings.Contains(ext, ":::") {
		return nil, invalid("external_id cannot contain ':::'.", "/data/attributes/external_id")
	}
	return &b, nil
}

// relatedIDs reads relationships.<name>.data as a list (or one) of IDs
// of type typ that must exist in have; ok is false when name is absent.
func relatedIDs(b *catalogBody, name, typ string, exists func(string) bool) (ids []string, ok bool, e *apiError) {
	raw, ok := b.Data.Relationships[name]
	if !ok {
		return nil, false, nil
	}
	var rel struct {
		Data json.RawMessage `json:"data"`
	}
	type ref struct{ Type, ID string }
	var refs []ref
	if json.Unmarshal(raw, &rel) != nil {
		return nil, true, invalid("relationships."+name+" must be {\"data\": ...}.", "/data/relationships/"+name)
	}
	if err := json.Unmarshal(rel.Data, &refs); err != nil {
		var one ref
		if err := json.Unmarshal(rel.Data, &one); err != nil {
			return nil, true, invalid("relationships."+name+".data must hold resource identifiers.", "/data/relationships/"+name+"/data")
		}
		refs = []ref{one}
	}
	for i, x := range refs {
		ptr := fmt.Sprintf("/data/relationships/%s/data/%d/id", name, i)
		if x.Type != typ {
			return nil, true, invalid("The related resource must be a "+typ+".", ptr)
		}
		if !exists(x.ID) {
			// JSON:API: a request naming a related resource that does not
			// exist is a 404.
			return nil, true, &apiError{status: http.StatusNotFound, code: "not_found", detail: "A " + typ + " with id " + x.ID + " does not exist.", pointer: ptr}
		}
		ids = append(ids, x.ID)
	}
	return ids, true, nil
}

// merge applies an update's attributes: null clears.
func merge(dst map[string]any, src map[string]any) {
	for k, v := range src {
		if v == nil {
			delete(dst, k)
		} else {
			dst[k] = v
		}
	}
}

func (s *Server) catalogResource(typ, id string, attrs map[string]any, created, updated time.Time) map[string]any {
	a := maps.Clone(attrs)
	a["external_id"] = strings.TrimPrefix(id, catalogPrefix)
	delete(a, "integration_type")
	delete(a, "catalog_type")
	a["updated"] = timestamp(updated)
	if typ != "catalog-category" {
		a["created"] = timestamp(created)
	}
	self := "https://a.klaviyo.com/api/" + typ + "s/" + id
	o := map[string]any{"type": typ, "id": id, "attributes": a, "links": map[string]any{"self": self}}
	return map[string]any{"data": o, "links": map[string]any{"self": self}}
}
