package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"time"

	"synclayer"
)

// inboundSources are the sources of the destinations that report changes
// back by webhook (synclayer.InboundDestination), by destination name:
// served at /webhooks/<name> beside the configured sources.
func (m *Main) inboundSources() map[string]synclayer.Source {
	out := map[string]synclayer.Source{}
	for name, d := range m.destinations {
		if in, ok := d.(synclayer.InboundDestination); ok {
			if src := in.Inbound(); src != nil {
				out[name] = src
			}
		}
	}
	return out
}

// registerWebhooks creates or updates, in the background, the webhook of
// each destination that can register its own and has a public URL to
// give the platform. A platform that cannot be reached now is tried again
// with backoff until it answers or the server stops; until then the
// platform sends nothing, which the log says.
func (m *Main) registerWebhooks() {
	for _, name := range sortedNames(m.destinations) {
		r, ok := m.destinations[name].(synclayer.WebhookRegistrar)
		if !ok || r.WebhookURL() == "" {
			continue
		}
		ctx, cancel := context.WithCancel(context.Background())
		m.addCancel(cancel)
		m.wg.Add(1)
		go func() {
			defer m.wg.Done()
			wait := 5 * time.Second
			for {
				summary, err := r.RegisterWebhook(ctx)
				if err == nil {
					m.Logger.Info("webhook registered", "destination", name, "url", r.WebhookURL(), "did", summary)
					return
				}
				m.Logger.Warn("webhook not registered; its changes do not reach synclayer until it is", "destination", name,
					"url", r.WebhookURL(), "err", err, "retry_in", wait.String())
				select {
				case <-ctx.Done():
					return
				case <-time.After(wait):
				}
				wait = min(2*wait, 10*time.Minute)
			}
		}()
	}
}

// webhookRequest is what `synclayer <destination> webhook` prints: the
// request that registers the destination's webhook by hand, for a
// platform synclayer cannot call itself or an operator who would rather.
func webhookRequest(cfg *Config, name, url string) (string, error) {
	sec, ok := cfg.Destinations[name]
	if !ok || sec == nil {
		return "", fmt.Errorf("no destination %q is configured under destinations", name)
	}
	d, err := cfg.openDestination(name, checkEnv())
	if err != nil {
		return "", fmt.Errorf("destinations.%s: %w", name, err)
	}
	r, ok := d.(synclayer.WebhookRegistrar)
	if !ok {
		return "", fmt.Errorf("destination %s (%s) sends no webhooks synclayer reads", name, sec.typeOf(name))
	}
	if url == "" {
		url = r.WebhookURL()
	}
	if url == "" {
		if cfg.Server.PublicURL == "" {
			return "", fmt.Errorf("no URL to register: set destinations.%s.webhook.public_url (or server.public_url), or pass --url", name)
		}
		url = cfg.Server.PublicURL + "/webhooks/" + name
	}
	method, path, body := r.WebhookRequest(url)
	return fmt.Sprintf("%s %s\n%s\n", method, path, body), nil
}

// cmdWebhook is `synclayer DESTINATION webhook`.
func cmdWebhook(_ context.Context, name string, args []string, stdout io.Writer) error {
	var url string
	fs, src, pos, err := parseFlags(name+" webhook", args, func(fs *flag.FlagSet) {
		fs.StringVar(&url, "url", "", "the `URL` the platform is to call (default: the destination's webhook.public_url, or server.public_url, + /webhooks/"+name+")")
	})
	if err != nil {
		return err
	}
	if err := wantArgs(fs, pos); err != nil {
		return err
	}
	cfg, err := src.load()
	if err != nil {
		return err
	}
	out, err := webhookRequest(cfg, name, url)
	if err != nil {
		return err
	}
	_, err = io.WriteString(stdout, out)
	return err
}
