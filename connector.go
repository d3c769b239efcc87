package synclayer

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"time"
)

// Source verifies and normalizes webhook deliveries from one platform.
type Source interface {
	// Name is the source's name in config and in URLs: "shopify".
	Name() string

	// Parse verifies the request over its raw body and returns the events it
	// carries. A bad or missing signature is an EUNAUTHORIZED error; a body
	// or topic it cannot read is EINVALID naming the field. A delivery that
	// needs no processing (a ping) returns no events and no error.
	Parse(h http.Header, body []byte, now time.Time) ([]*Event, error)
}

// WebhookAnswerer is a source whose platform reads the body of its
// webhooks' 2xx answers: its fields are added to the program's own answer
// ({"status", "events"}). Adobe Commerce's webhooks expect an operation,
// {"op": "success"} for "go on unchanged", and log any other answer as a
// failed call.
type WebhookAnswerer interface {
	Source
	AnswerFields() map[string]any
}

// QueryHeader carries a webhook request's URL query to Source.Parse, set
// by the server (any value the caller sent is replaced): a platform that
// cannot sign its webhooks nor set a header authenticates with a secret
// in the URL it calls (Mailchimp's audience webhooks). It is never kept
// with a rejection.
const QueryHeader = "X-Synclayer-Query"

// SourceType is one platform a source package offers to the registry.
type SourceType struct {
	Type string // the config's type:, and the plain section name that implies it
	// Open builds a source from its accepted signing secrets, current
	// first, and its settings (SourceSettings).
	Open func(secrets []string, settings SourceSettings) (Source, error)
	// SecretPrefix starts a signing secret synclayer generates for the
	// quick start: "whsec_" for Standard Webhooks.
	SecretPrefix string
	// Exports are the export files of the platform that backfill reads:
	// the package that reads the platform's webhooks reads its exports
	// too, so one package knows its fields.
	Exports []ExportFormat
	// SecretKeys are the dotted keys of the block's own settings that
	// hold secrets ("admin.access_token"): redacted in logs and in the
	// config history, and warned about when written literally.
	SecretKeys []string
	// SecretOptional says the block may go without a secret: the package
	// checks what verification it needs itself (Magento's webhooks are
	// signed with a key pair, and a Magento Open Source store is only
	// polled).
	SecretOptional bool
}

// ExportFormat is one kind of export file a platform produces.
type ExportFormat struct {
	Exts []string // the file name endings that choose it: ".csv"
	What string   // what it is, for errors: "a Shopify customer or order export"
	// Open reads the export's start (its header) and returns its reader.
	// asOf dates what the export does not date itself, so a webhook newer
	// than the export wins over it; now is the time the load started.
	Open func(r io.Reader, asOf, now time.Time) (ExportReader, error)
}

// What an export holds (ExportReader.Records).
const (
	ExportContacts = "contacts"
	ExportOrders   = "orders"
	ExportEvents   = "events" // events of any kind, one a line
)

// ExportReader streams the events of an export file.
type ExportReader interface {
	// Records is what the file holds: ExportContacts, ExportOrders or
	// ExportEvents.
	Records() string
	// Next returns the next event and the line it starts on. A record
	// that cannot be read returns its line and an error naming the field;
	// reading goes on after it. The end is io.EOF.
	Next() (line int, ev *Event, err error)
}

// SourceSettings are a source block's settings beyond its secrets.
type SourceSettings struct {
	// Name is the block's name, and so its endpoint (/webhooks/<name>,
	// /forms/<name>): what a source puts in the links it makes.
	Name string
	// Tolerance is how far a signed timestamp may be from now, for
	// schemes that sign one; zero means the source's default.
	Tolerance time.Duration
	// Section is the source's own keys of its config block, as JSON:
	// every key beyond those each source has (type, secret, secret_file,
	// previous_secrets, tolerance, rate_limit), with ${VAR} references
	// expanded; nil when there are none. The package decodes it with
	// DecodeSettings, so a key it does not know is refused by name.
	Section json.RawMessage
	// Channels are the program's signed-webhook and Slack senders, for a
	// source that reports back to its platform by webhook (the custom
	// source's consent write-back) without naming a channel's package.
	Channels Channels
	// Shared, if set, is what the instances sharing the store agree on,
	// for what a source must remember across restarts and instances
	// (BigCommerce's subscriber id → email, since a deletion names only
	// the id). Nil for commands that run no server.
	Shared SharedKeys
}

// Destination is one configured account of an outside system synclayer
// writes to: a Brevo account, a Klaviyo account. Its package builds it
// from its config section (DestinationType.Open); the program maps the
// section's type to that package in one registry, and knows nothing else
// about the platform.
//
// What a destination can do is found by asking for the capability
// interfaces below (ContactDestination, ...): a skill runs on every
// destination that implements its capability.
type Destination interface {
	// Name is the config name ("brevo", "klaviyo-eu"). Jobs, sync state,
	// delivery stats, metrics and trace lines carry it, so two accounts of
	// one platform never mix.
	Name() string
	// Type is the platform: "brevo", "klaviyo", "mailchimp".
	Type() string
}

// DestinationType is one platform a destination package offers to the
// registry.
type DestinationType struct {
	Type string // the config's type:, and the plain section name that implies it
	// Open builds a destination named name from its config section, as JSON
	// with ${VAR} references already expanded. Errors are *Error values
	// whose Field is the key inside the section ("api_key"), or several of
	// them joined with errors.Join.
	Open func(name string, section json.RawMessage, env DestinationEnv) (Destination, error)
	// SecretKeys are the section's keys whose values are secrets, kept out
	// of logs and of the config history.
	SecretKeys []string
}

// DestinationEnv is what the program gives a destination when it is built.
type DestinationEnv struct {
	Logger *slog.Logger
	// Mount serves h under the server's /simulator/<name>/ and returns that
	// prefix's URL. A destination with no credentials mounts its built-in
	// simulator there, and says so loudly in the log. Nil for commands that
	// run no server: they then need real credentials.
	Mount func(h http.Handler) (baseURL string)
	// OnRateLimitWait is called each time a request waits for one of the
	// destination's rate-limit buckets.
	OnRateLimitWait func(bucket string, d time.Duration)
	// Transport, if set, is the round tripper of the destination's HTTP
	// client (the server's traces each call); nil is
	// http.DefaultTransport. A client names each request's path template
	// with WithHTTPRoute, so the transport never needs the raw path.
	Transport http.RoundTripper
	// Tokens keeps credentials the destination obtains while it runs (an
	// OAuth app's refresh and access tokens), by destination name, sealed
	// by the program before they reach the store. Nil for commands that
	// run without a store: a destination that needs it refuses its config
	// there. Without an encryption key, its reads fail saying how to set
	// one.
	Tokens TokenStore
	// Shared is the store's SharedKeys: what the instances sharing the
	// store (and the queues of one instance) make once. A destination
	// whose platform finds a new record only after a lag (Pipedrive's
	// search index and a new organization) claims the record's key here
	// before it creates, so two deliveries at once make one record, not
	// two. Nil for commands without a store: the destination then finds
	// and creates as before, safe only within the process.
	Shared SharedKeys
	// PublicURL, if set, returns server.public_url (or, without one, the
	// server's own address): where the platform reaches synclayer, for a
	// destination whose webhooks are signed over the URL they are sent to
	// (HubSpot's signature v3). Nil for commands that run no server.
	PublicURL func() string
}

// RateBudgeter is a destination whose client keeps what the platform's
// rate-limit headers said, for the dashboard: Brevo (x-sib-ratelimit-*)
// and Klaviyo (RateLimit-*). Mailchimp limits connections, not requests,
// and reports no budget.
type RateBudgeter interface {
	// RateBudgets returns each bucket an answer has reported on, sorted by
	// bucket; none before the first answer with the headers.
	RateBudgets() []RateBudget
}

// RateBudget is one rate-limit bucket as the client last knew it.
type RateBudget struct {
	Bucket    string
	Remaining int // requests the client may still send in this window
	Limit     int // requests per window
	Reset     time.Time
}

// ContactDestination is a destination that keeps contacts: customer-sync
// runs on it.
type ContactDestination interface {
	Destination
	// ContactSync builds the destination's side of customer-sync for one
	// skill config. Errors name the key inside the skill's block for this
	// destination: "field_mapping.firstName", "options.list_id".
	ContactSync(cfg ContactSyncConfig) (ContactSync, error)
}

// ContactSyncConfig is one skill's settings for one destination.
type ContactSyncConfig struct {
	// Mapping maps canonical fields to the destination's own field names;
	// empty means the destination's default mapping. Only mapped fields
	// leave synclayer.
	Mapping map[string]string
	// Options is the destination's own options block as JSON (list_id,
	// audience_id, ...), without the options every destination shares
	// (sync_mode, delete_behavior, consent_sources, default_region), which
	// the skill handles itself.
	Options    json.RawMessage
	HardDelete bool // delete_behavior: hard
	// ClearUnmapped empties, at the next delivery, the attributes the
	// destination holds from an earlier mapping that this one no longer
	// sends (clear_unmapped: true); by default they are left alone.
	ClearUnmapped bool
	Logger        *slog.Logger
}

// ContactSync is a destination's side of customer-sync. The shared runner
// (package skill) does the rest, once for every destination: it reads the
// contact and what the destination last held, reads the destination back
// after an attempt whose answer was lost, records the plan's intent before
// any call, skips no-ops, and writes the sync state and trace line.
//
// Consent is the destination's to keep in Plan: a contact's consent is
// sent to the destination only as the platform's explicit opt-in when
// Contact.Marketable, an opt-out is always sent, and nothing synclayer
// sends may lift an opt-out the platform itself recorded.
type ContactSync interface {
	// Mapping is the field mapping in effect.
	Mapping() map[string]string
	// Prepare makes sure the destination can hold every mapped field,
	// since platforms drop unknown ones silently (Brevo attributes,
	// Mailchimp merge fields). With create it creates the missing ones and
	// returns their names; without, an EINVALID error names them.
	Prepare(ctx context.Context, create bool) (created []string, err error)
	// Plan decides the calls that bring the destination from prev, the
	// state it holds for the contact (nil: never delivered), to c. It does
	// no I/O. A contact the destination cannot hold is a Permanent error
	// that says why.
	Plan(c *Contact, prev json.RawMessage) (*Plan, error)
	// ReadBack reads what the destination holds for c now, as a state Plan
	// takes, after an attempt whose answer was lost. local is what
	// synclayer last recorded, for marks only synclayer knows (that a
	// block was its own). It returns nil when the destination holds
	// nothing for c.
	ReadBack(ctx context.Context, c *Contact, local json.RawMessage) (json.RawMessage, error)
	// Apply makes the plan's calls and returns the trace line ("POST
	// /contacts → 201 created"). It may replace *plan when an answer
	// changes what is needed, as when a contact deleted at the platform
	// must be created again.
	Apply(ctx context.Context, c *Contact, plan *Plan) (summary string, err error)
	// Fields flattens a state into field → value, so a dry run can show
	// what a delivery changes field by field.
	Fields(state json.RawMessage) (map[string]json.RawMessage, error)
}

// PlanOp is the kind of change a plan makes at the destination.
type PlanOp string

const (
	PlanNone   PlanOp = "none"
	PlanCreate PlanOp = "create"
	PlanUpdate PlanOp = "update"
	PlanDelete PlanOp = "delete"
	PlanUpsert PlanOp = "upsert" // create or update in one call
)

// Plan is what one delivery will do and what the destination will
// hold afterwards.
type Plan struct {
	Op PlanOp `json:"op"`
	// Calls are the requests Apply will make, in order, for the trace and
	// for dry runs. Apply may make read calls it does not list.
	Calls []PlannedCall `json:"calls,omitempty"`
	// Next is the state the destination holds after the calls succeed.
	Next json.RawMessage `json:"-"`
	// Intent, when set, is recorded as the sync state before any call, so
	// a mark the calls make (synclayer blocked this address) survives an
	// answer that is lost.
	Intent json.RawMessage `json:"-"`
	Reason string          `json:"reason,omitempty"` // why no call is needed
	// Detail is the destination's own description of the plan for the
	// trace (the request bodies); nil for none.
	Detail any `json:"detail,omitempty"`
	// Unmapped names the attributes the destination holds that the
	// mapping no longer sends, and whether the plan leaves them alone or
	// clears them (clear_unmapped), for dry runs.
	Unmapped UnmappedAttributes `json:"unmapped,omitzero"`
}

// PlannedCall is one HTTP request a plan makes.
type PlannedCall struct {
	// Destination names the destination in a dry run of several; "" in
	// one destination's own plan.
	Destination string `json:"destination,omitempty"`
	Method      string `json:"method"`
	Path        string `json:"path"`
	Body        any    `json:"body,omitempty"`
}

// InboundDestination is a destination whose platform reports back what
// changed on its side (an unsubscribe from a campaign, a hard bounce, a
// spam complaint, a signup form, an attribute edited in its interface), by
// webhook. Its events go through the same ingest as a source's: verified,
// stored, deduplicated, acknowledged only after the commit, and merged by
// the same identity and consent rules, so an opt-out made inside the
// platform reaches the canonical store and every other destination.
type InboundDestination interface {
	Destination
	// Inbound is the source that reads the platform's webhooks, served at
	// /webhooks/<destination name>, or nil when the section configures no
	// webhook. Its events' Source is the destination's name.
	Inbound() Source
}

// WebhookRegistrar is an InboundDestination that can create its webhook
// in the platform itself.
type WebhookRegistrar interface {
	// WebhookURL is the URL the platform is to call, or "" when the
	// section names no public URL (the platform cannot reach synclayer,
	// or the operator registers the webhook by hand).
	WebhookURL() string
	// RegisterWebhook creates synclayer's webhook at the platform, or
	// updates the one it created before, so a restart never adds a
	// second. It returns a line for the log saying which it did.
	RegisterWebhook(ctx context.Context) (summary string, err error)
	// WebhookRequest is the request RegisterWebhook would send, for an
	// operator to send by hand: method, path and JSON body, with the
	// token in it.
	WebhookRequest(url string) (method, path string, body []byte)
}

// ConsentWriter is a source whose platform can be told of an opt-out
// made elsewhere (an unsubscribe from a Brevo campaign, a hard bounce),
// so the store's own mails stop too: Shopify's
// customerEmailMarketingConsentUpdate. A source is one only when its
// section configures the platform's API (Shopify's admin:). The program
// calls it from a durable job, with the queue's retries, and only for
// opt-outs that did not come from the source itself.
type ConsentWriter interface {
	Source
	// WriteConsent writes w's opt-outs to the platform's customer
	// w.SourceID and returns what it did, for the trace. Only
	// ConsentUnsubscribed is written: a zero or other state leaves that
	// channel alone, so synclayer never subscribes anyone in the store. A
	// customer the platform no longer has is a Permanent error; a
	// throttled call a RetryAfter error.
	WriteConsent(ctx context.Context, w ConsentWrite) (summary string, err error)
}

// ConsentWrite is one write-back of consent to a source platform.
type ConsentWrite struct {
	SourceID     string  // the platform's own customer ID
	Email        string  // the contact's email, for the summary
	EmailConsent Consent // the canonical email consent; written only when unsubscribed
	SMSConsent   Consent // the canonical SMS consent; written only when unsubscribed
}

// Reconciler is a destination that can list what changed on its side
// since a cursor: because webhooks get lost (an outage, a deploy, a
// webhook the operator never registered), or because the platform sends
// none for the change (Klaviyo's unsubscribes): Brevo's GET
// /contacts?modifiedSince. The program calls it every ReconcileInterval,
// once across the instances sharing a store, with the cursor it stored
// last, runs the events it returns through ingest as it runs a webhook's
// (the same dedupe keys make a change found by both count once), and only
// then stores the next cursor, so a crash between the two reads the page
// again rather than skipping it.
type Reconciler interface {
	Destination
	// ReconcileInterval is how often to look; 0 turns it off.
	ReconcileInterval() time.Duration
	// Reconcile returns the events for what changed after cursor ("" on
	// the first run: the package picks a sensible start) and the cursor
	// to store once they are committed; more says another page is
	// waiting and should be read at once. The events never opt anyone
	// in: a state read back may be synclayer's own earlier write, so only
	// opt-outs (and the platform's own records of them) are reported.
	// known reads what the destination's skills recorded it holds (the
	// sync state), so a state synclayer already knows of is no news: a
	// block read back after a later write must not opt out again someone
	// who opted in since.
	Reconcile(ctx context.Context, cursor string, now time.Time, known SyncStateReader) (events []*Event, next string, more bool, err error)
}

// SyncStateReader reads what a destination is recorded to hold of a
// record (the Store does).
type SyncStateReader interface {
	// FindSyncState returns the state, or ENOTFOUND.
	FindSyncState(ctx context.Context, recordKey, destination string) (*SyncState, error)
}

// ConsentWritePlanner is a ConsentWriter that can say, without calling,
// what WriteConsent would send, for dry runs.
type ConsentWritePlanner interface {
	PlanConsent(w ConsentWrite) []PlannedCall
}
