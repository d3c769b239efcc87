package shopify

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/url"
	"regexp"
	"strings"
	"time"

	"synclayer"
	"synclayer/normalize"
)

// The two mutations, checked against the Admin schema vendored in
// testdata/admin-graphql. Each answer selects the customer's consent as
// Shopify then holds it; the email one also selects smsMarketingConsent,
// which Shopify leaves null for a customer without a phone number, so the
// SMS write is not sent to a customer who cannot have one.
const (
	emailConsentOp    = "customerEmailMarketingConsentUpdate"
	emailConsentQuery = `mutation customerEmailMarketingConsentUpdate($input: CustomerEmailMarketingConsentUpdateInput!) {
  customerEmailMarketingConsentUpdate(input: $input) {
    customer { id emailMarketingConsent { marketingState marketingOptInLevel consentUpdatedAt } smsMarketingConsent { marketingState consentUpdatedAt } }
    userErrors { field message code }
  }
}`
	smsConsentOp    = "customerSmsMarketingConsentUpdate"
	smsConsentQuery = `mutation customerSmsMarketingConsentUpdate($input: CustomerSmsMarketingConsentUpdateInput!) {
  customerSmsMarketingConsentUpdate(input: $input) {
    customer { id smsMarketingConsent { marketingState marketingOptInLevel consentUpdatedAt } }
    userErrors { field message code }
  }
}`
)

// channel is one of the two consents Shopify keeps.
type channel struct {
	name    string // for messages: "email", "SMS"
	sms     bool
	op      string
	query   string
	address string         // what the customer must have: "email address"
	missing *regexp.Regexp // a userError saying the customer has no such address
}

var (
	emailChannel = channel{"email", false, emailConsentOp, emailConsentQuery, "email address", missingAddress("email")}
	smsChannel   = channel{"SMS", true, smsConsentOp, smsConsentQuery, "phone number", missingAddress("phone")}
)

// missingAddress matches a message saying the customer has no such
// address ("Customer must have a phone number", "Email can't be blank"),
// not one about the consent itself ("Email marketing state must be ...").
func missingAddress(word string) *regexp.Regexp {
	return regexp.MustCompile(`(?i)\b(must have|has no|have no|without|missing|requires?|no)\b[^.]*\b` + word +
		`\b|\b` + word + `( address| number)?\b[^.]*\b(is required|required|missing|blank|not present)\b`)
}

// consentInput is CustomerEmailMarketingConsentUpdateInput or
// CustomerSmsMarketingConsentUpdateInput.
type consentInput struct {
	CustomerID string        `json:"customerId"`
	Email      *consentValue `json:"emailMarketingConsent,omitempty"`
	SMS        *consentValue `json:"smsMarketingConsent,omitempty"`
}

// consentValue is CustomerEmailMarketingConsentInput or
// CustomerSmsMarketingConsentInput. marketingOptInLevel is left out: it
// says how an opt-in was given, and an opt-out gives none.
type consentValue struct {
	MarketingState   string `json:"marketingState"`
	ConsentUpdatedAt string `json:"consentUpdatedAt,omitempty"`
}

type consentPayload struct {
	Customer *struct {
		ID    string          `json:"id"`
		Email json.RawMessage `json:"emailMarketingConsent"`
		SMS   json.RawMessage `json:"smsMarketingConsent"` // null for a customer without a phone number
	} `json:"customer"`
	UserErrors []userError `json:"userErrors"`
}

type consentState struct {
	MarketingState string `json:"marketingState"`
}

type userError struct {
	Field   []string `json:"field"`
	Message string   `json:"message"`
	Code    string   `json:"code"`
}

var numericID = regexp.MustCompile(`^[0-9]{1,20}$`)

// WriteConsent writes w's opt-outs to the shop's customer w.SourceID:
// email first, then SMS, each only when its canonical state is
// unsubscribed, in one job. It returns the trace line of what it did.
//
// An SMS opt-out is skipped, not failed, for a customer who has no phone
// number in Shopify (Shopify keeps no SMS consent for them), and likewise
// an email opt-out for one without an email address. A customer Shopify
// does not have, or an input it refuses, is a Permanent error; a 401 or
// 403 is Permanent naming admin.access_token; a throttled call (THROTTLED
// or 429) is a RetryAfter error; 5xx and network failures are plain
// errors, which the queue retries.
func (a *Admin) WriteConsent(ctx context.Context, w synclayer.ConsentWrite) (string, error) {
	type write struct {
		ch    channel
		value *consentValue
	}
	var todo []write
	if w.EmailConsent.State == synclayer.ConsentUnsubscribed {
		todo = append(todo, write{emailChannel, unsubscribed(w.EmailConsent)})
	}
	if w.SMSConsent.State == synclayer.ConsentUnsubscribed {
		todo = append(todo, write{smsChannel, unsubscribed(w.SMSConsent)})
	}
	id := strings.TrimSpace(w.SourceID)
	if len(todo) == 0 {
		return fmt.Sprintf("shopify: nothing to write for customer %s: neither the email nor the SMS consent is unsubscribed", normalize.Clip(id)), nil
	}
	if !numericID.MatchString(id) {
		return "", synclayer.Permanent(synclayer.Errorf(synclayer.EINVALID,
			"shopify: cannot write consent for customer %q: a Shopify customer ID is a number, such as 7001 from a customers/update webhook", normalize.Clip(id)))
	}
	gid := "gid://shopify/Customer/" + id
	// The points of every write are taken at once, so a bucket that holds
	// only one does not leave the job half written.
	if err := a.limit.take(ctx, a.now(), len(todo)*mutationCost); err != nil {
		return "", err
	}
	var done []string
	noPhone := false
	for _, wr := range todo {
		c := wr.ch
		if c.sms && noPhone {
			done = append(done, fmt.Sprintf("%s skipped: customer %s has no phone number in Shopify", c.op, id))
			continue
		}
		in := consentInput{CustomerID: gid, Email: wr.value}
		if c.sms {
			in.Email, in.SMS = nil, wr.value
		}
		var out consentPayload
		err := a.mutate(ctx, c.op, c.query, map[string]any{"input": in}, &out)
		if err == nil && len(out.UserErrors) > 0 {
			var skipped string
			if skipped, err = a.userErrors(c, id, out.UserErrors); err == nil {
				done = append(done, skipped)
				continue
			}
		}
		if err != nil {
			if len(done) > 0 {
				err = fmt.Errorf("%w (already done: %s)", err, strings.Join(done, "; "))
			}
			return "", err
		}
		state := "UNSUBSCRIBED"
		if cu := out.Customer; cu != nil {
			answered := cu.Email
			if c.sms {
				answered = cu.SMS
			}
			var cs consentState
			if json.Unmarshal(answered, &cs) == nil && cs.MarketingState != "" {
				state = cs.MarketingState
			}
			// Only an explicit null says there is no phone number; an
			// answer without the field says nothing.
			noPhone = !c.sms && string(bytes.TrimSpace(cu.SMS)) == "null"
		}
		done = append(done, fmt.Sprintf("%s → %s (customer %s)", c.op, state, id))
	}
	return "shopify: " + strings.Join(done, "; "), nil
}

// unsubscribed is the input of an opt-out decided at c.At: Shopify keeps
// the consent with the newest consentUpdatedAt, so the time is the
// canonical decision's, not the time of the write.
func unsubscribed(c synclayer.Consent) *consentValue {
	v := &consentValue{MarketingState: "UNSUBSCRIBED"}
	at := c.At
	if at.IsZero() {
		at = c.OptOutAt
	}
	if !at.IsZero() {
		v.ConsentUpdatedAt = at.UTC().Format(time.RFC3339)
	}
	return v
}

// notFound matches a userError about a customer Shopify does not have.
var notFound = regexp.MustCompile(`(?i)not found|does not exist|doesn't exist|no customer|invalid id`)

// userErrors reads a mutation's userErrors. Shopify documents their
// shape ({field, message, code}) but not their messages, so they are
// recognized by what they say: a missing address is a skip, a customer
// Shopify does not have (or an error on customerId) is Permanent, and so
// is anything else, with Shopify's message and the field it names.
func (a *Admin) userErrors(c channel, id string, errs []userError) (skipped string, err error) {
	for _, ue := range errs {
		if c.missing.MatchString(ue.Message) {
			return fmt.Sprintf("%s skipped: customer %s has no %s in Shopify (Shopify: %s)", c.op, id, c.address, a.scrub(ue.Message)), nil
		}
	}
	first := errs[0]
	e := &APIError{Status: 200, Op: c.op, Code: first.Code, Field: first.Field, code: synclayer.EINVALID}
	for _, ue := range errs {
		if notFound.MatchString(ue.Message) || lastField(ue.Field) == "customerId" {
			e.Code, e.Field, e.code = ue.Code, ue.Field, synclayer.ENOTFOUND
			e.Message = fmt.Sprintf("Shopify has no customer %s (Shopify: %s): it was deleted or merged in the shop, so there is no %s consent to write", id, a.scrub(ue.Message), c.name)
			return "", synclayer.Permanent(e)
		}
	}
	e.Message = fmt.Sprintf("Shopify refused the %s opt-out of customer %s at %s: %s", c.name, id, fieldPath(first.Field), a.scrub(first.Message))
	return "", synclayer.Permanent(e)
}

func lastField(f []string) string {
	if len(f) == 0 {
		return ""
	}
	return f[len(f)-1]
}

func fieldPath(f []string) string {
	if len(f) == 0 {
		return "the input"
	}
	return strings.Join(f, ".")
}

var _ synclayer.ConsentWritePlanner = (*Admin)(nil)

// PlanConsent is what WriteConsent would send for w, for dry runs: the
// mutation of each channel whose canonical state is unsubscribed, with
// its variables. (An SMS write to a customer without a phone number,
// which WriteConsent skips on Shopify's answer, is planned too.)
func (a *Admin) PlanConsent(w synclayer.ConsentWrite) []synclayer.PlannedCall {
	id := strings.TrimSpace(w.SourceID)
	if !numericID.MatchString(id) {
		return nil
	}
	gid := "gid://shopify/Customer/" + id
	var calls []synclayer.PlannedCall
	path := adminPath(a.version)
	if u, err := url.Parse(a.endpoint); err == nil {
		path = u.Path
	}
	if w.EmailConsent.State == synclayer.ConsentUnsubscribed {
		calls = append(calls, synclayer.PlannedCall{Method: "POST", Path: path, Body: map[string]any{
			"operationName": emailConsentOp, "variables": map[string]any{"input": consentInput{CustomerID: gid, Email: unsubscribed(w.EmailConsent)}}}})
	}
	if w.SMSConsent.State == synclayer.ConsentUnsubscribed {
		calls = append(calls, synclayer.PlannedCall{Method: "POST", Path: path, Body: map[string]any{
			"operationName": smsConsentOp, "variables": map[string]any{"input": consentInput{CustomerID: gid, SMS: unsubscribed(w.SMSConsent)}}}})
	}
	return calls
}
