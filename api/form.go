package api

import (
	"errors"
	"fmt"
	"html/template"
	"io"
	"mime"
	"net/http"
	"net/url"
	"time"

	"synclayer"
	"synclayer/limit"
)

// formSource returns the form source named in the path, or answers 404.
func (s *Server) formSource(w http.ResponseWriter, r *http.Request) (string, synclayer.FormSource, bool) {
	name := r.PathValue("name")
	src, ok := s.cfg.Sources[name].(synclayer.FormSource)
	if !ok {
		writeError(w, r, s.cfg.Logger, synclayer.Errorf(synclayer.ENOTFOUND, "no form %q is configured; a form is a source of type form under sources:", name))
		return "", nil, false
	}
	return name, src, true
}

// cors answers for the request's Origin: allowed origins get
// Access-Control-Allow-Origin; any other is refused with 403 naming the
// setting. A request without an Origin is let through.
func (s *Server) cors(w http.ResponseWriter, r *http.Request, name string, src synclayer.FormSource) bool {
	w.Header().Add("Vary", "Origin")
	origin := r.Header.Get("Origin")
	if origin == "" {
		return true
	}
	if !src.AllowOrigin(origin) {
		s.count(name, "rejected")
		writeError(w, r, s.cfg.Logger, &synclayer.Error{Code: synclayer.EFORBIDDEN, Field: "sources." + name + ".origins",
			Message: fmt.Sprintf("pages at %s may not post to this form; add the origin to sources.%s.origins", clipOrigin(origin), name)})
		return false
	}
	w.Header().Set("Access-Control-Allow-Origin", origin)
	return true
}

func clipOrigin(o string) string {
	if len(o) > 100 {
		return o[:100] + "…"
	}
	return o
}

// handleFormPreflight answers a browser's CORS preflight of a post.
func (s *Server) handleFormPreflight(w http.ResponseWriter, r *http.Request) {
	name, src, ok := s.formSource(w, r)
	if !ok || !s.cors(w, r, name, src) {
		return
	}
	w.Header().Set("Access-Control-Allow-Methods", "POST")
	w.Header().Set("Access-Control-Allow-Headers", "Content-Type")
	w.Header().Set("Access-Control-Max-Age", "600")
	w.WriteHeader(http.StatusNoContent)
}

// formLimit is the per-client limit of a form, made once per form.
func (s *Server) formLimit(name string, perMinute int) *limit.Keyed {
	s.formMu.Lock()
	defer s.formMu.Unlock()
	if s.formLimits == nil {
		s.formLimits = map[string]*limit.Keyed{}
	}
	l, ok := s.formLimits[name]
	if !ok {
		l = limit.New(float64(perMinute)/60, perMinute)
		s.formLimits[name] = l
	}
	return l
}

// handleForm stores a form post, like a webhook: verified as a form can
// be (origin, honeypot, per-client limit), parsed, stored, then
// answered: a plain HTML form's browser is sent to the thank-you page,
// a script gets JSON. Bad input is 400 naming the field, and kept.
func (s *Server) handleForm(w http.ResponseWriter, r *http.Request) {
	name, src, ok := s.formSource(w, r)
	if !ok || !s.cors(w, r, name, src) {
		return
	}
	client := clientIP(r)
	if n := src.PerClient(); n > 0 {
		if ok, wait := s.formLimit(name, n).Allow(client.String()); !ok {
			s.count(name, "rate_limited")
			retryAfter(w, wait)
			writeError(w, r, s.cfg.Logger, &synclayer.Error{Code: synclayer.ETOOMANY, Field: "sources." + name + ".per_client",
				Message: fmt.Sprintf("too many posts from one address; retry after %s", wait.Round(time.Second))})
			return
		}
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, min(s.cfg.MaxBodyBytes, 256<<10)))
	if err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			err = synclayer.Errorf(synclayer.ETOOLARGE, "the form is larger than the %d-byte limit", tooBig.Limit)
		} else {
			err = synclayer.Errorf(synclayer.EINVALID, "could not read the request body")
		}
		s.reject(w, r, name, nil, err)
		return
	}
	events, err := src.Parse(r.Header, body, s.cfg.Now())
	if err != nil {
		s.reject(w, r, name, body, err)
		return
	}
	outcome := "accepted"
	var results any = []any{}
	if len(events) > 0 {
		for _, ev := range events {
			ev.Source = name
		}
		res, err := s.cfg.Ingester.Ingest(r.Context(), events)
		if err != nil {
			s.count(name, "error")
			writeError(w, r, s.cfg.Logger, err)
			return
		}
		results = res
	} else {
		// A filled honeypot: answered as a stored post is, so a bot
		// learns nothing, and counted apart.
		s.count(name, "honeypot")
		results = []map[string]string{{"status": string(synclayer.EventApplied)}}
	}
	if len(events) > 0 {
		s.count(name, outcome)
	}
	if to := src.Redirect(); to != "" && plainForm(r) {
		http.Redirect(w, r, to, http.StatusSeeOther)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"status": outcome, "events": results})
}

// plainForm reports whether a browser posted an HTML form itself, not a
// script asking for JSON.
func plainForm(r *http.Request) bool {
	mt, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	return mt == "application/x-www-form-urlencoded" || mt == "multipart/form-data"
}

var confirmPage = template.Must(template.New("confirm").Parse(`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="robots" content="noindex"><title>{{.Title}}</title>
<style>body{font:16px/1.5 system-ui,sans-serif;max-width:32rem;margin:4rem auto;padding:0 1rem}button{font:inherit;padding:.6rem 1.2rem}</style>
</head><body><h1>{{.Title}}</h1><p>{{.Text}}</p>
{{if .Token}}<form method="post"><input type="hidden" name="t" value="{{.Token}}"><button type="submit">Confirm my subscription</button></form>{{end}}
</body></html>`))

// handleConfirmPage shows the page a confirmation link opens: one button
// that posts the link back. Opening the link confirms nothing, since mail
// scanners open links people never clicked.
func (s *Server) handleConfirmPage(w http.ResponseWriter, r *http.Request) {
	_, _, ok := s.formSource(w, r)
	if !ok {
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("Referrer-Policy", "no-referrer")
	_ = confirmPage.Execute(w, map[string]string{"Title": "Confirm your subscription",
		"Text": "Press the button to confirm that you want our emails. You can unsubscribe at any time.", "Token": r.URL.Query().Get("t")})
}

// handleConfirm records a confirmed opt-in, then sends the browser to the
// form's confirmed page, or shows one.
func (s *Server) handleConfirm(w http.ResponseWriter, r *http.Request) {
	name, src, ok := s.formSource(w, r)
	if !ok {
		return
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, 8<<10))
	if err != nil {
		s.reject(w, r, name, nil, synclayer.Errorf(synclayer.EINVALID, "could not read the request body"))
		return
	}
	q, err := url.ParseQuery(string(body))
	if err != nil || q.Get("t") == "" {
		q = r.URL.Query()
	}
	events, err := src.Confirm(q, s.cfg.Now())
	if err != nil {
		s.reject(w, r, name, nil, err)
		return
	}
	for _, ev := range events {
		ev.Source = name
	}
	if _, err := s.cfg.Ingester.Ingest(r.Context(), events); err != nil {
		s.count(name, "error")
		writeError(w, r, s.cfg.Logger, err)
		return
	}
	s.count(name, "confirmed")
	if to := src.Confirmed(); to != "" {
		http.Redirect(w, r, to, http.StatusSeeOther)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	_ = confirmPage.Execute(w, map[string]string{"Title": "Thank you", "Text": "Your subscription is confirmed."})
}
