package normalize

import "testing"

func TestHTMLText(t *testing.T) {
	for in, want := range map[string]string{
		"":                                  "",
		"plain  text\n":                     "plain text",
		"<p>Please <b>cancel</b> it</p>":    "Please cancel it",
		"<p>one</p><p>two</p>":              "one two",
		"a &amp; b &lt;c&gt; &quot;d&quot;": `a & b <c> "d"`,
		"line<br/>break":                    "line break",
		"3 < 4 and no tag":                  "3 < 4 and no tag",
		`<a href="http://x">link</a>`:       "link",
		"where is my <b>parcel</b>?":        "where is my parcel?",
		"<DIV>a</DIV><Br>b":                 "a b",
	} {
		if got := HTMLText(in); got != want {
			t.Errorf("HTMLText(%q) = %q, want %q", in, got, want)
		}
	}
}
