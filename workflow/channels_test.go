package workflow_test

import (
	"synclayer"
	"synclayer/destination/slack"
	"synclayer/destination/webhook"
)

// channels are the real Slack and webhook senders, as the program wires
// them.
var channels = synclayer.Channels{
	Slack: func(url string) synclayer.NotificationSender { return &slack.Client{URL: url} },
	Webhook: func(url, secret string) (synclayer.NotificationSender, error) {
		return webhook.New(webhook.Config{URL: url, Secret: secret})
	},
}
