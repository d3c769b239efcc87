package hubspot

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"net/url"
	"os"
	"strconv"
	"strings"
	"time"

	"synclayer"
)

// WebhookSettings is the webhook block of a hubspot section:
//
//	webhook: { client_secret: "${HUBSPOT_CLIENT_SECRET}", public_url: "https://sync.example.com" }
//
// HubSpot signs each webhook delivery with the app's client secret
// (signature v3), over the URL it calls.
type WebhookSettings struct {
	// ClientSecret is the HubSpot app's client secret (the app's Auth
	// tab), a secret setting. Without it the destination takes no
	// webhooks.
	ClientSecret string `json:"client_secret"`
	// ClientSecretFile, instead of ClientSecret, is a file holding it
	// (a mounted secret), read at start; a trailing newline is dropped.
	ClientSecretFile string `json:"client_secret_file"`
	// PublicURL is where HubSpot reaches synclayer, if not
	// server.public_url: the webhook's URL is PublicURL/webhooks/<name>,
	// and the signature is checked over that URL.
	PublicURL string `json:"public_url"`
	// ReconcileInterval is how often Reconcile searches the contacts
	// HubSpot changed, for webhooks that were lost: nil (unset) is
	// DefaultReconcileInterval, 0 ("off") turns it off. Set without a
	// client secret, it reconciles with no webhook at all.
	ReconcileInterval *synclayer.Interval `json:"reconcile_interval"`
}

// Reconciliation intervals: the default, and the shortest and longest
// accepted. Each pass costs at least one search request, which has its
// own per-second limit.
const (
	DefaultReconcileInterval = 15 * time.Minute
	MinReconcileInterval     = time.Minute
	MaxReconcileInterval     = 24 * time.Hour
)

// MaxSignatureAge is how old a delivery's X-HubSpot-Request-Timestamp may
// be: HubSpot's documentation says to reject a request older than 5
// minutes (docs/platforms/hubspot.md).
const MaxSignatureAge = 5 * time.Minute

// UnmarshalJSON refuses keys the block does not know, naming them under
// webhook (webhook.secret).
func (w *WebhookSettings) UnmarshalJSON(b []byte) error {
	type plain WebhookSettings
	var p plain
	if err := synclayer.DecodeBlock(b, &p, "webhook", "HubSpot webhook setting (client_secret, client_secret_file, public_url, reconcile_interval)"); err != nil {
		return err
	}
	*w = WebhookSettings(p)
	return nil
}

// validate checks the block and returns the reconciliation interval in
// effect (0 for none). A block without a client secret is accepted only
// when it turns reconciliation on: it reads HubSpot, and takes no
// webhook.
func (w *WebhookSettings) validate() (time.Duration, error) {
	var errs []error
	reconcile := DefaultReconcileInterval
	if w.ReconcileInterval != nil {
		reconcile = time.Duration(*w.ReconcileInterval)
	}
	if reconcile != 0 && (reconcile < MinReconcileInterval || reconcile > MaxReconcileInterval) {
		errs = append(errs, synclayer.FieldErrorf("webhook.reconcile_interval", "is %s; it must be from %s to %s (each pass searches HubSpot's changed contacts), or off",
			reconcile, MinReconcileInterval, MaxReconcileInterval))
	}
	if f := w.ClientSecretFile; f != "" {
		b, err := os.ReadFile(f)
		switch {
		case w.ClientSecret != "":
			errs = append(errs, synclayer.FieldErrorf("webhook.client_secret_file", "is set beside client_secret: set only one of the two"))
		case err != nil:
			errs = append(errs, synclayer.FieldErrorf("webhook.client_secret_file", "cannot be read: %v", errors.Unwrap(err)))
		default:
			w.ClientSecret = strings.TrimRight(string(b), "\r\n")
		}
	}
	switch s := w.ClientSecret; {
	case s == "" && w.ClientSecretFile != "":
		errs = append(errs, synclayer.FieldErrorf("webhook.client_secret_file", "holds no secret: put the app's client secret in it"))
	case s == "" && w.ReconcileInterval != nil && reconcile != 0:
	case s == "":
		errs = append(errs, synclayer.FieldErrorf("webhook.client_secret", "is not set, so HubSpot's webhooks could not be verified: set it to the app's client secret, e.g. client_secret: \"${HUBSPOT_CLIENT_SECRET}\""))
	case strings.TrimSpace(s) != s:
		errs = append(errs, synclayer.FieldErrorf("webhook.client_secret", "has spaces around it: copy the app's client secret exactly"))
	}
	if w.PublicURL != "" {
		u, err := synclayer.PublicURL(w.PublicURL, "HubSpot", "its signature")
		if err != nil {
			errs = append(errs, err)
		} else {
			w.PublicURL = u
		}
	}
	if err := errors.Join(errs...); err != nil {
		return 0, err
	}
	return reconcile, nil
}

// WebhookURL is the URL to give HubSpot as the app's webhook target URL:
// the public URL + /webhooks/<destination name>, or "" when the section
// takes no webhooks or no public URL is known.
func (d *Destination) WebhookURL() string {
	if d.webhook == nil || d.webhook.ClientSecret == "" {
		return ""
	}
	base := d.webhook.PublicURL
	if base == "" && d.publicURL != nil {
		base = strings.TrimRight(d.publicURL(), "/")
	}
	if base == "" {
		return ""
	}
	return base + "/webhooks/" + url.PathEscape(d.name)
}

// signedURI is uri as HubSpot signs it: with the characters its
// documentation lists URL-decoded (%3A :, %2F /, %3F ?, %40 @, %21 !,
// %24 $, %27 ', %28 (, %29 ), %2A *, %2C ,, %3B ;), in either case of
// hex digit, and nothing else changed.
func signedURI(uri string) string {
	var b strings.Builder
	for i := 0; i < len(uri); i++ {
		if uri[i] == '%' && i+2 < len(uri) {
			if c, ok := decodedBySignature[strings.ToUpper(uri[i+1:i+3])]; ok {
				b.WriteByte(c)
				i += 2
				continue
			}
		}
		b.WriteByte(uri[i])
	}
	return b.String()
}

var decodedBySignature = map[string]byte{
	"3A": ':', "2F": '/', "3F": '?', "40": '@', "21": '!', "24": '$',
	"27": '\'', "28": '(', "29": ')', "2A": '*', "2C": ',', "3B": ';',
}

// SignatureV3 is HubSpot's X-HubSpot-Signature-v3 for a request:
// base64(HMAC-SHA256(client secret, method + URI + body + timestamp)),
// the URI decoded as signedURI says and timestamp the
// X-HubSpot-Request-Timestamp header as sent (Unix milliseconds).
func SignatureV3(secret, method, uri string, body []byte, timestamp string) string {
	m := hmac.New(sha256.New, []byte(secret))
	m.Write([]byte(method + signedURI(uri)))
	m.Write(body)
	m.Write([]byte(timestamp))
	return base64.StdEncoding.EncodeToString(m.Sum(nil))
}

// checkTimestamp reads X-HubSpot-Request-Timestamp and refuses one more
// than MaxSignatureAge old (or as far in the future: a clock that far off
// is no more trustworthy).
func checkTimestamp(ts string, now time.Time) error {
	ms, err := strconv.ParseInt(ts, 10, 64)
	if err != nil || ms <= 0 {
		return unauthorized("X-HubSpot-Request-Timestamp", "is not Unix milliseconds; HubSpot sends it with every signed request")
	}
	age := now.Sub(time.UnixMilli(ms))
	if age > MaxSignatureAge || age < -MaxSignatureAge {
		return unauthorized("X-HubSpot-Request-Timestamp", "is "+age.Round(time.Second).String()+" from now; a delivery signed more than 5 minutes ago is refused (a replay, or a clock far off)")
	}
	return nil
}

func unauthorized(field, msg string) error {
	return &synclayer.Error{Code: synclayer.EUNAUTHORIZED, Field: field, Message: msg}
}
