package main

import (
	"cmp"
	"fmt"
	"net/url"
	"slices"
	"time"

	"synclayer"
	"synclayer/source/custom"
)

// NotificationsConfig is notifications: where delivery outcomes are told.
type NotificationsConfig struct {
	WebhookURL string   `yaml:"webhook_url,omitempty"` // env
	Secret     string   `yaml:"secret,omitempty"`      // env; whsec_ (Standard Webhooks)
	Events     []string `yaml:"events,omitempty"`      // default [sync_failed]
	// SlackWebhookURL is a Slack incoming webhook; the URL is the secret. env
	SlackWebhookURL    string        `yaml:"slack_webhook_url,omitempty"`
	ErrorRateThreshold float64       `yaml:"error_rate_threshold,omitempty"` // 0: no error-rate alerts
	ErrorRateWindow    time.Duration `yaml:"error_rate_window,omitempty"`    // default 15m
	QuietPeriod        time.Duration `yaml:"quiet_period,omitempty"`         // closes a sync_failed incident; default 15m
	// SilenceAfter without a webhook from a source that used to send
	// them raises source_silent; default 6h.
	SilenceAfter time.Duration `yaml:"silence_after,omitempty"`
	// RefusedThreshold 401s from one source in 15 minutes raise
	// source_rejected; default 5, -1 turns it off.
	RefusedThreshold int `yaml:"refused_threshold,omitempty"`
	// Reports are the health reports sent to the webhook and Slack:
	// weekly (Monday 08:00 UTC), monthly (the 1st 08:00 UTC); default none.
	// The dashboard shows them at /ui/report whatever this says.
	Reports []string `yaml:"reports,omitempty"`
}

// notificationEvents are the types notifications.events may name.
var notificationEvents = []synclayer.NotificationType{synclayer.NotifySyncCompleted, synclayer.NotifySyncFailed, synclayer.NotifyBatchCompleted, synclayer.NotifyRecovered,
	synclayer.NotifySourceSilent, synclayer.NotifySourceRejected}

// reportPeriods maps notifications.reports' names to the periods.
var reportPeriods = map[string]synclayer.ReportPeriod{"weekly": synclayer.ReportWeek, "monthly": synclayer.ReportMonth}

// enabled reports whether anything is to be notified.
func (n *NotificationsConfig) enabled() bool { return n.WebhookURL != "" || n.SlackWebhookURL != "" }

func (c *Config) finishNotifications(e *configErrors) {
	n := &c.Notifications
	const key = "notifications"
	checkURL := func(k, v string) {
		if u, err := url.Parse(v); err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
			e.add(k, "must be an http:// or https:// URL") // the value may hold a token, so it is not repeated
		}
	}
	if n.SilenceAfter < 0 {
		e.add(key+".silence_after", "must not be negative; the default is 6h")
	}
	if n.RefusedThreshold < -1 {
		e.add(key+".refused_threshold", "must be a count of refusals, or -1 to turn source_rejected off")
	}
	if n.WebhookURL == "" {
		if n.Secret != "" || len(n.Events) > 0 {
			e.add(key+".webhook_url", "is required when notifications.secret or notifications.events is set")
		}
	} else {
		checkURL(key+".webhook_url", n.WebhookURL)
		if n.Secret == "" {
			e.add(key+".secret", "is required with webhook_url: the Standard Webhooks signing secret, e.g. secret: \"${NOTIFY_WEBHOOK_SECRET}\"")
		} else if err := (custom.Config{Secrets: []string{n.Secret}}).Validate(); err != nil {
			e.add(key+".secret", "must be whsec_ followed by base64")
		}
		if len(n.Events) == 0 {
			n.Events = []string{string(synclayer.NotifySyncFailed)}
		}
	}
	for i, ev := range n.Events {
		if !slices.Contains(notificationEvents, synclayer.NotificationType(ev)) {
			e.add(fmt.Sprintf("%s.events[%d]", key, i), "must be sync_completed, sync_failed, batch_completed or recovered, not %q", ev)
		}
	}
	for i, r := range n.Reports {
		switch {
		case reportPeriods[r] == "":
			e.add(fmt.Sprintf("%s.reports[%d]", key, i), "must be weekly or monthly, not %q", r)
		case !n.enabled():
			e.add(fmt.Sprintf("%s.reports[%d]", key, i), "reports go to the webhook and Slack: set notifications.webhook_url or slack_webhook_url too")
		}
	}
	if n.SlackWebhookURL != "" {
		checkURL(key+".slack_webhook_url", n.SlackWebhookURL)
	}
	switch {
	case n.ErrorRateThreshold < 0 || n.ErrorRateThreshold > 1:
		e.add(key+".error_rate_threshold", "must be a share between 0 and 1, such as 0.2 for 20%%")
	case n.ErrorRateThreshold > 0 && n.SlackWebhookURL == "":
		e.add(key+".error_rate_threshold", "error-rate alerts go to Slack: set notifications.slack_webhook_url too")
	}
	if n.ErrorRateWindow != 0 && n.ErrorRateWindow < time.Minute {
		e.add(key+".error_rate_window", "must be at least 1m")
	}
	if n.QuietPeriod < 0 {
		e.add(key+".quiet_period", "must not be negative")
	}
	if n.enabled() {
		n.ErrorRateWindow = cmp.Or(n.ErrorRateWindow, 15*time.Minute)
		n.QuietPeriod = cmp.Or(n.QuietPeriod, 15*time.Minute)
	}
}
