package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"sort"
	"strings"

	"synclayer/source/bigcommerce"
)

// cmdSources runs `synclayer sources register [NAME] [--source NAME]`:
// the platform's webhooks for a source block are created or updated to
// deliver to server.public_url + /webhooks/<name>. BigCommerce is the one
// source whose hooks are made through its API (v3/hooks).
func cmdSources(ctx context.Context, args []string, stdout io.Writer) error {
	if len(args) == 0 || args[0] != "register" {
		if len(args) > 0 && (args[0] == "-h" || args[0] == "--help") {
			return &helpRequest{text: "Usage: synclayer sources register [NAME] [--source NAME] [--config FILE]\n\n" + commandDocs["sources register"].summary + "\n"}
		}
		return &usageError{msg: "sources takes one command: register", usage: "Usage: synclayer sources register [NAME] [--source NAME] [--config FILE]\n"}
	}
	var name string
	fs, src, pos, err := parseFlags("sources register", args[1:], func(fs *flag.FlagSet) {
		fs.StringVar(&name, "source", "", "the source block `NAME` (default: the one bigcommerce source)")
	})
	if err != nil {
		return err
	}
	if len(pos) > 1 || len(pos) == 1 && name != "" && pos[0] != name {
		return usageErrorf(fs, "give the source's name once, e.g. synclayer sources register bigcommerce")
	}
	if len(pos) == 1 {
		name = pos[0]
	}
	cfg, err := src.load()
	if err != nil {
		return err
	}
	if name == "" {
		var names []string
		for n, sc := range cfg.Sources {
			if sc != nil && sc.typeOf(n) == bigcommerce.Type.Type {
				names = append(names, n)
			}
		}
		sort.Strings(names)
		if len(names) != 1 {
			return fmt.Errorf("name the source to register, one of the bigcommerce sources (%s): synclayer sources register NAME", strings.Join(names, ", "))
		}
		name = names[0]
	}
	s, err := cfg.openSource(name, nil)
	if err != nil {
		return err
	}
	bc, ok := s.(*bigcommerce.Source)
	if !ok {
		return fmt.Errorf("sources.%s is not a bigcommerce source; only BigCommerce's hooks are registered through its API (the others are set in the platform's settings)", name)
	}
	if cfg.Server.PublicURL == "" {
		return fmt.Errorf("server.public_url is not set: BigCommerce delivers to an https address on port 443, which register cannot guess")
	}
	dest := strings.TrimSuffix(cfg.Server.PublicURL, "/") + "/webhooks/" + name
	states, err := bc.RegisterHooks(ctx, dest, bigcommerce.Scopes)
	for _, h := range states {
		fmt.Fprintf(stdout, "%-9s %-24s hook %s -> %s\n", h.Status, h.Topic, h.ID, h.URL)
	}
	return err
}
