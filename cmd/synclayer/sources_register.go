package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"slices"
	"strings"
	"text/tabwriter"

	"synclayer"
	"synclayer/skill"
)

// cmdSources runs `synclayer sources register|check [NAME]`: the webhook
// subscriptions of a source whose platform makes them through its API
// (synclayer.HookRegistrar) are created or updated (register), or
// compared with what the enabled skills need (check), at
// server.public_url + /webhooks/<name>. Without NAME, every such source.
func cmdSources(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	sub, rest, err := subcommand("sources", args)
	if err != nil {
		return err
	}
	var name string
	var asJSON bool
	fs, src, pos, err := parseFlags("sources "+sub, rest, func(fs *flag.FlagSet) {
		fs.StringVar(&name, "source", "", "the source block `NAME` (default: every source whose webhooks are made through its platform's API)")
		fs.BoolVar(&asJSON, "json", false, "print the subscriptions as JSON: a list of {topic, id, url, status, detail} for one source, an object of such lists by source name without one")
	})
	if err != nil {
		return err
	}
	if len(pos) > 1 || len(pos) == 1 && name != "" && pos[0] != name {
		return usageErrorf(fs, "give the source's name once, e.g. synclayer sources %s shopify", sub)
	}
	if len(pos) == 1 {
		name = pos[0]
	}
	cfg, err := src.load()
	if err != nil {
		return err
	}
	h := &hookCommand{cfg: cfg, check: sub == "check", stdout: stdout, stderr: stderr, asJSON: asJSON}
	if name != "" {
		return h.runOne(ctx, name)
	}
	return h.runAll(ctx)
}

// hookCommand is one run of sources register or sources check.
type hookCommand struct {
	cfg            *Config
	check          bool
	asJSON         bool
	stdout, stderr io.Writer
	secrets        map[string][]string // every source's, read once (loadSecrets)
}

// openSource builds the named source with its secrets: a platform that
// signs its webhooks with a secret it is given (WooCommerce) is given it
// when register creates a subscription.
func (h *hookCommand) openSource(name string) (synclayer.Source, error) {
	if h.secrets == nil {
		var err error
		if h.secrets, err = h.cfg.loadSecrets(); err != nil {
			return nil, err
		}
	}
	return h.cfg.openSource(name, h.secrets[name])
}

func (h *hookCommand) verb() string {
	if h.check {
		return "check"
	}
	return "register"
}

// runOne registers or checks the named source; its rows print as a list.
func (h *hookCommand) runOne(ctx context.Context, name string) error {
	s, err := h.openSource(name)
	if err != nil {
		return err
	}
	r, ok := s.(synclayer.HookRegistrar)
	if !ok {
		return notRegistrar(h.cfg, name)
	}
	states, err := h.run(ctx, name, r)
	if h.asJSON {
		if jerr := printJSON(h.stdout, orEmpty(states)); err == nil {
			err = jerr
		}
	}
	return err
}

// runAll registers or checks every configured source that registers its
// webhooks through its platform's API, going on past one that fails.
// A source that lists nothing (no API credentials: Shopify without
// admin:) or that no enabled skill takes events from is skipped, saying
// so.
func (h *hookCommand) runAll(ctx context.Context) error {
	if _, err := h.cfg.hookURL("NAME"); err != nil {
		return err
	}
	var errs []error
	byName := map[string][]synclayer.HookState{}
	n := 0
	for _, name := range sortedNames(h.cfg.Sources) {
		if h.cfg.Sources[name] == nil {
			continue
		}
		s, err := h.openSource(name)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		r, ok := s.(synclayer.HookRegistrar)
		if !ok {
			continue
		}
		if l, ok := s.(synclayer.Lister); ok && len(l.ListKinds()) == 0 {
			fmt.Fprintf(h.stderr, "%s: skipped: its API is not configured, so its webhooks are made in the platform's settings (see the README)\n", name)
			continue
		}
		if len(r.HookTopics(h.cfg.skillsFrom(name))) == 0 {
			fmt.Fprintf(h.stderr, "%s: skipped: no enabled skill takes events from it\n", name)
			continue
		}
		n++
		states, err := h.run(ctx, name, r)
		byName[name] = orEmpty(states)
		if err != nil {
			errs = append(errs, err)
		}
	}
	if h.asJSON {
		if err := printJSON(h.stdout, byName); err != nil {
			errs = append(errs, err)
		}
	}
	if n == 0 && len(errs) == 0 {
		return errors.New("no configured source registers its webhooks through its platform's API: " + registrarPlatforms)
	}
	return errors.Join(errs...)
}

// run registers or checks one source's topics at its URL and prints the
// rows (unless JSON is asked). A check that finds a topic not ok is an
// error saying to run sources register.
func (h *hookCommand) run(ctx context.Context, name string, r synclayer.HookRegistrar) ([]synclayer.HookState, error) {
	target, err := h.cfg.hookURL(name)
	if err != nil {
		return nil, err
	}
	skills := h.cfg.skillsFrom(name)
	topics := r.HookTopics(skills)
	if len(topics) == 0 {
		return nil, fmt.Errorf("sources.%s: no enabled skill takes events from it (skills' source: lists it in none of %s), so there are no webhooks to %s",
			name, strings.Join(hookSkills, ", "), h.verb())
	}
	var states []synclayer.HookState
	if h.check {
		states, err = r.Hooks(ctx, target, topics)
	} else {
		states, err = r.RegisterHooks(ctx, target, topics)
	}
	if !h.asJSON {
		fmt.Fprintf(h.stdout, "%s: %s\n", name, target)
		printHooks(h.stdout, states)
	}
	if err != nil {
		return states, fmt.Errorf("sources.%s: %s webhooks: %w", name, h.verb(), err)
	}
	if h.check {
		if bad := notOK(states); bad != "" {
			if !h.asJSON {
				fmt.Fprintf(h.stdout, "%s: %s; run synclayer sources register %s\n", name, bad, name)
			}
			return states, fmt.Errorf("sources.%s: webhook subscriptions %s; run synclayer sources register %s", name, bad, name)
		}
	}
	return states, nil
}

// notOK counts a check's rows by status other than ok ("1 missing, 2
// elsewhere"); "" when every row is ok.
func notOK(states []synclayer.HookState) string {
	counts := map[string]int{}
	var order []string
	for _, s := range states {
		if s.Status == synclayer.HookOK {
			continue
		}
		if counts[s.Status] == 0 {
			order = append(order, s.Status)
		}
		counts[s.Status]++
	}
	parts := make([]string, len(order))
	for i, st := range order {
		parts[i] = fmt.Sprintf("%d %s", counts[st], st)
	}
	return strings.Join(parts, ", ")
}

// hookSkills are the skills whose records come by webhook, in the order
// skillsFrom returns them.
var hookSkills = []string{skill.CustomerSyncName, skill.OrderEventsName, skill.ProductCatalogName, skill.CartEventsName}

// skillsFrom returns the enabled skills that take events from source, as
// the config file sets them (customer-sync as changed through the admin
// API is the running server's; the file's is what a deploy sets).
func (c *Config) skillsFrom(source string) []string {
	var out []string
	if cs := c.Skills.CustomerSync; cs != nil && cs.Enabled && slices.Contains(cs.Source, source) {
		out = append(out, skill.CustomerSyncName)
	}
	for _, s := range c.commerceSkills() {
		if s.enabled() && slices.Contains(s.cfg.Source, source) {
			out = append(out, s.name)
		}
	}
	if cc := c.Skills.CartEvents; cc.enabled() && slices.Contains(cc.Source, source) {
		out = append(out, skill.CartEventsName)
	}
	return out
}

// hookURL is where source's webhooks are delivered:
// server.public_url/webhooks/<name>.
func (c *Config) hookURL(name string) (string, error) {
	if c.Server.PublicURL == "" {
		return "", fmt.Errorf("server.public_url is not set: the platform delivers webhooks to server.public_url/webhooks/%s, an address synclayer cannot guess; set it (or SYNCLAYER_PUBLIC_URL) to the https address the platform reaches synclayer at", name)
	}
	return strings.TrimSuffix(c.Server.PublicURL, "/") + "/webhooks/" + name, nil
}

// registrarPlatforms names the sources whose webhooks synclayer makes.
const registrarPlatforms = "Shopify (with an admin: block), BigCommerce and WooCommerce (with an api: block), and Adobe Commerce (type magento, with api_url and oauth; its webhooks module 1.13.0 or later) register theirs through their API"

// notRegistrar is the error for a source whose webhooks are made by hand.
func notRegistrar(c *Config, name string) error {
	t := c.Sources[name].typeOf(name)
	return fmt.Errorf("sources.%s (type %s) has no API synclayer makes webhook subscriptions through: %s; set this one's webhooks in the platform's settings to deliver to server.public_url/webhooks/%s (the README's section on %s says where)",
		name, t, registrarPlatforms, name, t)
}

// printHooks prints one aligned row a subscription: status, topic, the
// platform's id, the URL and what more the platform or check says.
func printHooks(w io.Writer, states []synclayer.HookState) {
	var b bytes.Buffer
	tw := tabwriter.NewWriter(&b, 0, 4, 2, ' ', 0)
	dash := func(s string) string {
		if s == "" {
			return "-"
		}
		return s
	}
	for _, s := range states {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", s.Status, s.Topic, dash(s.ID), dash(s.URL), s.Detail)
	}
	tw.Flush()
	for _, line := range strings.SplitAfter(b.String(), "\n") {
		if line != "" {
			io.WriteString(w, strings.TrimRight(line, " \n")+"\n")
		}
	}
}

func printJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

func orEmpty(states []synclayer.HookState) []synclayer.HookState {
	if states == nil {
		return []synclayer.HookState{}
	}
	return states
}
