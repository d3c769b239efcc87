package api

import (
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/netip"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"synclayer"
)

// handleWebhook verifies, parses and durably stores a delivery, then answers
// 200. Only a storage failure answers 5xx, so the platform retries; a
// genuine event that cannot be synced is still 200, with its reason, since
// platforms drop subscriptions that keep failing.
func (s *Server) handleWebhook(w http.ResponseWriter, r *http.Request) {
	name := r.PathValue("source")
	src, ok := s.cfg.Sources[name]
	if !ok {
		s.reject(w, r, name, nil, synclayer.Errorf(synclayer.ENOTFOUND, "no source %q is configured; configured sources are listed under sources: in the config", name))
		return
	}
	if _, form := src.(synclayer.FormSource); form {
		s.reject(w, r, name, nil, synclayer.Errorf(synclayer.ENOTFOUND, "%s is a form: pages post to /forms/%s", name, name))
		return
	}
	client := clientIP(r)
	if s.cfg.RejectLimit != nil && !client.IsLoopback() {
		if ok, wait := s.cfg.RejectLimit.Peek(client.String()); !ok {
			s.count(name, "rate_limited")
			retryAfter(w, wait)
			writeError(w, r, s.cfg.Logger, synclayer.Errorf(synclayer.ETOOMANY,
				"too many rejected webhooks from %s; check the source's signing secret, then retry after %s", client, wait.Round(time.Second)))
			return
		}
	}
	if l := s.cfg.SourceLimits[name]; l != nil {
		if ok, wait := l.Allow(name); !ok {
			s.count(name, "rate_limited")
			retryAfter(w, wait)
			writeError(w, r, s.cfg.Logger, &synclayer.Error{Code: synclayer.ETOOMANY, Field: "sources." + name + ".rate_limit",
				Message: fmt.Sprintf("source %s sends more webhooks than its limit allows; retry after %s", name, wait.Round(time.Millisecond))})
			return
		}
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, s.cfg.MaxBodyBytes))
	if err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			err = synclayer.Errorf(synclayer.ETOOLARGE, "the body is larger than the %d-byte limit (server.max_body_bytes)", tooBig.Limit)
		} else {
			err = synclayer.Errorf(synclayer.EINVALID, "could not read the request body")
		}
		s.reject(w, r, name, nil, err)
		return
	}
	r.Header.Set(synclayer.QueryHeader, r.URL.RawQuery)
	events, err := src.Parse(r.Header, body, s.cfg.Now())
	if err != nil {
		s.reject(w, r, name, body, err)
		return
	}
	for _, ev := range events {
		// The source's configured name, not its platform: a second store
		// of one platform (shopify-eu) keeps its own IDs and dedupe keys.
		ev.Source = name
	}
	if len(events) == 0 { // a ping
		s.count(name, "ping")
		writeJSON(w, http.StatusOK, answer(src, map[string]any{"status": "ok"}))
		return
	}
	results, err := s.cfg.Ingester.Ingest(r.Context(), events)
	if err != nil {
		s.count(name, "error")
		writeError(w, r, s.cfg.Logger, err)
		return
	}
	outcome := "accepted"
	for _, res := range results {
		if res.Duplicate {
			outcome = "duplicate"
		}
	}
	s.count(name, outcome)
	writeJSON(w, http.StatusOK, answer(src, map[string]any{"status": outcome, "events": results}))
}

// answer adds the fields a source's platform reads in a 2xx answer
// (synclayer.WebhookAnswerer) to the program's own; its own keys win.
func answer(src synclayer.Source, body map[string]any) map[string]any {
	if a, ok := src.(synclayer.WebhookAnswerer); ok {
		for k, v := range a.AnswerFields() {
			if _, taken := body[k]; !taken {
				body[k] = v
			}
		}
	}
	return body
}

func (s *Server) count(source, outcome string) {
	if s.cfg.OnWebhook != nil {
		s.cfg.OnWebhook(source, outcome)
	}
}

// reject answers with the error and keeps the request for inspection, with
// signature headers left out and the body truncated.
func (s *Server) reject(w http.ResponseWriter, r *http.Request, source string, body []byte, err error) {
	s.count(source, "rejected")
	if client := clientIP(r); s.cfg.RejectLimit != nil && !client.IsLoopback() {
		s.cfg.RejectLimit.Allow(client.String())
	}
	code := synclayer.ErrorCode(err)
	status := statusOf(code)
	s.cfg.Logger.InfoContext(r.Context(), "webhook rejected", "source", source, "status", status, "reason", synclayer.ErrorMessage(err), "remote", r.RemoteAddr)
	if s.cfg.Rejections != nil && code != synclayer.EINTERNAL {
		const keepBody = 64 << 10
		if len(body) > keepBody {
			body = body[:keepBody]
		}
		rej := &synclayer.Rejection{Source: source, ReceivedAt: s.cfg.Now(), Status: status, Code: code,
			Message: synclayer.ErrorMessage(err), Headers: safeHeaders(r.Header), Body: body}
		if err := s.cfg.Rejections.RecordRejection(r.Context(), rej, 1000); err != nil {
			s.cfg.Logger.Warn("record rejection", "err", err)
		}
	}
	writeError(w, r, s.cfg.Logger, err)
}

// safeHeaders keeps the headers worth inspecting, without credentials or
// signatures, each value cut to 200 bytes of valid UTF-8. A header named
// for a token or a secret is a credential: Freshdesk's rules send the
// source's secret itself in X-Synclayer-Token.
func safeHeaders(h http.Header) map[string]string {
	out := map[string]string{}
	for k, v := range h {
		lk := strings.ToLower(k)
		if strings.Contains(lk, "signature") || strings.Contains(lk, "hmac") || lk == "authorization" || lk == "cookie" || strings.Contains(lk, "key") ||
			strings.Contains(lk, "token") || strings.Contains(lk, "secret") ||
			strings.EqualFold(k, synclayer.QueryHeader) {
			continue
		}
		val := strings.Join(v, ", ")
		if len(val) > 200 {
			val = val[:200]
		}
		out[k] = strings.ToValidUTF8(val, string(utf8.RuneError))
	}
	return out
}

// handleWebhookCheck answers a GET of a webhook URL: some platforms call
// it once to check the URL before they send anything (Mailchimp, when its
// webhook is created). It is 200 when the source takes the request as an
// empty delivery (its secret checks out, and it carries no event), and
// otherwise the 405 of any other method. Nothing is stored either way.
func (s *Server) handleWebhookCheck(w http.ResponseWriter, r *http.Request) {
	if c, ok := s.cfg.Sources[r.PathValue("source")].(synclayer.Challenger); ok {
		body, err := c.Challenge(r.URL.Query())
		if err != nil {
			s.reject(w, r, r.PathValue("source"), nil, err)
			return
		}
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		_, _ = io.WriteString(w, body)
		return
	}
	if src, ok := s.cfg.Sources[r.PathValue("source")]; ok {
		r.Header.Set(synclayer.QueryHeader, r.URL.RawQuery)
		if events, err := src.Parse(r.Header, nil, s.cfg.Now()); err == nil && len(events) == 0 {
			writeJSON(w, http.StatusOK, map[string]any{"status": "ok"})
			return
		}
	}
	s.handleWebhookMethod(w, r)
}

// handleWebhookMethod answers a webhook URL called with another method than
// POST in the same JSON error shape as every other refusal, not the plain
// text ServeMux would send.
func (s *Server) handleWebhookMethod(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Allow", http.MethodPost)
	writeJSON(w, http.StatusMethodNotAllowed, errorBodyOf("method_not_allowed", "webhooks are delivered with POST, not "+r.Method, ""))
}

// clientIP is the client's address: r.RemoteAddr, which the server sets
// from a trusted proxy's X-Forwarded-For.
func clientIP(r *http.Request) netip.Addr {
	if ap, err := netip.ParseAddrPort(r.RemoteAddr); err == nil {
		return ap.Addr().Unmap()
	}
	a, _ := netip.ParseAddr(r.RemoteAddr)
	return a.Unmap()
}

// retryAfter says, in whole seconds rounded up, when to come back.
func retryAfter(w http.ResponseWriter, d time.Duration) {
	w.Header().Set("Retry-After", strconv.Itoa(int((d+time.Second-1)/time.Second)))
}
