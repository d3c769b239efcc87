package magento_test

import (
	"net/url"
	"strings"
	"testing"
	"time"

	"synclayer/source/magento"
)

// TestOAuth_TwitterVector signs the example of X's (Twitter's) "Creating
// a signature" page
// (https://developer.x.com/en/docs/authentication/oauth-1-0a/creating-a-signature),
// a published RFC 5849 HMAC-SHA1 vector with a body parameter and
// characters that need encoding: the base string and the signature must
// match the page's to the byte. HMAC-SHA256, which Magento asks for,
// differs only in the hash.
func TestOAuth_TwitterVector(t *testing.T) {
	u, _ := url.Parse("https://api.twitter.com/1.1/statuses/update.json?include_entities=true")
	params := map[string]string{
		"oauth_consumer_key":     "xvz1evFS4wEEPTGEFPHBog",
		"oauth_nonce":            "kYjzVBB8Y0ZFabxSWbWovY3uYSQ2pTgmZeNu2VS4cg",
		"oauth_signature_method": "HMAC-SHA1",
		"oauth_timestamp":        "1318622958",
		"oauth_token":            "370773112-GmHxMAgYyLbNEtIKZeRNFsMKPR9EyMZeS9weJAEb",
		"oauth_version":          "1.0",
	}
	base := magento.BaseString("post", u, url.Values{"status": {"Hello Ladies + Gentlemen, a signed OAuth request!"}}, params)
	const wantBase = "POST&https%3A%2F%2Fapi.twitter.com%2F1.1%2Fstatuses%2Fupdate.json&include_entities%3Dtrue%26oauth_consumer_key%3Dxvz1evFS4wEEPTGEFPHBog%26oauth_nonce%3DkYjzVBB8Y0ZFabxSWbWovY3uYSQ2pTgmZeNu2VS4cg%26oauth_signature_method%3DHMAC-SHA1%26oauth_timestamp%3D1318622958%26oauth_token%3D370773112-GmHxMAgYyLbNEtIKZeRNFsMKPR9EyMZeS9weJAEb%26oauth_version%3D1.0%26status%3DHello%2520Ladies%2520%252B%2520Gentlemen%252C%2520a%2520signed%2520OAuth%2520request%2521"
	if base != wantBase {
		t.Fatalf("base string\n%s\nwant\n%s", base, wantBase)
	}
	if sig := magento.Sign("HMAC-SHA1", base, "kAcSOqF21Fu85e7zjz7ZN2U4ZRhfV3WpwPAoE3Z7kBw", "LswwdoUaIvS8ltyTt5jkRh4J50vUPVVHtR2YPi5kE"); sig != "hCtSmYh+iHYCEqBWrE7C7hYmtUk=" {
		t.Errorf("signature %s, want hCtSmYh+iHYCEqBWrE7C7hYmtUk=", sig)
	}
}

// TestOAuth_Authorization: the header carries every protocol parameter,
// quoted and encoded, HMAC-SHA256 by default, and the default port is
// left out of the base string (RFC 5849 §3.4.1.2).
func TestOAuth_Authorization(t *testing.T) {
	o := magento.OAuth{ConsumerKey: "ck", ConsumerSecret: "cs", AccessToken: "at", AccessTokenSecret: "as"}
	a, _ := url.Parse("https://Shop.Example.com:443/rest/default/V1/orders?searchCriteria%5BpageSize%5D=1")
	b, _ := url.Parse("https://shop.example.com/rest/default/V1/orders?searchCriteria%5BpageSize%5D=1")
	p := magento.OAuthParams{Nonce: "n", Timestamp: time.Unix(1700000000, 0)}
	ha, hb := magento.Authorization("GET", a, o, p), magento.Authorization("GET", b, o, p)
	if ha != hb {
		t.Errorf("the port and host case changed the header:\n%s\n%s", ha, hb)
	}
	for _, want := range []string{`oauth_consumer_key="ck"`, `oauth_token="at"`, `oauth_signature_method="HMAC-SHA256"`, `oauth_nonce="n"`, `oauth_timestamp="1700000000"`, `oauth_version="1.0"`, `oauth_signature="`} {
		if !strings.Contains(ha, want) {
			t.Errorf("header %s lacks %s", ha, want)
		}
	}
	if magento.Encode("a b+~*") != "a%20b%2B~%2A" {
		t.Errorf("Encode: %s", magento.Encode("a b+~*"))
	}
}
