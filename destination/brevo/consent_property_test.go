package brevo

import (
	"bufio"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"os"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"synclayer"
)

// brevoModel is what Brevo holds for one contact after the planned calls.
// blockedInBrevo is a block Brevo made itself (the person unsubscribed
// from one of its campaigns), which synclayer must never lift.
type brevoModel struct {
	exists, inList, blacklisted bool
	blockedInBrevo              bool
}

func (m *brevoModel) apply(p Plan) {
	switch p.Op {
	case OpCreate:
		m.exists = true
		if p.Create.ListIDs != nil {
			m.inList = true
		}
		if p.Create.EmailBlacklisted != nil {
			m.blacklisted = *p.Create.EmailBlacklisted
		}
	case OpUpdate:
		if p.Update.ListIDs != nil {
			m.inList = true
		}
		if p.Update.UnlinkListIDs != nil {
			m.inList = false
		}
		if p.Update.EmailBlacklisted != nil {
			m.blacklisted = *p.Update.EmailBlacklisted
		}
	case OpDelete:
		*m = brevoModel{blockedInBrevo: m.blockedInBrevo, blacklisted: m.blockedInBrevo} // Brevo keeps an unsubscribed address blocked
	}
}

type consentEvent struct {
	source string
	state  synclayer.ConsentState // "" means the event carries no consent
	at     time.Time
	delete bool
}

const owner = "shopify"

// TestConsentProperty runs thousands of random event sequences (mixed
// sources, duplicates, reordering, opt-outs, opt-ins, full resyncs and
// deletes; unsubscribes reported by Brevo itself, and the write-back of
// every opt-out made elsewhere to the store with the store's echo of it)
// through Merge and Plan, delivering at random points, and checks that
// Brevo ends marketable only if the newest consent event from the owner
// is an opt-in that no opt-out matches or follows, that
// emailBlacklisted:false is only ever sent for an owner's opt-in and never
// lifts a block Brevo made itself, and that the store's echo of a
// write-back changes nothing.
func TestConsentProperty(t *testing.T) {
	seeds := regressionSeeds(t)
	n := 3000
	if v, err := strconv.Atoi(os.Getenv("SYNCLAYER_CONSENT_SEQUENCES")); err == nil {
		n = v
	}
	if testing.Short() {
		n = 300
	}
	for i := range n {
		seeds = append(seeds, uint64(i)*7919+1)
	}
	for _, seed := range seeds {
		if msg := checkConsentSequence(seed); msg != "" {
			t.Fatalf("seed %d: %s\n(add the seed to skill/testdata/consent_seeds.txt to keep it as a regression case)", seed, msg)
		}
	}
}

func regressionSeeds(t *testing.T) []uint64 {
	f, err := os.Open("testdata/consent_seeds.txt")
	if err != nil {
		t.Fatalf("open regression seeds: %v", err)
	}
	defer f.Close()
	var out []uint64
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		v, err := strconv.ParseUint(line, 10, 64)
		if err != nil {
			t.Fatalf("bad seed %q", line)
		}
		out = append(out, v)
	}
	return out
}

func checkConsentSequence(seed uint64) string {
	r := rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))
	base := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	sources := []string{owner, "woocommerce", "custom"}
	states := []synclayer.ConsentState{synclayer.ConsentSubscribed, synclayer.ConsentUnsubscribed, synclayer.ConsentNone, ""}

	var events []consentEvent
	for range 2 + r.IntN(12) {
		ev := consentEvent{source: sources[r.IntN(3)], state: states[r.IntN(4)], at: base.Add(time.Duration(r.IntN(20)) * time.Minute)}
		if r.IntN(6) == 0 { // Brevo reports an unsubscribe from one of its campaigns
			ev = consentEvent{source: "brevo", state: synclayer.ConsentUnsubscribed, at: ev.at}
		}
		if r.IntN(15) == 0 {
			ev = consentEvent{source: owner, delete: true, at: ev.at}
		}
		events = append(events, ev)
		if r.IntN(4) == 0 { // a duplicate delivery
			events = append(events, ev)
		}
		if r.IntN(5) == 0 { // a full resync carrying the first consent seen, with its old time
			first := events[0]
			events = append(events, consentEvent{source: first.source, state: first.state, at: first.at})
		}
	}
	r.Shuffle(len(events), func(i, j int) { events[i], events[j] = events[j], events[i] })

	s := &ContactSync{ListID: 5, HardDelete: r.IntN(2) == 0, FieldMapping: map[string]string{"email": "email"}, Destination: "brevo"}
	c := &synclayer.Contact{ID: "ct_1"}
	synclayer.Merge(c, &synclayer.CustomerChange{Fields: map[string]json.RawMessage{"email": json.RawMessage(`"p@x.com"`)}},
		synclayer.MergeContext{Source: owner, At: base.Add(-time.Hour)})

	// Half the sequences have a second consent source (a second store):
	// its opt-ins count too, and the property weakens to the promise
	// itself: marketable only with a consent source's opt-in newer than
	// every opt-out.
	consentSources := []string{owner}
	if r.IntN(2) == 0 {
		consentSources = append(consentSources, "woocommerce")
	}

	var held *brevoState
	var brevo brevoModel
	deliver := func() string {
		p, err := s.plan(c, held)
		if err != nil {
			return "plan: " + err.Error()
		}
		// Before a lift, run reads Brevo's record of the person's own
		// opt-outs (GET /contacts/{identifier} statistics): the model's.
		keepBrevoBlock(&p, brevo.blockedInBrevo)
		if sentFalse(p) && !(c.EmailConsent.State == synclayer.ConsentSubscribed && slices.Contains(consentSources, c.EmailConsent.Source)) {
			return fmt.Sprintf("sent emailBlacklisted:false while consent is %+v", c.EmailConsent)
		}
		if sentFalse(p) && brevo.blockedInBrevo {
			return "sent emailBlacklisted:false over a block Brevo made itself"
		}
		brevo.apply(p)
		next := p.Next
		held = &next
		return ""
	}
	var trail []string
	for _, ev := range events {
		ch := &synclayer.CustomerChange{Delete: ev.delete}
		if ev.state != "" {
			ch.EmailConsent = &synclayer.ConsentChange{State: ev.state, At: ev.at}
		}
		if ev.source == "brevo" { // Brevo blocked the address before it reported it
			brevo.blacklisted, brevo.blockedInBrevo = true, true
		}
		synclayer.Merge(c, ch, synclayer.MergeContext{Source: ev.source, At: ev.at, ConsentSources: consentSources, Create: !ev.delete && r.IntN(3) == 0})
		trail = append(trail, fmt.Sprintf("%s:%s@%d del=%v", ev.source, ev.state, ev.at.Sub(base)/time.Minute, ev.delete))
		// The write-back tells the store of an opt-out made elsewhere,
		// and the store's webhook echoes it, with the time written.
		if k := c.EmailConsent; k.State == synclayer.ConsentUnsubscribed && k.Source != owner && r.IntN(2) == 0 {
			before := c.EmailConsent
			synclayer.Merge(c, &synclayer.CustomerChange{EmailConsent: &synclayer.ConsentChange{State: synclayer.ConsentUnsubscribed, At: k.At}},
				synclayer.MergeContext{Source: owner, At: k.At, ConsentSources: consentSources})
			if c.EmailConsent != before {
				return fmt.Sprintf("the store's echo of a write-back changed consent from %+v to %+v after %s", before, c.EmailConsent, strings.Join(trail, ", "))
			}
			trail = append(trail, fmt.Sprintf("echo:%s@%d", owner, k.At.Sub(base)/time.Minute))
		}
		if r.IntN(2) == 0 {
			if msg := deliver(); msg != "" {
				return msg + " after " + strings.Join(trail, ", ")
			}
		}
	}
	if msg := deliver(); msg != "" {
		return msg
	}
	marketable := brevo.exists && brevo.inList && !brevo.blacklisted
	if marketable && len(consentSources) > 1 && !optInOutlivesOptOuts(events, consentSources) {
		return fmt.Sprintf("marketable in Brevo without a consent source's opt-in newer than every opt-out; events %s; consent %+v", strings.Join(trail, ", "), c.EmailConsent)
	}
	if marketable && len(consentSources) == 1 && !ownerOptInStands(events) {
		return fmt.Sprintf("marketable in Brevo, but the newest owner consent is no standing opt-in; events %s; consent %+v", strings.Join(trail, ", "), c.EmailConsent)
	}
	return ""
}

// ownerOptInStands reports whether the newest consent event from the owner
// is an opt-in and no opt-out, from any source, is at the same time or newer.
func ownerOptInStands(events []consentEvent) bool {
	var newest time.Time
	found := false
	for _, ev := range events {
		if ev.source == owner && ev.state != "" && (!found || ev.at.After(newest)) {
			newest, found = ev.at, true
		}
	}
	if !found {
		return false
	}
	for _, ev := range events {
		if ev.source == owner && ev.state != "" && ev.at.Equal(newest) && ev.state != synclayer.ConsentSubscribed {
			return false // a tie with a non-opt-in is no standing opt-in
		}
		if ev.state == synclayer.ConsentUnsubscribed && !ev.at.Before(newest) {
			return false
		}
	}
	return true
}

// optInOutlivesOptOuts reports whether an opt-in from one of sources is
// strictly newer than every opt-out, from any source.
func optInOutlivesOptOuts(events []consentEvent, sources []string) bool {
	var newestOut time.Time
	for _, ev := range events {
		if ev.state == synclayer.ConsentUnsubscribed && ev.at.After(newestOut) {
			newestOut = ev.at
		}
	}
	for _, ev := range events {
		if ev.state == synclayer.ConsentSubscribed && slices.Contains(sources, ev.source) && ev.at.After(newestOut) {
			return true
		}
	}
	return false
}

func sentFalse(p Plan) bool {
	switch {
	case p.Create != nil && p.Create.EmailBlacklisted != nil:
		return !*p.Create.EmailBlacklisted
	case p.Update != nil && p.Update.EmailBlacklisted != nil:
		return !*p.Update.EmailBlacklisted
	}
	return false
}
