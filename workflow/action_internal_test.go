package workflow

import (
	"strings"
	"testing"
	"unicode/utf8"
)

// TestClipSlack: a message past Slack's 40,000 characters is cut with a
// mark, never inside an escape, and a short one is kept as it is.
func TestClipSlack(t *testing.T) {
	if got := clipSlack("Order &amp; more"); got != "Order &amp; more" {
		t.Errorf("short text changed: %q", got)
	}
	long := strings.Repeat("é", maxSlackText+10)
	if got := clipSlack(long); utf8.RuneCountInString(got) != maxSlackText || !strings.HasSuffix(got, "…") {
		t.Errorf("long text: %d characters, suffix %q", utf8.RuneCountInString(got), got[len(got)-3:])
	}
	// An escape straddling the cut is dropped whole.
	edge := strings.Repeat("x", maxSlackText-3) + "&amp;tail"
	if got := clipSlack(edge); strings.Contains(got, "&am") || !strings.HasSuffix(got, "x…") {
		t.Errorf("escape at the cut: ...%q", got[len(got)-12:])
	}
}
