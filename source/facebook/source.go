// Package facebook is the Facebook Lead Ads source. Facebook's leadgen
// webhook carries only the lead's id: Parse verifies the delivery
// (X-Hub-Signature-256, the app secret) and returns one notification per
// lead, which is stored and acknowledged; the source's fetch queue then
// reads each lead's answers from the Graph API with the Page access
// token (Fetch) and ingests it as a form_submitted lead. The webhook's
// GET check (hub.mode, hub.verify_token, hub.challenge) is answered by
// Challenge. Facts and sources: docs/platforms/facebook.md.
package facebook

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"

	"synclayer"
	"synclayer/normalize"
)

// DefaultGraphURL and DefaultGraphVersion are where leads are read.
const (
	DefaultGraphURL     = "https://graph.facebook.com"
	DefaultGraphVersion = "v21.0"
)

// Settings are a facebook block's own keys.
type Settings struct {
	VerifyToken     string `json:"verify_token"`      // what the app's webhook settings call the verify token
	PageAccessToken string `json:"page_access_token"` // a long-lived Page token with leads_retrieval
	GraphURL        string `json:"graph_url"`
	GraphVersion    string `json:"graph_version"`
	// Fields maps a lead form's question names to canonical fields;
	// default email, first_name, last_name, phone_number.
	Fields map[string]string `json:"fields"`
}

const settingNames = "Facebook source setting; the settings are verify_token, page_access_token, graph_url, graph_version and fields"

// Type is Facebook Lead Ads in the program's registry of sources.
var Type = synclayer.SourceType{Type: "facebook", Open: open, SecretKeys: []string{"verify_token", "page_access_token"}}

func open(secrets []string, st synclayer.SourceSettings) (synclayer.Source, error) {
	var s Settings
	if err := synclayer.DecodeSettings(st.Section, &s, settingNames); err != nil {
		return nil, err
	}
	var errs []error
	if s.VerifyToken == "" {
		errs = append(errs, synclayer.FieldErrorf("verify_token", "is required: the token you type in the app's webhook settings, which Facebook sends back when it checks the URL; e.g. verify_token: \"${FACEBOOK_VERIFY_TOKEN}\""))
	}
	if s.PageAccessToken == "" {
		errs = append(errs, synclayer.FieldErrorf("page_access_token", "is required: the webhook names only the lead, whose answers are read with a long-lived Page access token (leads_retrieval); e.g. page_access_token: \"${FACEBOOK_PAGE_TOKEN}\""))
	}
	if s.GraphURL == "" {
		s.GraphURL = DefaultGraphURL
	} else if u, err := url.Parse(s.GraphURL); err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		errs = append(errs, synclayer.FieldErrorf("graph_url", "must be an http:// or https:// URL, such as %s", DefaultGraphURL))
	}
	if s.GraphVersion == "" {
		s.GraphVersion = DefaultGraphVersion
	} else if !strings.HasPrefix(s.GraphVersion, "v") {
		errs = append(errs, synclayer.FieldErrorf("graph_version", "must be a Graph API version such as %s", DefaultGraphVersion))
	}
	fields := map[string]string{"email": synclayer.FieldEmail, "first_name": synclayer.FieldFirstName, "last_name": synclayer.FieldLastName,
		"phone_number": synclayer.FieldPhone}
	if len(s.Fields) > 0 {
		fields = s.Fields
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	src := &Source{settings: s, fields: fields, base: strings.TrimRight(s.GraphURL, "/") + "/" + s.GraphVersion + "/",
		http: &http.Client{Timeout: 30 * time.Second}}
	for _, k := range secrets {
		if k = strings.TrimSpace(k); k != "" {
			src.keys = append(src.keys, []byte(k))
		}
	}
	return src, nil
}

// Source is one Facebook app's leadgen webhook. Safe for concurrent use.
type Source struct {
	settings Settings
	fields   map[string]string
	keys     [][]byte // the app secret, and one being rotated out
	base     string
	http     *http.Client
}

var (
	_ synclayer.Fetcher    = (*Source)(nil)
	_ synclayer.Challenger = (*Source)(nil)
)

// Name returns "facebook".
func (s *Source) Name() string { return "facebook" }

// Challenge answers Facebook's check of the webhook URL: hub.challenge,
// when hub.mode is subscribe and hub.verify_token is the configured one.
func (s *Source) Challenge(q url.Values) (string, error) {
	if q.Get("hub.mode") != "subscribe" {
		return "", &synclayer.Error{Code: synclayer.EINVALID, Field: "hub.mode", Message: "must be subscribe: this URL answers Facebook's webhook check"}
	}
	if subtle.ConstantTimeCompare([]byte(q.Get("hub.verify_token")), []byte(s.settings.VerifyToken)) != 1 {
		return "", &synclayer.Error{Code: synclayer.EUNAUTHORIZED, Field: "hub.verify_token", Message: "does not match the source's verify_token; type the same token in the app's webhook settings"}
	}
	return q.Get("hub.challenge"), nil
}

// Parse verifies X-Hub-Signature-256 (sha256=<hex HMAC-SHA256 of the body
// keyed with the app secret>) and returns a notification per lead.
// Changes of other fields are acknowledged and give nothing.
func (s *Source) Parse(h http.Header, body []byte, now time.Time) ([]*synclayer.Event, error) {
	if err := s.verify(h.Get("X-Hub-Signature-256"), body); err != nil {
		return nil, err
	}
	var n struct {
		Object string `json:"object"`
		Entry  []struct {
			Changes []struct {
				Field string `json:"field"`
				Value struct {
					LeadgenID   json.RawMessage `json:"leadgen_id"`
					CreatedTime int64           `json:"created_time"`
				} `json:"value"`
			} `json:"changes"`
		} `json:"entry"`
	}
	if _, err := normalize.Object("body", body); err != nil {
		return nil, err
	}
	if err := json.Unmarshal(body, &n); err != nil {
		return nil, synclayer.FieldErrorf("body", "is not a Facebook webhook notification")
	}
	if n.Object != "page" {
		return nil, synclayer.FieldErrorf("object", "is %q; subscribe the app to the Page's leadgen field", normalize.Clip(n.Object))
	}
	var out []*synclayer.Event
	for i, e := range n.Entry {
		for j, c := range e.Changes {
			if c.Field != "leadgen" {
				continue
			}
			id, err := normalize.ID(fmt.Sprintf("entry[%d].changes[%d].value.leadgen_id", i, j), c.Value.LeadgenID)
			if err != nil {
				return nil, err
			}
			if id == "" {
				return nil, synclayer.FieldErrorf(fmt.Sprintf("entry[%d].changes[%d].value.leadgen_id", i, j), "missing; the notification names the lead to read")
			}
			at := now.UTC()
			if c.Value.CreatedTime > 0 {
				at = time.Unix(c.Value.CreatedTime, 0).UTC()
			}
			out = append(out, &synclayer.Event{Source: "facebook", DedupeKey: "leadgen|" + id, Topic: "leadgen", Type: synclayer.EventFetchRequested,
				OccurredAt: at, ReceivedAt: now.UTC(), Payload: body, Fetch: &synclayer.FetchRef{Kind: "lead", ID: id}})
		}
	}
	return out, nil
}

func (s *Source) verify(header string, body []byte) error {
	if len(s.keys) == 0 {
		return &synclayer.Error{Code: synclayer.EUNAUTHORIZED, Field: "secret", Message: "no app secret is configured for this source: set sources.<name>.secret to the app's secret"}
	}
	hexSig, ok := strings.CutPrefix(header, "sha256=")
	if header == "" {
		return &synclayer.Error{Code: synclayer.EUNAUTHORIZED, Field: "X-Hub-Signature-256", Message: "missing; Facebook signs every webhook with the app secret"}
	}
	got, err := hex.DecodeString(hexSig)
	if !ok || err != nil {
		return &synclayer.Error{Code: synclayer.EUNAUTHORIZED, Field: "X-Hub-Signature-256", Message: "is not sha256=<hex>"}
	}
	for _, k := range s.keys {
		mac := hmac.New(sha256.New, k)
		mac.Write(body)
		if hmac.Equal(mac.Sum(nil), got) {
			return nil
		}
	}
	return &synclayer.Error{Code: synclayer.EUNAUTHORIZED, Field: "X-Hub-Signature-256", Message: "does not match the body signed with the app secret; check sources.<name>.secret"}
}

// graphError is Graph's error body.
type graphError struct {
	Error struct {
		Message string `json:"message"`
		Type    string `json:"type"`
		Code    int    `json:"code"`
		Subcode int    `json:"error_subcode"`
	} `json:"error"`
}

// Fetch reads a lead's answers and returns it as a form_submitted lead.
func (s *Source) Fetch(ctx context.Context, ref synclayer.FetchRef) ([]*synclayer.Event, error) {
	if ref.Kind != "lead" {
		return nil, synclayer.Permanent(fmt.Errorf("facebook: nothing reads a %q", ref.Kind))
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, s.base+url.PathEscape(ref.ID)+"?fields=id,created_time,form_id,ad_id,field_data", nil)
	if err != nil {
		return nil, synclayer.Permanent(err)
	}
	req.Header.Set("Authorization", "Bearer "+s.settings.PageAccessToken)
	resp, err := s.http.Do(req)
	if err != nil {
		return nil, fmt.Errorf("facebook: reading lead %s: the Graph API did not answer", ref.ID)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return nil, fmt.Errorf("facebook: reading lead %s: %w", ref.ID, err)
	}
	if resp.StatusCode != http.StatusOK {
		var ge graphError
		_ = json.Unmarshal(body, &ge)
		e := ge.Error
		msg := fmt.Sprintf("facebook: reading lead %s: Graph API %d, code %d: %s", ref.ID, resp.StatusCode, e.Code, normalize.Clip(e.Message))
		switch {
		case e.Code == 4 || e.Code == 17 || e.Code == 32 || e.Code == 613:
			return nil, synclayer.Throttled(errors.New(msg+" (a rate limit; waiting)"), time.Minute)
		case e.Code == 190 || e.Code == 102:
			return nil, synclayer.Permanent(errors.New(msg + ": the page_access_token was refused; generate a long-lived Page token with leads_retrieval, set it, and replay the dead letters"))
		case e.Code == 10 || e.Code == 200:
			return nil, synclayer.Permanent(errors.New(msg + ": the token lacks permission to read leads (leads_retrieval, and Leads Access for the app)"))
		case e.Code == 100 && e.Subcode == 33:
			return nil, synclayer.Permanent(errors.New(msg + ": the lead no longer exists (deleted, or another Page's)"))
		case resp.StatusCode >= 500 || e.Code == 1 || e.Code == 2:
			return nil, errors.New(msg)
		}
		return nil, synclayer.Permanent(errors.New(msg))
	}
	var lead struct {
		ID          string `json:"id"`
		CreatedTime string `json:"created_time"`
		FormID      string `json:"form_id"`
		AdID        string `json:"ad_id"`
		FieldData   []struct {
			Name   string   `json:"name"`
			Values []string `json:"values"`
		} `json:"field_data"`
	}
	if err := json.Unmarshal(body, &lead); err != nil {
		return nil, synclayer.Permanent(fmt.Errorf("facebook: lead %s: the Graph API's answer is not a lead", ref.ID))
	}
	at, err := time.Parse("2006-01-02T15:04:05-0700", lead.CreatedTime)
	if err != nil {
		at = time.Now()
	}
	ch := &synclayer.CustomerChange{Fields: map[string]json.RawMessage{}}
	fields := map[string]json.RawMessage{}
	for _, f := range lead.FieldData {
		v := strings.TrimSpace(strings.Join(f.Values, ", "))
		raw, _ := json.Marshal(v)
		if to, ok := s.fields[f.Name]; ok {
			if v != "" {
				ch.Fields[to] = raw
			}
			fields[to] = raw
			continue
		}
		fields[f.Name] = raw
	}
	if _, ok := ch.Fields[synclayer.FieldEmail]; !ok {
		return nil, synclayer.Permanent(fmt.Errorf("facebook: lead %s has no email answer; map the form's email question in sources.<name>.fields", ref.ID))
	}
	for k, v := range map[string]string{"form": lead.FormID, "leadId": lead.ID, "adId": lead.AdID} {
		fields[k], _ = json.Marshal(v)
	}
	return []*synclayer.Event{{DedupeKey: "lead|" + ref.ID, Topic: "lead", Type: synclayer.EventFormSubmitted,
		OccurredAt: at.UTC(), ReceivedAt: time.Now().UTC(), Payload: body,
		Activity: &synclayer.Activity{Kind: synclayer.EventFormSubmitted, Fields: fields, Customer: ch}}}, nil
}
