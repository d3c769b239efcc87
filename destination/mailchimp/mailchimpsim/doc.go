// Package mailchimpsim is an in-memory simulator of the parts of the
// Mailchimp Marketing API 3.0 synclayer uses: audience members (with
// Mailchimp's status, status_if_new, archive and permanent-delete rules),
// member tags, custom member events (recorded on the member, see
// Member.Events), merge fields, and e-commerce stores with their products
// and variants, orders, carts and customers (an opt_in_status true
// subscribes a new or transactional address to the store's audience, as
// Mailchimp documents), and batch operations (POST /batches, polled
// through pending … finished, each operation answered by the same
// handlers as alone, results as a gzipped tar archive at a link that
// needs no key). It is an http.Handler for httptest servers in
// tests, and the synclayer binary mounts it when no Mailchimp API key is
// configured.
//
// It answers as Mailchimp documents: HTTP Basic auth with the API key as
// password, problem-details error bodies, 429 above the simultaneous
// connection limit, "Member In Compliance State" for a subscribe that
// only the person may make, and "Forgotten Email Not Subscribed" for an
// address that was permanently deleted. docs/platforms/mailchimp.md lists
// where each rule comes from and which are the simulator's own guesses.
//
// Tests can inject outages, read every call, and change members "inside
// Mailchimp" (the person unsubscribes, an address bounces) with the
// methods in hooks.go; ecommerce_hooks.go shows the stores' contents, and
// batch_hooks.go holds, finishes and expires batches. Audience webhooks
// (GET/POST /lists/{list_id}/webhooks, GET/PATCH …/{webhook_id}; a URL is
// kept only when it answers a GET with 200, as Mailchimp checks it) are
// delivered to by the hooks in webhook_hooks.go: Unsubscribe, Clean,
// SignUpForm, EditProfile and ChangeEmail change the member and POST the
// form-encoded delivery to each webhook triggered by that event and source.
// Options.Validate checks every request, as mailchimpspec does against
// the vendored OpenAPI spec. It answers both at the root and under /3.0.
package mailchimpsim
