package dashboard

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	"synclayer"
)

const (
	cookieName = "synclayer_session"
	// maxSessions bounds the in-memory table; past it, the logins nearest
	// to expiry are dropped first (see prune).
	maxSessions = 10000
	touchEvery  = time.Minute
	maxForm     = 16 << 10 // the dashboard's forms hold a key or a token
)

// session is one login. It holds the key's ID and hash, never the key,
// so the key can be looked up (and found revoked) on each request.
type session struct {
	keyID, keyHash string
	csrf           string
	expires        time.Time
}

// sessions maps the SHA-256 of each session token to its login. They live
// in this process only: a restart logs everyone out.
type sessions struct {
	ttl time.Duration
	now func() time.Time

	mu sync.Mutex
	m  map[string]*session
}

func newSessions(ttl time.Duration, now func() time.Time) *sessions {
	return &sessions{ttl: ttl, now: now, m: map[string]*session{}}
}

func randomToken() string {
	b := make([]byte, 32)
	_, _ = rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}

func tokenID(token string) string {
	sum := sha256.Sum256([]byte(token))
	return hex.EncodeToString(sum[:])
}

// create starts a session for k and returns its token, for the cookie.
func (ss *sessions) create(k *synclayer.APIKey) string {
	token := randomToken()
	now := ss.now()
	ss.mu.Lock()
	defer ss.mu.Unlock()
	if len(ss.m) >= maxSessions {
		ss.prune(now)
	}
	ss.m[tokenID(token)] = &session{keyID: k.ID, keyHash: k.Hash, csrf: randomToken(), expires: now.Add(ss.ttl)}
	return token
}

// prune drops expired sessions and, if the table is still full, those due
// to expire within a tenth of the TTL after the soonest. Only holders of
// live keys can fill it. The caller holds mu.
func (ss *sessions) prune(now time.Time) {
	var soonest time.Time
	for id, s := range ss.m {
		if now.After(s.expires) {
			delete(ss.m, id)
		} else if soonest.IsZero() || s.expires.Before(soonest) {
			soonest = s.expires
		}
	}
	if len(ss.m) < maxSessions {
		return
	}
	cut := soonest.Add(ss.ttl / 10)
	for id, s := range ss.m {
		if s.expires.Before(cut) {
			delete(ss.m, id)
		}
	}
}

func (ss *sessions) get(token string) *session {
	if token == "" {
		return nil
	}
	ss.mu.Lock()
	defer ss.mu.Unlock()
	id := tokenID(token)
	s := ss.m[id]
	if s != nil && ss.now().After(s.expires) {
		delete(ss.m, id)
		return nil
	}
	return s
}

func (ss *sessions) delete(token string) {
	ss.mu.Lock()
	defer ss.mu.Unlock()
	delete(ss.m, tokenID(token))
}

// request is who is asking: the live key, and the session's CSRF token
// ("" when the key came as a bearer header, which a browser never sends
// on its own, so such a request needs none).
type request struct {
	key   *synclayer.APIKey
	csrf  string
	token string
}

// authenticate returns the live key behind the request's bearer header or
// session cookie, or nil. A revoked or deleted key ends its sessions.
func (s *Server) authenticate(r *http.Request) (*request, error) {
	if scheme, secret, ok := strings.Cut(r.Header.Get("Authorization"), " "); ok && strings.EqualFold(scheme, "Bearer") {
		k, err := s.liveKey(r.Context(), synclayer.HashKey(strings.TrimSpace(secret)), "")
		if k == nil || err != nil {
			return nil, err
		}
		return &request{key: k}, nil
	}
	c, err := r.Cookie(cookieName)
	if err != nil {
		return nil, nil
	}
	sess := s.sessions.get(c.Value)
	if sess == nil {
		return nil, nil
	}
	k, err := s.liveKey(r.Context(), sess.keyHash, sess.keyID)
	if err != nil {
		return nil, err
	}
	if k == nil {
		s.sessions.delete(c.Value)
		return nil, nil
	}
	return &request{key: k, csrf: sess.csrf, token: c.Value}, nil
}

// liveKey looks the key up by hash; nil when it is unknown or revoked (or,
// with id, no longer the key the session was opened with).
func (s *Server) liveKey(ctx context.Context, hash, id string) (*synclayer.APIKey, error) {
	if s.cfg.Keys == nil {
		return nil, nil
	}
	k, err := s.cfg.Keys.FindKeyByHash(ctx, hash)
	if synclayer.ErrorCode(err) == synclayer.ENOTFOUND {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	if k.Revoked() || (id != "" && k.ID != id) {
		return nil, nil
	}
	if now := s.cfg.Now(); now.Sub(k.LastUsedAt) >= touchEvery {
		if err := s.cfg.Keys.TouchKey(ctx, k.ID, now); err != nil {
			s.cfg.Logger.Warn("record API key use", "key", k.ID, "err", err)
		}
	}
	return k, nil
}

// page wraps h so it runs only for a live key whose role allows need. A
// GET without one goes to the login page, and comes back after; any other
// method is refused. A POST from a session must carry the session's CSRF
// token, and a request whose Origin is another site is refused whatever it
// carries.
func (s *Server) page(need synclayer.Role, h func(http.ResponseWriter, *http.Request, *request)) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		r.Body = http.MaxBytesReader(w, r.Body, maxForm)
		req, err := s.authenticate(r)
		if err != nil {
			s.fail(w, r, nil, err)
			return
		}
		if req == nil {
			if r.Method == http.MethodGet {
				http.Redirect(w, r, "/ui/login?next="+url.QueryEscape(r.URL.RequestURI()), http.StatusSeeOther)
				return
			}
			w.Header().Set("WWW-Authenticate", `Bearer realm="synclayer"`)
			http.Error(w, "log in at /ui/login, or send an API key as Authorization: Bearer KEY", http.StatusUnauthorized)
			return
		}
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			if !sameOrigin(r) || (req.csrf != "" && subtle.ConstantTimeCompare([]byte(r.PostFormValue("csrf")), []byte(req.csrf)) != 1) {
				s.fail(w, r, req, errorf(synclayer.EFORBIDDEN, "This form has expired or did not come from this dashboard. Go back, reload the page and try again."))
				return
			}
		}
		if !req.key.Role.Allows(need) {
			s.fail(w, r, req, errorf(synclayer.EFORBIDDEN, "Your key has role %s; this needs role %s or higher.", req.key.Role, need))
			return
		}
		h(w, r, req)
	})
}

// sameOrigin is false when the browser says the request came from another
// site. Browsers send Origin on every cross-site POST.
func sameOrigin(r *http.Request) bool {
	o := r.Header.Get("Origin")
	if o == "" || o == "null" && r.Header.Get("Sec-Fetch-Site") == "same-origin" {
		return true
	}
	u, err := url.Parse(o)
	return err == nil && strings.EqualFold(u.Host, r.Host)
}

// viaTLS reports whether the browser reached us over HTTPS, directly or
// through a proxy that says so.
func viaTLS(r *http.Request) bool {
	return r.TLS != nil || strings.EqualFold(r.Header.Get("X-Forwarded-Proto"), "https") ||
		strings.Contains(strings.ToLower(r.Header.Get("Forwarded")), "proto=https")
}

func (s *Server) setCookie(w http.ResponseWriter, r *http.Request, value string, maxAge int) {
	http.SetCookie(w, &http.Cookie{Name: cookieName, Value: value, Path: "/ui/", MaxAge: maxAge,
		HttpOnly: true, Secure: viaTLS(r), SameSite: http.SameSiteStrictMode})
}

type loginData struct {
	Next  string
	Error string
}

func (s *Server) handleLoginForm(w http.ResponseWriter, r *http.Request) {
	s.render(w, r, http.StatusOK, "login.html", page{Title: "Log in", Data: loginData{Next: safeNext(r.URL.Query().Get("next"))}})
}

// handleLogin checks the posted key and, if it is live, opens a session.
func (s *Server) handleLogin(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, maxForm)
	next := safeNext(r.PostFormValue("next"))
	if !sameOrigin(r) {
		s.render(w, r, http.StatusForbidden, "login.html", page{Title: "Log in", Data: loginData{Next: next, Error: "This form did not come from this dashboard."}})
		return
	}
	client := clientAddr(r)
	if ok, wait := s.failedLogins.Peek(client); !ok {
		secs := int(wait.Seconds()) + 1
		w.Header().Set("Retry-After", strconv.Itoa(secs))
		s.cfg.Logger.Warn("dashboard login refused: too many failed logins from this address", "remote", client)
		s.render(w, r, http.StatusTooManyRequests, "login.html", page{Title: "Log in", Data: loginData{Next: next,
			Error: fmt.Sprintf("Too many failed logins from this address. Try again in %d seconds.", secs)}})
		return
	}
	secret := strings.TrimSpace(r.PostFormValue("key"))
	var k *synclayer.APIKey
	var err error
	if secret != "" {
		k, err = s.liveKey(r.Context(), synclayer.HashKey(secret), "")
	}
	if err != nil {
		s.fail(w, r, nil, err)
		return
	}
	if k == nil {
		s.failedLogins.Allow(client)
		s.cfg.Logger.Info("dashboard login refused", "remote", client)
		s.render(w, r, http.StatusUnauthorized, "login.html", page{Title: "Log in", Data: loginData{Next: next,
			Error: "That key is unknown or revoked. Create one with: synclayer keys create --role viewer"}})
		return
	}
	s.setCookie(w, r, s.sessions.create(k), int(s.cfg.SessionTTL/time.Second))
	s.cfg.Logger.Info("dashboard login", "key", k.ID)
	http.Redirect(w, r, next, http.StatusSeeOther)
}

func (s *Server) handleLogout(w http.ResponseWriter, r *http.Request, req *request) {
	if req.token != "" {
		s.sessions.delete(req.token)
	}
	s.setCookie(w, r, "", -1)
	http.Redirect(w, r, "/ui/login", http.StatusSeeOther)
}

// safeNext keeps a post-login redirect on the dashboard.
func safeNext(next string) string {
	if !strings.HasPrefix(next, "/ui/") || strings.HasPrefix(next, "//") || strings.Contains(next, "\\") {
		return "/ui/"
	}
	return next
}

// clientAddr is the client's IP address, without the port: r.RemoteAddr,
// which the server sets from a trusted proxy's X-Forwarded-For.
func clientAddr(r *http.Request) string {
	if host, _, err := net.SplitHostPort(r.RemoteAddr); err == nil {
		return host
	}
	return r.RemoteAddr
}
