package hubspot

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"synclayer"
)

// TokenPath is HubSpot's OAuth token endpoint. HubSpot's docs describe
// v3 as the current one and deprecate v1 (/oauth/v1/token) on 16 February
// 2027 (docs/platforms/hubspot.md#oauth).
const TokenPath = "/oauth/v3/token"

// OAuth configures a Client for an OAuth app's tokens instead of a
// private app's access token.
type OAuth struct {
	ClientID, ClientSecret string
	// RefreshToken seeds the grant when Tokens holds none for Name, or
	// when it differs from the seed the stored token came from (the app
	// was reconnected and its new refresh token configured).
	RefreshToken string
	// Tokens keeps the current refresh token and access token (sealed by
	// the program), under Name, so a restart needs no refresh and a
	// rotated refresh token is never lost.
	Tokens synclayer.TokenStore
	Name   string
	// TokenURL is where tokens are refreshed; default the client's base
	// URL + TokenPath.
	TokenURL string
}

// storedToken is what Tokens keeps for a destination, as JSON.
type storedToken struct {
	AccessToken  string    `json:"access_token,omitempty"`
	RefreshToken string    `json:"refresh_token"`
	Expiry       time.Time `json:"expiry,omitzero"`
	Obtained     time.Time `json:"obtained,omitzero"`
	// Seed fingerprints the configured refresh token the grant started
	// from, so a newly configured one takes over from a stored grant.
	Seed string `json:"seed"`
}

// margin is how long before expiry an access token is refreshed: a tenth
// of its lifetime, at most 5 minutes.
func (t *storedToken) margin() time.Duration {
	life := t.Expiry.Sub(t.Obtained)
	return min(5*time.Minute, max(life/10, 0))
}

func seedOf(rt string) string {
	sum := sha256.Sum256([]byte("hubspot oauth seed\x00" + rt))
	return hex.EncodeToString(sum[:8])
}

// tokenSource hands out access tokens, refreshing each before it
// expires; concurrent callers share one refresh.
type tokenSource struct {
	cfg  OAuth
	http *http.Client
	now  func() time.Time
	log  *slog.Logger

	mu      sync.Mutex
	tok     *storedToken // nil until loaded
	flight  chan struct{}
	err     error // the last refresh's error, for those who waited on it
	revoked error // a refused grant, until a new refresh token is configured
}

func newTokenSource(cfg OAuth, baseURL string, hc *http.Client, now func() time.Time, log *slog.Logger) *tokenSource {
	if cfg.TokenURL == "" {
		cfg.TokenURL = baseURL + TokenPath
	}
	return &tokenSource{cfg: cfg, http: hc, now: now, log: log}
}

// load reads the stored token, once; a miss, or a token grown from
// another seed, starts from the configured refresh token. Called with mu
// held.
func (s *tokenSource) load(ctx context.Context) error {
	if s.tok != nil {
		return nil
	}
	if s.cfg.Tokens == nil {
		return synclayer.Permanent(errors.New("hubspot: OAuth tokens are kept in synclayer's store, and this command runs without one: run it inside synclayer serve, or use a private app's access_token"))
	}
	seed := seedOf(s.cfg.RefreshToken)
	data, err := s.cfg.Tokens.FindToken(ctx, s.cfg.Name)
	switch {
	case synclayer.ErrorCode(err) == synclayer.ENOTFOUND:
	case err != nil:
		return fmt.Errorf("hubspot: read the stored OAuth token: %w", err)
	default:
		var t storedToken
		if err := json.Unmarshal(data, &t); err != nil {
			return fmt.Errorf("hubspot: the stored OAuth token does not decode: %w", err)
		}
		if t.Seed == seed || s.cfg.RefreshToken == "" {
			s.tok = &t
			return nil
		}
		s.log.Info("hubspot: oauth.refresh_token changed since the stored grant; starting from the configured one")
	}
	if s.cfg.RefreshToken == "" {
		return synclayer.Permanent(errors.New("hubspot: no OAuth refresh token: set oauth.refresh_token to the one HubSpot gave when the app was installed"))
	}
	s.tok = &storedToken{RefreshToken: s.cfg.RefreshToken, Seed: seed}
	return nil
}

// Load reads the stored token now, so a store the key cannot open fails
// at start rather than at the first delivery.
func (s *tokenSource) Load(ctx context.Context) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.load(ctx)
}

// token returns a live access token, refreshing first when the current
// one is within its margin of expiry. stale, when set, is an access token
// HubSpot answered 401: it is refreshed unless another caller already
// did.
func (s *tokenSource) token(ctx context.Context, stale string) (string, error) {
	for {
		s.mu.Lock()
		if err := s.load(ctx); err != nil {
			s.mu.Unlock()
			return "", err
		}
		if s.revoked != nil {
			err := s.revoked
			s.mu.Unlock()
			return "", err
		}
		t := s.tok
		if t.AccessToken != "" && t.AccessToken != stale && s.now().Before(t.Expiry.Add(-t.margin())) {
			s.mu.Unlock()
			return t.AccessToken, nil
		}
		if s.flight != nil {
			wait := s.flight
			s.mu.Unlock()
			select {
			case <-wait:
			case <-ctx.Done():
				return "", ctx.Err()
			}
			s.mu.Lock()
			err := s.err
			s.mu.Unlock()
			if err != nil {
				return "", err
			}
			stale = "" // the refresh that ran replaced it
			continue
		}
		s.flight = make(chan struct{})
		cur := *t
		s.mu.Unlock()

		// The refresh outlives a caller that gives up: others wait on it.
		next, err := s.renew(context.WithoutCancel(ctx), cur, stale)

		s.mu.Lock()
		s.err = err
		if err == nil {
			s.tok = next
		} else if isPermanent(err) {
			s.revoked = err
		}
		close(s.flight)
		s.flight = nil
		s.mu.Unlock()
		if err != nil {
			return "", err
		}
		return next.AccessToken, nil
	}
}

// renew returns a live token for cur: another instance's, when the store
// holds a live access token from the same grant that is not stale (so a
// fleet sharing one database refreshes once, not once per instance), or
// a refreshed one, from the newest refresh token the store holds (so a
// refresh token another instance rotated is not used after it was
// replaced).
func (s *tokenSource) renew(ctx context.Context, cur storedToken, stale string) (*storedToken, error) {
	rt := cur.RefreshToken
	if data, err := s.cfg.Tokens.FindToken(ctx, s.cfg.Name); err == nil {
		var st storedToken
		if json.Unmarshal(data, &st) == nil && st.Seed == cur.Seed && st.RefreshToken != "" {
			if st.AccessToken != "" && st.AccessToken != stale && st.AccessToken != cur.AccessToken && s.now().Before(st.Expiry.Add(-st.margin())) {
				return &st, nil
			}
			rt = st.RefreshToken
		}
	}
	return s.refresh(ctx, rt, cur.Seed)
}

func isPermanent(err error) bool {
	var p *synclayer.PermanentError
	return errors.As(err, &p)
}

// tokenError is the token endpoint's error body: v1's {status, message}
// (status BAD_REFRESH_TOKEN, BAD_CLIENT_ID, ...), the v3 spec's
// {category, subCategory, message, correlationId}, or OAuth 2.0's
// {error: invalid_grant, error_description}.
type tokenError struct {
	Status, Category, SubCategory, Message, CorrelationID, Error, ErrorDescription string
}

func (e tokenError) String() string {
	var parts []string
	for _, p := range []string{e.Status, e.Category, e.SubCategory, e.Error} {
		if p != "" && p != "error" {
			parts = append(parts, p)
		}
	}
	s := strings.Join(parts, " ")
	if m := e.Message + e.ErrorDescription; m != "" {
		s += ": " + redact(m)
	}
	if e.CorrelationID != "" {
		s += " [correlationId " + e.CorrelationID + "]"
	}
	return s
}

// refresh trades rt for a new access token and stores the answer before
// it is used, so a rotated refresh token is kept. A refusal (400, 401 or
// 403: the grant is revoked, the app uninstalled, or the client
// credentials wrong) is permanent and tells the operator to reconnect;
// 429 and 5xx are retried. Neither the tokens nor the secret appear in
// its errors.
func (s *tokenSource) refresh(ctx context.Context, rt, seed string) (*storedToken, error) {
	form := url.Values{"grant_type": {"refresh_token"}, "client_id": {s.cfg.ClientID},
		"client_secret": {s.cfg.ClientSecret}, "refresh_token": {rt}}
	req, err := http.NewRequestWithContext(synclayer.WithHTTPRoute(ctx, TokenPath), http.MethodPost, s.cfg.TokenURL, strings.NewReader(form.Encode()))
	if err != nil {
		return nil, synclayer.Permanent(errors.New("hubspot: refresh OAuth token: invalid token URL"))
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Accept", "application/json")
	start := s.now()
	resp, err := s.http.Do(req)
	if err != nil {
		return nil, fmt.Errorf("hubspot: POST %s: %w", TokenPath, transportError(err))
	}
	data, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	resp.Body.Close()
	if err != nil {
		return nil, fmt.Errorf("hubspot: POST %s: read response: %w", TokenPath, transportError(err))
	}
	s.log.Debug("hubspot token refresh", "path", TokenPath, "status", resp.StatusCode, "duration", s.now().Sub(start))
	if resp.StatusCode != http.StatusOK {
		var e tokenError
		var m map[string]any
		if json.Unmarshal(data, &m) == nil {
			str := func(k string) string { v, _ := m[k].(string); return v }
			e = tokenError{Status: str("status"), Category: str("category"), SubCategory: str("subCategory"), Message: str("message"),
				CorrelationID: str("correlationId"), Error: str("error"), ErrorDescription: str("error_description")}
		}
		base := fmt.Errorf("hubspot: POST %s: %d %s", TokenPath, resp.StatusCode, e)
		switch c := resp.StatusCode; {
		case c == http.StatusTooManyRequests:
			return nil, synclayer.Throttled(base, 10*time.Second)
		case c == http.StatusRequestTimeout || c >= 500:
			return nil, base
		case e.Status == "BAD_CLIENT_ID" || e.Status == "BAD_CLIENT_SECRET" || e.Error == "invalid_client":
			return nil, synclayer.Permanent(fmt.Errorf("%w: HubSpot does not know the app's credentials: check destinations.%s.oauth.client_id and client_secret against the app's Auth tab", base, s.cfg.Name))
		}
		return nil, synclayer.Permanent(fmt.Errorf("%w: HubSpot refused the OAuth grant (revoked, or the app was uninstalled): reconnect the app (install it again in the HubSpot account), set destinations.%s.oauth.refresh_token to the new refresh token and restart synclayer, then requeue the dead-lettered jobs", base, s.cfg.Name))
	}
	var a struct {
		AccessToken  string `json:"access_token"`
		RefreshToken string `json:"refresh_token"`
		ExpiresIn    int64  `json:"expires_in"`
	}
	if err := json.Unmarshal(data, &a); err != nil || a.AccessToken == "" || a.ExpiresIn <= 0 {
		return nil, fmt.Errorf("hubspot: POST %s: the 200 answer has no access_token and expires_in", TokenPath)
	}
	now := s.now()
	t := &storedToken{AccessToken: a.AccessToken, RefreshToken: a.RefreshToken, Obtained: now,
		Expiry: now.Add(time.Duration(a.ExpiresIn) * time.Second), Seed: seed}
	if t.RefreshToken == "" {
		t.RefreshToken = rt
	}
	data, err = json.Marshal(t)
	if err == nil {
		err = s.cfg.Tokens.PutToken(ctx, s.cfg.Name, data)
	}
	if err != nil {
		if t.RefreshToken != rt {
			s.log.Error("hubspot: HubSpot rotated the OAuth refresh token and the new one could not be stored; it is kept in memory only, and a restart before the next refresh needs a reconnect", "error", err)
			return t, nil
		}
		s.log.Warn("hubspot: the refreshed OAuth access token could not be stored; a restart refreshes again", "error", err)
	}
	return t, nil
}
