package hubspotsim

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net/http"
	"net/url"
	"time"
)

// DefaultTokenLifetime is an OAuth access token's lifetime on HubSpot: 30
// minutes (expires_in 1800).
const DefaultTokenLifetime = 30 * time.Minute

// OAuthApp is the OAuth app the simulator's account has installed: the
// token endpoint POST /oauth/v3/token (form-encoded grant_type
// refresh_token, client_id, client_secret, refresh_token) hands out
// access tokens valid for TokenLifetime, and API calls accept them until
// they expire.
type OAuthApp struct {
	ClientID, ClientSecret string
	// RefreshToken is the grant the install gave; more can be added with
	// Server.AddRefreshToken.
	RefreshToken  string
	TokenLifetime time.Duration // zero: DefaultTokenLifetime
	// RotateRefreshTokens makes each refresh answer a new refresh token
	// and revoke the one used. HubSpot's documentation does not describe
	// rotation (the answer carries the refresh token, which stays the
	// same), so the default keeps it; the client must cope with both.
	RotateRefreshTokens bool
}

type oauthState struct {
	app     OAuthApp
	grants  map[string]bool      // refresh token → live
	issued  map[string]time.Time // access token → expiry
	refresh int                  // token requests answered 200
}

// newToken returns a random token with a recognizable prefix.
func newToken(prefix string) string {
	b := make([]byte, 18)
	rand.Read(b)
	return prefix + hex.EncodeToString(b)
}

// AddRefreshToken makes rt a live grant of the app.
func (s *Server) AddRefreshToken(rt string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.oauth != nil {
		s.oauth.grants[rt] = true
	}
}

// Revoke revokes the refresh token rt, as an uninstall of the app or a
// DELETE of the token would: refreshes with it get 400 BAD_REFRESH_TOKEN.
// Access tokens it issued stay valid until they expire, as HubSpot
// documents for a deleted refresh token.
func (s *Server) Revoke(rt string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.oauth != nil {
		s.oauth.grants[rt] = false
	}
}

// RefreshTokens returns the refresh tokens that are live now.
func (s *Server) RefreshTokens() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []string
	if s.oauth != nil {
		for rt, live := range s.oauth.grants {
			if live {
				out = append(out, rt)
			}
		}
	}
	return out
}

// TokenRefreshes is how many refreshes the token endpoint granted.
func (s *Server) TokenRefreshes() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.oauth == nil {
		return 0
	}
	return s.oauth.refresh
}

// ExpireAccessTokens makes every access token issued so far expired now,
// as if their 30 minutes had passed.
func (s *Server) ExpireAccessTokens() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.oauth != nil {
		past := s.now().Add(-time.Second)
		for t := range s.oauth.issued {
			s.oauth.issued[t] = past
		}
	}
}

// SetTokenLifetime changes the lifetime of access tokens issued from now
// on (zero: DefaultTokenLifetime).
func (s *Server) SetTokenLifetime(d time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.oauth != nil {
		s.oauth.app.TokenLifetime = d
	}
}

// checkAccessToken answers whether tok is an unexpired OAuth access token;
// for an expired one it writes HubSpot's 401 EXPIRED_AUTHENTICATION.
func (s *Server) checkAccessToken(w http.ResponseWriter, tok string) (known, ok bool) {
	s.mu.Lock()
	var exp time.Time
	if s.oauth != nil {
		exp, known = s.oauth.issued[tok]
	}
	now := s.now()
	s.mu.Unlock()
	if !known {
		return false, false
	}
	if !now.Before(exp) {
		ago := max(int(now.Sub(exp).Minutes()), 0)
		writeError(w, http.StatusUnauthorized, "EXPIRED_AUTHENTICATION", fmt.Sprintf("The OAuth token used to make this call expired %d minute(s) ago.", ago), nil)
		return true, false
	}
	return true, true
}

// tokenAnswer is the v3 spec's AccessTokenResponse.
type tokenAnswer struct {
	AccessToken  string   `json:"access_token"`
	RefreshToken string   `json:"refresh_token"`
	ExpiresIn    int      `json:"expires_in"`
	TokenType    string   `json:"token_type"`
	TokenUse     string   `json:"token_use"`
	HubID        int      `json:"hub_id"`
	Scopes       []string `json:"scopes"`
}

// HubID is the simulated account's ID.
const HubID = 24681357

// handleToken is POST /oauth/v3/token. Unknown client credentials get 400
// BAD_CLIENT_ID or BAD_CLIENT_SECRET; an unknown or revoked refresh token
// 400 BAD_REFRESH_TOKEN "missing or invalid refresh token".
func (s *Server) handleToken(w http.ResponseWriter, r *http.Request, body []byte) {
	form, err := url.ParseQuery(string(body))
	if err != nil || r.Header.Get("Content-Type") != "application/x-www-form-urlencoded" {
		writeOAuthError(w, "VALIDATION_ERROR", "the request body must be application/x-www-form-urlencoded")
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	o := s.oauth
	switch {
	case form.Get("grant_type") != "refresh_token":
		writeOAuthError(w, "BAD_GRANT_TYPE", "the simulator grants only grant_type=refresh_token")
	case form.Get("client_id") != o.app.ClientID:
		writeOAuthError(w, "BAD_CLIENT_ID", "missing or unknown client id")
	case form.Get("client_secret") != o.app.ClientSecret:
		writeOAuthError(w, "BAD_CLIENT_SECRET", "missing or invalid client secret")
	case !o.grants[form.Get("refresh_token")]:
		writeOAuthError(w, "BAD_REFRESH_TOKEN", "missing or invalid refresh token")
	default:
		rt := form.Get("refresh_token")
		if o.app.RotateRefreshTokens {
			o.grants[rt] = false
			rt = newToken("sim-rt-")
			o.grants[rt] = true
		}
		life := o.app.TokenLifetime
		if life <= 0 {
			life = DefaultTokenLifetime
		}
		at := newToken("sim-at-")
		o.issued[at] = s.now().Add(life)
		o.refresh++
		writeJSON(w, http.StatusOK, tokenAnswer{AccessToken: at, RefreshToken: rt, ExpiresIn: int(life / time.Second), TokenType: "bearer",
			TokenUse: "access_token", HubID: HubID, Scopes: []string{"crm.objects.contacts.write", "crm.schemas.contacts.write", "communication_preferences.write"}})
	}
}

// writeOAuthError is the token endpoint's 400: status names the problem
// (BAD_REFRESH_TOKEN, ...) as HubSpot's OAuth answers do, with the
// category and correlationId the v3 spec's Error requires.
func writeOAuthError(w http.ResponseWriter, status, message string) {
	writeJSON(w, http.StatusBadRequest, Error{Status: status, Message: message, CorrelationID: correlationID(), Category: "VALIDATION_ERROR"})
}
