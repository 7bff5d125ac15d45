package sesame

import (
	"strings"
	"testing"
	"unicode"
	"unicode/utf8"
)

func TestNormalizeEmail(t *testing.T) {
	for _, c := range []struct{ in, want string }{
		{"alice@example.com", "alice@example.com"},
		{"  Alice@Example.COM\t", "alice@example.com"},
		{"alice@exämple.com", "alice@xn--exmple-cua.com"},
		{"ALICE@EXÄMPLE.COM", "alice@xn--exmple-cua.com"},
		{"alice@exa\u0308mple.com", "alice@xn--exmple-cua.com"}, // decomposed ä
		{"alice@xn--exmple-cua.com", "alice@xn--exmple-cua.com"},
		{"ａlice@example.com", "ａlice@example.com"}, // NFC keeps the full-width a
		{"Jos\u0065\u0301@example.com", "josé@example.com"},
		{"ÉLODIE@example.com", "élodie@example.com"},
		{"a.b+tag@sub.example.co.uk", "a.b+tag@sub.example.co.uk"},
	} {
		got, err := NormalizeEmail(c.in)
		if err != nil || got != c.want {
			t.Errorf("NormalizeEmail(%q) = %q, %v; want %q", c.in, got, err, c.want)
		}
	}
	for _, in := range []string{
		"", "alice", "@example.com", "alice@", "alice@localhost", "alice@example.com.",
		"alice@[127.0.0.1]", "alice@[IPv6:::1]", "alice@127.0.0.1", "alice@10.0.0.300", "alice@example.123",
		"ali\u2028ce@example.com", "alice\u0085@example.com", "ali\u00adce@example.com", "ali\u200bce@example.com",
		"alice@exa\u200bmple.com", "alice@ex\u00adample.com", "ali\u200dce@example.com", "\ufeffalice@example.com",
		"ali\xffce@example.com", "alice@exam\xc3ple.com", "ali\x00ce@example.com", "alice@example.com\r\nBcc: x@y.z",
		"Alice <alice@example.com>", "alice@example.com, bob@example.com", "al ice@example.com", "\"a\"@example.com",
		"alice@exa_mple.com", "alice@-example.com", strings.Repeat("a", 250) + "@example.com",
	} {
		if got, err := NormalizeEmail(in); err == nil || ErrorCode(err) != EBadRequest {
			t.Errorf("NormalizeEmail(%q) = %q, %v; want bad_request", in, got, err)
		}
	}
}

// FuzzNormalizeEmail: whatever comes in, what comes out is valid UTF-8,
// at most 254 bytes, free of control and format characters, with an ASCII
// lower-case domain, and normalising it again changes nothing.
func FuzzNormalizeEmail(f *testing.F) {
	for _, s := range []string{"alice@example.com", "Alice@Exämple.com", "ａlice@example.com", "a@[1.2.3.4]",
		"a\u2028@b.c", "a@xn--exmple-cua.com", "a@b.c\u0085", "é@é.fr", "a@b..c", "a@xn--.com"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) {
		out, err := NormalizeEmail(in)
		if err != nil {
			if ErrorCode(err) != EBadRequest {
				t.Fatalf("NormalizeEmail(%q): %v; want bad_request", in, err)
			}
			return
		}
		at := strings.LastIndexByte(out, '@')
		if !utf8.ValidString(out) || len(out) > MaxEmailLength || at < 1 {
			t.Fatalf("NormalizeEmail(%q) = %q: not a bounded UTF-8 address", in, out)
		}
		for _, r := range out {
			if unicode.IsControl(r) || unicode.IsSpace(r) || unicode.In(r, unicode.Cf, unicode.Zl, unicode.Zp) {
				t.Fatalf("NormalizeEmail(%q) = %q keeps %U", in, out, r)
			}
		}
		if d := out[at+1:]; d != strings.ToLower(d) || strings.IndexFunc(d, func(r rune) bool { return r > 0x7e }) >= 0 {
			t.Fatalf("NormalizeEmail(%q) = %q: the domain is not a lower-case A-label", in, out)
		}
		if again, err := NormalizeEmail(out); err != nil || again != out {
			t.Fatalf("NormalizeEmail(%q) = %q, but again it is %q, %v", in, out, again, err)
		}
	})
}
func TestNormalizeEmailRefusesIPLiterals(t *testing.T) {
	for _, in := range []string{"a@[127.0.0.1]", "a@[IPv6:::1]", "a@127.0.0.1", "a@192.0.2.7"} {
		if got, err := NormalizeEmail(in); err == nil {
			t.Errorf("NormalizeEmail(%q) = %q; want an error", in, got)
		}
	}
	if got, err := NormalizeEmail(" Bob@Example.COM "); err != nil || got != "bob@example.com" {
		t.Errorf("NormalizeEmail(Bob@Example.COM) = %q, %v", got, err)
	}
}
