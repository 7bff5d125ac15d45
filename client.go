package sesame

import (
	"strings"
	"unicode/utf8"
)

// MaxClientString is the most bytes of a client-supplied string (the user
// agent) that is stored or logged: enough to tell browsers apart, too
// little for one client to grow the database or the log by much with each
// request (SECURITY rule 54).
const MaxClientString = 256

// ClipClientString cuts s to at most MaxClientString bytes on a character
// boundary and drops invalid UTF-8 and control characters, which have no
// business in a log line.
func ClipClientString(s string) string {
	s = strings.Map(func(r rune) rune {
		if r < 0x20 || r == 0x7f || (r >= 0x80 && r < 0xa0) {
			return -1
		}
		return r
	}, strings.ToValidUTF8(s, ""))
	if len(s) <= MaxClientString {
		return s
	}
	cut := MaxClientString
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut]
}
