package klaviyo

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"

	"synclayer"
)

// Apply makes the plan's catalog write and returns the trace line. A
// create Klaviyo answers 409 (the record exists: an earlier answer was
// lost, or someone made it in Klaviyo) is sent again as an update; an
// update Klaviyo answers 404 (deleted inside Klaviyo) as a create; a
// delete of something already gone succeeds.
func (s *ProductSync) Apply(ctx context.Context, p *synclayer.Plan) (string, error) {
	if p.Op == synclayer.PlanNone {
		return "klaviyo: no call (" + p.Reason + ")", nil
	}
	d, ok := p.Detail.(*catalogDetail)
	if !ok {
		return "", errors.New("klaviyo: the catalog plan was not made by this destination")
	}
	var parts []string
	if d.Remove != nil {
		msg, err := s.write(ctx, http.MethodDelete, d.Remove)
		if err != nil {
			return "", err
		}
		parts = append(parts, msg)
	}
	msg, err := s.write(ctx, d.Method, &d.Write)
	if err != nil {
		return "", err
	}
	return "klaviyo: " + strings.Join(append(parts, msg), "; "), nil
}

// write sends one catalog write, with the fallbacks Apply describes.
func (s *ProductSync) write(ctx context.Context, method string, st *catalogState) (string, error) {
	route := st.collection()
	send := func(m string) error {
		cl := s.client
		switch {
		case st.Item != nil && m == http.MethodPost:
			return cl.CreateCatalogItem(ctx, *st.Item)
		case st.Item != nil && m == http.MethodPatch:
			return cl.UpdateCatalogItem(ctx, *st.Item)
		case st.Item != nil:
			return cl.DeleteCatalogItem(ctx, st.Item.ExternalID)
		case st.Variant != nil && m == http.MethodPost:
			return cl.CreateCatalogVariant(ctx, *st.Variant)
		case st.Variant != nil && m == http.MethodPatch:
			return cl.UpdateCatalogVariant(ctx, *st.Variant)
		case st.Variant != nil:
			return cl.DeleteCatalogVariant(ctx, st.Variant.ExternalID)
		case st.Category != nil && m == http.MethodPost:
			return cl.CreateCatalogCategory(ctx, *st.Category)
		case st.Category != nil && m == http.MethodPatch:
			return cl.UpdateCatalogCategory(ctx, *st.Category)
		case st.Category != nil:
			return cl.DeleteCatalogCategory(ctx, st.Category.ExternalID)
		}
		return errors.New("klaviyo: empty catalog write")
	}
	err := send(method)
	var ra *synclayer.RetryAfterError
	switch {
	case errors.As(err, &ra):
		return "", err // a related resource is missing: no fallback helps
	case err == nil && method == http.MethodPost:
		return fmt.Sprintf("POST %s → 201 created", route), nil
	case err == nil && method == http.MethodPatch:
		return fmt.Sprintf("PATCH %s/{id} → 200 updated", route), nil
	case err == nil:
		return fmt.Sprintf("DELETE %s/{id} → 204 deleted", route), nil
	case method == http.MethodPost && IsConflict(err):
		if err := send(http.MethodPatch); err != nil {
			return "", err
		}
		return fmt.Sprintf("POST %s → 409 exists; PATCH %s/{id} → 200 updated", route, route), nil
	case method == http.MethodPatch && IsNotFound(err):
		if err := send(http.MethodPost); err != nil {
			return "", err
		}
		return fmt.Sprintf("PATCH %s/{id} → 404 gone from Klaviyo; POST %s → 201 created", route, route), nil
	case method == http.MethodDelete && IsNotFound(err):
		return fmt.Sprintf("DELETE %s/{id} → 404, already gone", route), nil
	}
	return "", err
}
