package normalize

import (
	"html"
	"strings"
)

// blockTags are the tags that separate words; inline ones (b, a, span)
// do not.
var blockTags = map[string]bool{"p": true, "br": true, "div": true, "li": true, "ul": true, "ol": true, "tr": true, "td": true,
	"th": true, "table": true, "blockquote": true, "h1": true, "h2": true, "h3": true, "h4": true, "h5": true, "h6": true, "hr": true, "pre": true}

func breaks(tag string) bool {
	tag = strings.TrimLeft(tag, "/")
	if i := strings.IndexAny(tag, " \t\n/"); i >= 0 {
		tag = tag[:i]
	}
	return blockTags[strings.ToLower(tag)]
}

// HTMLText returns the text of a help desk message body written in HTML
// (Intercom's conversation parts, Help Scout's threads, Freshdesk's
// descriptions): tags dropped, entities decoded, runs of white space made
// one space. It is meant for rule filters (contains "cancel"), not for
// showing HTML faithfully: a tag's attributes are dropped with it, and
// the contents of <script> and <style> are kept as text no better than
// any other.
func HTMLText(s string) string {
	if !strings.ContainsAny(s, "<&") {
		return strings.Join(strings.Fields(s), " ")
	}
	var b strings.Builder
	for {
		i := strings.IndexByte(s, '<')
		if i < 0 {
			b.WriteString(s)
			break
		}
		b.WriteString(s[:i])
		j := strings.IndexByte(s[i:], '>')
		if j < 0 {
			b.WriteString(s[i:]) // a lone "<" is text
			break
		}
		if breaks(s[i+1 : i+j]) {
			b.WriteByte(' ') // <p>a</p><p>b</p> reads "a b"; <b>a</b>! reads "a!"
		}
		s = s[i+j+1:]
	}
	return strings.Join(strings.Fields(html.UnescapeString(b.String())), " ")
}
