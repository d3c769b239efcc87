package faults

import (
	"bytes"
	"encoding/json"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"synclayer/destination/brevo/brevosim"
)

// Findings is what Compare found wrong. Each count is of contacts (or, for
// StaleOverwrites, of requests), and Details says which and how, up to a
// limit.
type Findings struct {
	Lost            int // contacts missing, or holding an older value or consent than acknowledged
	LostFields      int // attribute values older than the newest acknowledged one
	LostConsent     int // an acknowledged owner opt-in (or no opt-out) not reflected
	Duplicated      int // emails with more than one Brevo contact, or more than one 201 to POST /contacts
	Resubscribed    int // opted-out (or never opted-in) contacts in the list or not blocklisted, or sent emailBlacklisted:false without cause
	StaleOverwrites int // applied writes that set an attribute to an older version than an earlier applied write had
	OwnedOverwrites int // contacts holding TOTAL_ORDERS, which order-events owns and no platform may set
	// BrevoKept counts contacts opted in again after an opt-out made in
	// Brevo whose Brevo block stayed: allowed, since synclayer lifts only
	// a block it made, and it made none when the opt-in came before it
	// wrote the opt-out.
	BrevoKept int

	Details []string
	Flagged []string // emails of the contacts found resubscribed, duplicated or lost, in that order
}

const maxDetails = 40

func (f *Findings) note(format string, args ...any) {
	if len(f.Details) < maxDetails {
		f.Details = append(f.Details, fmt.Sprintf(format, args...))
	}
}

// Compare holds Brevo's final contacts and every contact write it received
// against the model's expectations. listID is the marketable list.
func Compare(expect map[string]Expectation, contacts []brevosim.Contact, writes []Write, listID int64) Findings {
	var f Findings
	byEmail := map[string][]brevosim.Contact{}
	for _, c := range contacts {
		byEmail[strings.ToLower(c.Email)] = append(byEmail[strings.ToLower(c.Email)], c)
	}
	emailOfExt := map[string]string{}
	created := map[string]int{}
	for _, w := range writes {
		if w.Method == "POST" && w.ExtID != "" && w.Email != "" {
			emailOfExt[w.ExtID] = w.Email
		}
		if w.Method == "POST" && (w.Status == 201 || w.Applied == 201) {
			created[w.Email]++
		}
	}
	resub := map[string]bool{}
	var dup, lostEmails []string
	for _, email := range sortedKeys(expect) {
		e := expect[email]
		cs := byEmail[email]
		if len(cs) == 0 {
			f.Lost++
			f.note("lost: %s is not in Brevo", email)
			continue
		}
		if len(cs) > 1 || created[email] > 1 {
			f.Duplicated++
			f.note("duplicated: %s has %d Brevo contacts and %d POST /contacts answered 201", email, len(cs), created[email])
		}
		c, lost := cs[0], false
		for _, a := range sortedKeys(e.Attrs) {
			want, got := e.Attrs[a], c.Attributes[a]
			if !sameValue(want.V, got) {
				f.LostFields++
				lost = true
				f.note("lost: %s %s = %v, want %v (version %d)", email, a, got, want.V, want.Version)
			}
		}
		if v, ok := c.Attributes[attrOrders]; ok {
			f.OwnedOverwrites++
			f.note("overwritten: %s %s = %v, want none: order-events owns it and the contact placed no orders", email, attrOrders, v)
		}
		inList := slices.Contains(c.ListIDs, listID)
		switch e.Consent {
		case optOut:
			if inList || !c.EmailBlacklisted {
				resub[email] = true
				f.note("resubscribed: %s opted out but is in list %d=%v, blocklisted=%v", email, listID, inList, c.EmailBlacklisted)
			}
		case optIn:
			if inList && c.EmailBlacklisted && e.BrevoBlock {
				f.BrevoKept++
			}
			if !inList || (c.EmailBlacklisted && !e.BrevoBlock) {
				f.LostConsent++
				lost = true
				f.note("lost: %s opted in (owner) but is in list %d=%v, blocklisted=%v", email, listID, inList, c.EmailBlacklisted)
			}
		default:
			if inList {
				resub[email] = true
				f.note("resubscribed: %s never opted in through the consent owner but is in list %d", email, listID)
			}
			if c.EmailBlacklisted {
				f.LostConsent++
				lost = true
				f.note("lost: %s never opted out but is blocklisted", email)
			}
		}
		if lost {
			f.Lost++
		}
		if len(cs) > 1 || created[email] > 1 {
			dup = append(dup, email)
		} else if lost {
			lostEmails = append(lostEmails, email)
		}
	}
	for _, w := range writes {
		if !bytes.Contains(bytes.ReplaceAll(w.Body, []byte(" "), nil), []byte(`"emailBlacklisted":false`)) {
			continue
		}
		email := w.Email
		if email == "" {
			email = emailOfExt[w.ExtID]
		}
		if e, ok := expect[email]; !ok || !e.ReOptIn {
			resub[email] = true
			f.note("resubscribed: %s %s sent emailBlacklisted:false for %s, who never opted in again after opting out", w.At.Format("15:04:05.000"), w.Method, email)
		}
	}
	f.Resubscribed = len(resub)
	for _, email := range append(append(sortedKeys(resub), dup...), lostEmails...) {
		if !slices.Contains(f.Flagged, email) {
			f.Flagged = append(f.Flagged, email)
		}
	}
	f.StaleOverwrites = staleOverwrites(&f, writes, emailOfExt)
	return f
}

// staleOverwrites counts 2xx writes that set an attribute to an older
// version than an earlier 2xx write for the same contact had set: Brevo
// went back in time, even if a later write fixed it.
func staleOverwrites(f *Findings, writes []Write, emailOfExt map[string]string) int {
	newest := map[string]int{} // email + attribute → version
	n := 0
	for _, w := range writes {
		if !w.OK() || w.Method == "DELETE" {
			continue
		}
		email := w.Email
		if email == "" {
			email = emailOfExt[w.ExtID]
		}
		var body struct {
			Attributes map[string]any `json:"attributes"`
		}
		if json.Unmarshal(w.Body, &body) != nil {
			continue
		}
		for _, a := range sortedKeys(body.Attributes) {
			v, ok := versionOf(a, body.Attributes[a])
			if !ok {
				continue
			}
			key := email + " " + a
			if old, seen := newest[key]; seen && v < old {
				n++
				f.note("stale overwrite: %s %s %s set to version %d after version %d", w.At.Format("15:04:05.000"), email, a, v, old)
				continue
			}
			newest[key] = v
		}
	}
	return n
}

// versionOf reads the version an attribute value encodes (see model.go).
func versionOf(attr string, v any) (int, bool) {
	switch attr {
	case attrOrders:
		f, ok := v.(float64)
		return int(f), ok
	case attrFirst, attrLast:
		s, _ := v.(string)
		if i := strings.LastIndexByte(s, 'v'); i >= 0 {
			n, err := strconv.Atoi(s[i+1:])
			return n, err == nil
		}
	case attrTags:
		s, _ := v.(string)
		if rest, ok := strings.CutPrefix(s, "t"); ok {
			n, err := strconv.Atoi(strings.SplitN(rest, ",", 2)[0])
			return n, err == nil
		}
	}
	return 0, false
}

func sameValue(want, got any) bool {
	switch w := want.(type) {
	case float64:
		g, ok := got.(float64)
		return ok && g == w
	case string:
		g, ok := got.(string)
		return ok && g == w
	}
	return false
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}
