package normalize

import (
	"net/mail"
	"strings"
	"unicode"
	"unicode/utf8"

	"synclayer"
)

// maxEmail is the longest address SMTP can carry (RFC 5321 path limit less
// the angle brackets).
const maxEmail = 254

// Email returns s trimmed and lowercased, or an EINVALID error (Field
// "email") saying what is wrong with it. It accepts bare addresses only: one
// @, a dotted domain, no spaces, no display name or angle brackets, at most
// 254 characters, as destinations such as Brevo require.
func Email(s string) (string, error) {
	if !utf8.ValidString(s) {
		return "", synclayer.FieldErrorf(synclayer.FieldEmail, "the email address is not valid UTF-8")
	}
	s = strings.ToLower(strings.TrimSpace(s))
	bad := func(why string) (string, error) {
		return "", synclayer.FieldErrorf(synclayer.FieldEmail, "%q is not a valid email address: %s", clip(s), why)
	}
	switch {
	case s == "":
		return "", synclayer.FieldErrorf(synclayer.FieldEmail, "the email address is empty")
	case len(s) > maxEmail:
		return bad("it is longer than 254 characters")
	case strings.IndexFunc(s, unicode.IsSpace) >= 0:
		return bad("it contains a space")
	case strings.IndexFunc(s, invisible) >= 0:
		return bad("it contains an invisible or control character (such as a zero-width space)")
	}
	local, domain, ok := strings.Cut(s, "@")
	switch {
	case !ok:
		return bad("it has no @")
	case strings.Contains(domain, "@"):
		return bad("it has more than one @")
	case local == "":
		return bad("nothing comes before the @")
	case len(local) > 64:
		return bad("the part before the @ is longer than 64 characters")
	case domain == "":
		return bad("nothing comes after the @")
	case !strings.Contains(domain, "."):
		return bad("the domain has no dot")
	case strings.HasPrefix(domain, ".") || strings.HasSuffix(domain, ".") || strings.Contains(domain, ".."):
		return bad("the domain has an empty label")
	}
	addr, err := mail.ParseAddress(s)
	if err != nil {
		return bad(strings.TrimPrefix(err.Error(), "mail: "))
	}
	if addr.Name != "" || addr.Address != s {
		return bad("it must be a bare address, without a display name, quotes or angle brackets")
	}
	return s, nil
}

// clip shortens a value quoted in an error message.
// invisible reports control and format characters (zero-width spaces and
// joiners, direction marks, soft hyphens, byte-order marks) and the
// replacement character: they make two addresses look alike that are not.
func invisible(r rune) bool {
	return unicode.IsControl(r) || unicode.Is(unicode.Cf, r) || r == utf8.RuneError
}

// Clip cuts s to about 80 bytes on a rune boundary, for echoing a sender's
// value back in an error without echoing a megabyte of it.
func Clip(s string) string { return clip(s) }

func clip(s string) string {
	const n = 80
	if len(s) <= n {
		return s
	}
	for i := n; i > 0; i-- {
		if utf8.RuneStart(s[i]) {
			return s[:i] + "…"
		}
	}
	return s[:n] + "…"
}
