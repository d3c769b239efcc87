package faults

import (
	"fmt"
	"slices"
	"strconv"
	"time"

	"synclayer/source/shopify/shopifysim"
)

// WriteBackReport is what the opt-outs made in Brevo (brevo_side.go) and
// the write-back to Shopify (writeback.go) measured and found.
type WriteBackReport struct {
	BrevoSent, BrevoAcked int      // opt-outs made in Brevo and sent; acknowledged
	BrevoKinds            []string // "12 unsubscribed", ...
	BrevoRedelivered      int      // sent again after the acknowledgement, as Brevo does: must be a duplicate
	BrevoNearFaults       int      // whose delivery, or the 2 s after it, had a kill or PostgreSQL restart in it
	BrevoSkipped          int      // not sent: the contact was not in Brevo in time
	StaleOptIns           int      // owner opt-ins older than an opt-out made in Brevo, acknowledged after it: must lift nothing
	ReOptIns              int      // contacts opted out in Brevo whose newer owner opt-in stands at the end

	Expected int // contacts opted out elsewhere at the end who are Shopify customers: Shopify must hold their opt-out
	Done     int // of which Shopify holds UNSUBSCRIBED at the statement's time
	Written  int // distinct opt-out statements written
	InDoubt  int // repeats of a statement with a kill or restart between the write and its commit

	Calls                                         int // mutations the Admin API got
	Answered429, Throttled, Status5xx, Unanswered int // of which answered 429, THROTTLED, 5xx, or not at all (dropped, timed out)
	AimedKills                                    int // kills while the answer to an applied write was held
	Replayed, ReplayWrote                         int // done write-back jobs replayed from the dead-letter queue; writes they made: must be none
	Echoes, EchoesAcked                           int // Shopify's customers/update echoes of the writes
	QuietEchoes                                   int // echoes sent again in a quiet queue, where all they cause is theirs

	Lost         int // contacts Shopify does not hold UNSUBSCRIBED at the time of their opt-out
	Subscribed   int // calls setting any state but UNSUBSCRIBED: synclayer never subscribes anyone in the store
	Duplicated   int // repeats of a statement with no fault between
	Unwanted     int // writes of no opt-out made elsewhere (Shopify's own, or none acknowledged), and any SMS write
	EchoChanged  int // echoes whose answer said they changed the contact
	ConsentWrong int // contacts whose canonical email consent in the store is not the model's

	Notes   []string
	Details []string
	Flagged []string // emails of the contacts found wrong, for their histories
}

// Failed reports whether the write-back broke a promise, or the store
// holds a consent the rules do not give.
func (r *WriteBackReport) Failed() bool {
	return r.Lost+r.Subscribed+r.Duplicated+r.Unwanted+r.EchoChanged+r.ConsentWrong+r.ReplayWrote > 0
}

func (r *WriteBackReport) flag(email string) {
	if email != "" && !slices.Contains(r.Flagged, email) {
		r.Flagged = append(r.Flagged, email)
	}
}

func (r *WriteBackReport) note(format string, args ...any) {
	if len(r.Details) < maxDetails {
		r.Details = append(r.Details, fmt.Sprintf(format, args...))
	}
}

// canonical is a contact's email consent as the store holds it at the
// end.
type canonical struct {
	Found     bool
	State     string // the store's ConsentState: "", not_subscribed, subscribed, unsubscribed
	Source    string // of the deciding statement
	At        time.Time
	ShopifyID string // its source ID at shopify; "" when none
}

// writeBackInput is what CompareWriteBack holds against each other.
type writeBackInput struct {
	expect    map[string]Expectation
	canonical map[string]canonical           // email → the store's contact
	customers map[string]shopifysim.Customer // Shopify ID → what the simulator holds
	elsewhere map[string][]time.Time         // Shopify ID → times of the acknowledged opt-outs from sources other than shopify
	writes    []AdminWrite
	echoes    []echo
	faults    []fault
}

// CompareWriteBack checks that every contact whose final email opt-out
// came from a source other than shopify, and who is a Shopify customer,
// is UNSUBSCRIBED in Shopify at the time of that statement; that no call
// set any other state; that each distinct statement (customer and
// consentUpdatedAt) was written once, or again only when a fault fell
// between the write and its commit; that nothing else was written; and
// that no echo changed anything. It also holds the store's canonical
// email consent against the model's, since Brevo cannot show every
// wrong one: a block Brevo made itself stays whatever synclayer decides.
func CompareWriteBack(rep *WriteBackReport, in writeBackInput) {
	emailOfID := map[string]string{}
	for email, c := range in.canonical {
		emailOfID[c.ShopifyID] = email
	}
	for _, email := range sortedKeys(in.expect) {
		e, c := in.expect[email], in.canonical[email]
		want := map[string]string{optOut: "unsubscribed", optIn: "subscribed", "": ""}[e.Consent]
		switch {
		case !c.Found:
			rep.ConsentWrong++
			rep.flag(email)
			rep.note("store: %s is not in the store", email)
			continue
		case c.State != want && !(want == "" && c.State == "not_subscribed"):
			rep.ConsentWrong++
			rep.flag(email)
			rep.note("store: %s email consent %q (by %s at %s), the model wants %q", email, c.State, c.Source, clock(c.At), want)
		}
		if c.State != "unsubscribed" || c.Source == "shopify" || c.ShopifyID == "" {
			continue
		}
		rep.Expected++
		cu, ok := in.customers[c.ShopifyID]
		switch {
		case !ok || cu.EmailConsent == nil:
			rep.Lost++
			rep.note("write-back lost: %s (customer %s, opted out by %s at %s) is not a Shopify customer with an email", email, c.ShopifyID, c.Source, clock(c.At))
		case cu.EmailConsent.MarketingState != "UNSUBSCRIBED":
			rep.Lost++
			rep.note("write-back lost: customer %s (%s, opted out by %s at %s) is %s in Shopify", c.ShopifyID, email, c.Source, clock(c.At), cu.EmailConsent.MarketingState)
		case !cu.EmailConsent.ConsentUpdatedAt.Equal(c.At):
			rep.Lost++
			rep.note("write-back lost: customer %s (%s) is UNSUBSCRIBED at %s in Shopify, want the time of the opt-out by %s, %s",
				c.ShopifyID, email, clock(cu.EmailConsent.ConsentUpdatedAt), c.Source, clock(c.At))
		default:
			rep.Done++
			continue
		}
		rep.flag(email)
	}

	type statement struct {
		id string
		at time.Time
	}
	last := map[statement]AdminWrite{}
	for _, w := range in.writes {
		rep.Calls++
		switch {
		case w.Status == 0:
			rep.Unanswered++
		case w.Status == 429:
			rep.Answered429++
		case w.Status >= 500:
			rep.Status5xx++
		case w.Code == "THROTTLED":
			rep.Throttled++
		}
		if w.State != "UNSUBSCRIBED" {
			rep.Subscribed++
			rep.flag(emailOfID[w.CustomerID])
			rep.note("write-back: %s %s set customer %s to %q; synclayer never subscribes anyone in the store", clock(w.At), w.Op, w.CustomerID, w.State)
		}
		if !w.Applied {
			continue
		}
		if w.Op != emailMutation {
			rep.Unwanted++
			rep.flag(emailOfID[w.CustomerID])
			rep.note("write-back: %s %s of customer %s, though nobody opted out of SMS", clock(w.At), w.Op, w.CustomerID)
			continue
		}
		s := statement{w.CustomerID, w.ConsentAt}
		prev, seen := last[s]
		last[s] = w
		if !seen {
			rep.Written++
			if !slices.ContainsFunc(in.elsewhere[w.CustomerID], w.ConsentAt.Equal) {
				rep.Unwanted++
				rep.flag(emailOfID[w.CustomerID])
				rep.note("write-back: %s customer %s written UNSUBSCRIBED at %s, which is no opt-out acknowledged from a source other than shopify", clock(w.At), w.CustomerID, clock(w.ConsentAt))
			}
			continue
		}
		if inDoubt(in.faults, Delivery{At: prev.At, Answered: prev.Answered}, Delivery{At: w.At}) {
			rep.InDoubt++
			continue
		}
		rep.Duplicated++
		rep.flag(emailOfID[w.CustomerID])
		rep.note("write-back: customer %s's opt-out at %s written again at %s (first %s) with no fault between", w.CustomerID, clock(w.ConsentAt), clock(w.At), clock(prev.At))
	}

	for _, e := range in.echoes {
		if e.Event == nil {
			rep.Notes = append(rep.Notes, fmt.Sprintf("no echo for the write of customer %s at %s: it has no consentUpdatedAt", e.Write.CustomerID, clock(e.Write.At)))
			continue
		}
		rep.Echoes++
		if e.Acked {
			rep.EchoesAcked++
		}
		if e.Applied {
			rep.EchoChanged++
			rep.flag(emailOfID[e.Write.CustomerID])
			rep.note("echo: Shopify's customers/update for customer %s (unsubscribed at %s) was applied: it changed the contact", e.Write.CustomerID, clock(e.Write.ConsentAt))
		}
	}
}

// elsewhere collects, by Shopify ID, the times of the acknowledged
// opt-outs that did not come from shopify: the only statements the
// write-back may write.
func elsewhere(acked []*Event) map[string][]time.Time {
	out := map[string][]time.Time{}
	for _, ev := range acked {
		if c := ev.Consent; c != nil && c.State == optOut && ev.Source != "shopify" {
			id := strconv.FormatInt(shopifyID(ev.Contact), 10)
			out[id] = append(out[id], c.At)
		}
	}
	return out
}

func clock(t time.Time) string {
	if t.IsZero() {
		return "(none)"
	}
	return t.UTC().Format("2006-01-02 15:04:05")
}
