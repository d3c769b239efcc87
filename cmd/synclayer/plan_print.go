package main

import (
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"time"
)

// print writes the plan for a reader: per record, its name, each skill's
// calls with their bodies, the field-level changes, what is done with
// attributes the mapping no longer sends, and the workflow rules.
func (r *planReport) print(w io.Writer) error {
	env := ""
	if r.Environment != "" {
		env = " (environment " + r.Environment + ")"
	}
	fmt.Fprintf(w, "Dry run of %s%s, samples as source %s, against %s. Nothing live was touched.\n", r.Config, env, r.Source, r.State)
	for _, rec := range r.Records {
		fmt.Fprintf(w, "\n%s  %s  %s\n", rec.File, orDash(rec.Event), rec.name())
		switch {
		case rec.Status != "planned":
			fmt.Fprintf(w, "  %s: %s\n", rec.Status, rec.Reason)
			continue
		case len(rec.Calls) == 0:
			fmt.Fprintf(w, "  no call: %s\n", orDash(rec.Reason))
		case rec.Reason != "":
			fmt.Fprintf(w, "  note: %s\n", rec.Reason)
		}
		for _, c := range rec.Calls {
			body := ""
			if c.Body != nil {
				b, _ := json.Marshal(c.Body)
				body = " " + string(b)
			}
			at := ""
			if !c.At.IsZero() {
				at = " at " + c.At.UTC().Format(time.RFC3339)
			}
			fmt.Fprintf(w, "  %s → %s%s: %s %s%s\n", c.Skill, orDash(c.Destination), at, c.Method, c.Path, body)
		}
		for _, ch := range rec.Changes {
			fmt.Fprintf(w, "    %s: %s → %s\n", ch.Field, ch.Before, ch.After)
		}
		for _, u := range rec.Unmapped {
			if u.Plan == "cleared" {
				fmt.Fprintf(w, "    %s: clear %s (clear_unmapped)\n", u.Destination, u.Attribute)
			} else {
				fmt.Fprintf(w, "    %s: leave %s alone (no longer mapped; clear_unmapped: true would clear it)\n", u.Destination, u.Attribute)
			}
		}
		for _, wf := range rec.Workflows {
			when := ""
			if !wf.At.IsZero() {
				when = " at " + wf.At.UTC().Format(time.RFC3339)
			}
			if !wf.Matched {
				fmt.Fprintf(w, "  workflow %s (%s%s): no match: %s\n", wf.Rule, wf.Trigger, when, wf.Reason)
				continue
			}
			fmt.Fprintf(w, "  workflow %s (%s %s%s): matches\n", wf.Rule, wf.Trigger, wf.TriggerKey, when)
			for _, a := range wf.Actions {
				to := ""
				if a.Destination != "" {
					to = " on " + a.Destination
				}
				outcome := "fires once (fingerprint " + a.Fingerprint + ")"
				if !a.Fires {
					outcome = "would be skipped: " + a.Skipped
				}
				fmt.Fprintf(w, "    %s%s: %s: %s\n", a.Kind, to, a.Does, outcome)
			}
		}
	}
	return nil
}

// name is how the text plan names a record: email, source ID and
// contact, those it has.
func (rec *planRecord) name() string {
	var parts []string
	if rec.Email != "" {
		parts = append(parts, rec.Email)
	}
	if rec.SourceID != "" {
		parts = append(parts, rec.SourceID)
	}
	s := strings.Join(parts, "  ")
	if rec.ContactID != "" {
		s += " → contact " + rec.ContactID
	}
	return strings.TrimSpace(s)
}
