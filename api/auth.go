package api

import (
	"context"
	"net/http"
	"strings"
	"time"

	"synclayer"
)

// touchEvery limits how often a key's last use is written, so reads stay
// reads: on SQLite every write takes the one writer lock.
const touchEvery = time.Minute

type keyContext struct{}

// auth wraps h so it runs only for a live API key whose role allows need.
// The key is looked up in the store on every request, with no cache, so a
// revoked key stops working at the next request. A missing, unknown or
// revoked key is 401; a key whose role is too low is 403.
func (s *Server) auth(need synclayer.Role, h http.HandlerFunc) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		k, err := s.authenticate(r)
		if err != nil {
			if synclayer.ErrorCode(err) == synclayer.EUNAUTHORIZED {
				w.Header().Set("WWW-Authenticate", `Bearer realm="synclayer"`)
			}
			writeError(w, r, s.cfg.Logger, err)
			return
		}
		if !k.Role.Allows(need) {
			writeError(w, r, s.cfg.Logger, synclayer.Errorf(synclayer.EFORBIDDEN,
				"this API key has role %s; %s %s needs role %s or higher", k.Role, r.Method, r.URL.Path, need))
			return
		}
		h(w, r.WithContext(context.WithValue(r.Context(), keyContext{}, k)))
	})
}

func (s *Server) authenticate(r *http.Request) (*synclayer.APIKey, error) {
	scheme, secret, _ := strings.Cut(r.Header.Get("Authorization"), " ")
	secret = strings.TrimSpace(secret)
	if !strings.EqualFold(scheme, "Bearer") || secret == "" {
		return nil, synclayer.Errorf(synclayer.EUNAUTHORIZED,
			"send an API key as Authorization: Bearer KEY; create one with synclayer keys create --role viewer|operator|admin")
	}
	if s.cfg.Keys == nil {
		return nil, synclayer.Errorf(synclayer.EUNAUTHORIZED, "this server has no API key store")
	}
	k, err := s.cfg.Keys.FindKeyByHash(r.Context(), synclayer.HashKey(secret))
	if synclayer.ErrorCode(err) == synclayer.ENOTFOUND || (err == nil && k.Revoked()) {
		if err == nil {
			s.cfg.Logger.Info("revoked API key refused", "key", k.ID)
		}
		return nil, synclayer.Errorf(synclayer.EUNAUTHORIZED, "the API key is unknown or revoked; see synclayer keys list")
	}
	if err != nil {
		return nil, err
	}
	if now := s.cfg.Now(); now.Sub(k.LastUsedAt) >= touchEvery {
		if err := s.cfg.Keys.TouchKey(r.Context(), k.ID, now); err != nil {
			s.cfg.Logger.Warn("record API key use", "key", k.ID, "err", err)
		}
	}
	return k, nil
}

// actor names who made a change, for logs and the config history: the
// name of the request's API key, or its ID when it has none.
func actor(r *http.Request) string {
	if k, ok := r.Context().Value(keyContext{}).(*synclayer.APIKey); ok {
		if k.Name != "" {
			return k.Name
		}
		return k.ID
	}
	return ""
}
