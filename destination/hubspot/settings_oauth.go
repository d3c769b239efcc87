package hubspot

import (
	"context"
	"strings"
	"time"

	"synclayer"
)

// OAuthSettings is a hubspot block's oauth: an OAuth app (HubSpot →
// Development → the app's Auth tab) installed in the account. The
// refresh token seeds the grant; afterwards synclayer keeps the current
// one, and the access tokens, sealed in its store.
type OAuthSettings struct {
	ClientID     string `json:"client_id"`
	ClientSecret string `json:"client_secret"` // a secret
	RefreshToken string `json:"refresh_token"` // a secret
}

// check reports what is wrong with the block: a missing key, spaces
// around a credential, or access_token set too.
func (o *OAuthSettings) check(accessToken string, env synclayer.DestinationEnv) []error {
	if o == nil {
		return nil
	}
	var errs []error
	if accessToken != "" {
		errs = append(errs, synclayer.FieldErrorf("oauth", "is set together with access_token: use one, a private app's access_token or an OAuth app's oauth block"))
	}
	for _, f := range []struct{ key, v, hint string }{
		{"client_id", o.ClientID, "the app's client ID"},
		{"client_secret", o.ClientSecret, "the app's client secret, e.g. client_secret: \"${HUBSPOT_CLIENT_SECRET}\""},
	} {
		if f.v == "" {
			errs = append(errs, synclayer.FieldErrorf("oauth."+f.key, "is not set: set it to %s", f.hint))
		}
	}
	for _, f := range [][2]string{{"client_id", o.ClientID}, {"client_secret", o.ClientSecret}, {"refresh_token", o.RefreshToken}} {
		if f[1] != "" && strings.TrimSpace(f[1]) != f[1] {
			errs = append(errs, synclayer.FieldErrorf("oauth."+f[0], "has spaces around it: copy it exactly"))
		}
	}
	if env.Tokens == nil && env.Mount == nil {
		errs = append(errs, synclayer.FieldErrorf("oauth", "needs synclayer's store, where the app's tokens are kept, and this command runs without one: run it inside synclayer serve, or use a private app's access_token"))
	}
	return errs
}

// config is the client's OAuth configuration, or nil without the block.
func (o *OAuthSettings) config(name string, env synclayer.DestinationEnv) *OAuth {
	if o == nil {
		return nil
	}
	return &OAuth{ClientID: o.ClientID, ClientSecret: o.ClientSecret, RefreshToken: o.RefreshToken, Tokens: env.Tokens, Name: name}
}

// load reads the stored token at start (with a store), so a wrong
// encryption key or a missing refresh token stops the server rather
// than dead-lettering its deliveries.
func (o *OAuthSettings) load(c *Client, env synclayer.DestinationEnv) error {
	if o == nil || env.Tokens == nil {
		return nil
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := c.LoadToken(ctx); err != nil {
		return synclayer.FieldErrorf("oauth", "%s", strings.TrimPrefix(err.Error(), "hubspot: "))
	}
	return nil
}
