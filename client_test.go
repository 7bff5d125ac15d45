package sesame

import (
	"strings"
	"testing"
	"unicode/utf8"
)

func TestClipClientString(t *testing.T) {
	for _, c := range []struct{ in, want string }{
		{"Mozilla/5.0", "Mozilla/5.0"},
		{"a\nb\x00c\u0085d", "abcd"},
		{"bad \xff utf-8", "bad  utf-8"},
		{strings.Repeat("x", 300), strings.Repeat("x", 256)},
		{strings.Repeat("x", 255) + "é", strings.Repeat("x", 255)},
	} {
		got := ClipClientString(c.in)
		if got != c.want || len(got) > MaxClientString || !utf8.ValidString(got) {
			t.Errorf("ClipClientString(%q) = %q; want %q", c.in, got, c.want)
		}
	}
}
