package sesame

import (
	"net/mail"
	"net/netip"
	"strings"
	"unicode"
	"unicode/utf8"

	"golang.org/x/net/idna"
	"golang.org/x/text/unicode/norm"
)

// MaxEmailLength is the longest address accepted (RFC 5321 §4.5.3.1.3).
const MaxEmailLength = 254

// idnaProfile turns a domain into its lower-case A-label form, checking it
// as a host name of the DNS (UTS #46 lookup, with STD 3 rules).
var idnaProfile = idna.New(idna.MapForLookup(), idna.BidiRule(), idna.StrictDomainName(true), idna.Transitional(false))

// NormalizeEmail is the one normalisation of an email address, on every
// path that takes one: sign-up, sign-in, the SCRAM user name, an email
// change (SECURITY rule 59). It checks that s is a single bare address and
// returns it in NFC with surrounding ASCII space trimmed, the local part
// lower-cased and the domain as a lower-case IDNA A-label, so that
// "Alice@Exämple.com" and "alice@xn--exmple-cua.com" are one account. It
// refuses invalid UTF-8, control and format characters (U+2028, U+0085, a
// soft hyphen, a zero-width space …) and IP-literal domains.
func NormalizeEmail(s string) (string, error) {
	bad := Errorf(EBadRequest, "Enter a valid email address.")
	s = strings.Trim(s, " \t\r\n")
	if s == "" || len(s) > 4*MaxEmailLength || !utf8.ValidString(s) {
		return "", bad
	}
	for _, r := range s {
		if unicode.IsControl(r) || unicode.IsSpace(r) || unicode.In(r, unicode.Cf, unicode.Zl, unicode.Zp, unicode.Co, unicode.Cs) ||
			r == utf8.RuneError {
			return "", bad
		}
	}
	s = norm.NFC.String(s)
	at := strings.LastIndexByte(s, '@')
	if at < 1 || at == len(s)-1 {
		return "", bad
	}
	local, domain := strings.ToLower(s[:at]), s[at+1:]
	if strings.HasPrefix(domain, "[") || strings.HasSuffix(domain, ".") {
		return "", bad // an address literal, or a root-anchored name
	}
	domain, err := idnaProfile.ToASCII(domain)
	if err != nil || !strings.Contains(domain, ".") {
		return "", bad
	}
	if _, err := netip.ParseAddr(domain); err == nil {
		return "", bad // 127.0.0.1 names a machine, not a mail domain
	}
	if last := domain[strings.LastIndexByte(domain, '.')+1:]; strings.Trim(last, "0123456789") == "" {
		return "", bad // a numeric top-level label: an IP address in disguise
	}
	s = local + "@" + domain
	if len(s) > MaxEmailLength || strings.ContainsAny(local, "<>\"(),;:\\@[]") {
		return "", bad
	}
	addr, err := mail.ParseAddress(s)
	if err != nil || addr.Address != s || addr.Name != "" {
		return "", bad
	}
	return s, nil
}

// MaskEmail hides most of the local part ("alice@example.com" becomes
// "a***e@example.com"), enough for a user to recognise their address on a
// confirm page without showing it whole to whoever holds the link.
func MaskEmail(s string) string {
	at := strings.LastIndexByte(s, '@')
	if at < 0 {
		return "***"
	}
	local, domain := s[:at], s[at:]
	r := []rune(local)
	switch {
	case len(r) <= 2:
		return string(r[:1]) + "***" + domain
	default:
		return string(r[0]) + "***" + string(r[len(r)-1]) + domain
	}
}
