package sesame

import (
	"net"
	"net/mail"
	"strings"
)

// MaxEmailLength is the longest address accepted (RFC 5321 §4.5.3.1.3).
const MaxEmailLength = 254

// NormalizeEmail checks that s is a single bare address and returns it with
// surrounding space trimmed and the domain lower-cased. The local part keeps
// its case, as RFC 5321 allows it to matter, but lookups compare addresses
// case-insensitively through the lower-cased form stored.
func NormalizeEmail(s string) (string, error) {
	s = strings.TrimSpace(s)
	bad := Errorf(EBadRequest, "Enter a valid email address.")
	if s == "" || len(s) > MaxEmailLength || strings.ContainsAny(s, " \t\r\n<>\"(),;:\\") {
		return "", bad
	}
	addr, err := mail.ParseAddress(s)
	if err != nil || addr.Address != s || addr.Name != "" {
		return "", bad
	}
	at := strings.LastIndexByte(s, '@')
	if at < 1 || at == len(s)-1 || !strings.Contains(s[at+1:], ".") {
		return "", bad
	}
	// IP-literal domains ("a@[192.0.2.1]", "a@192.0.2.1") name no mail
	// domain anyone owns (SECURITY rule 59).
	if domain := strings.Trim(s[at+1:], "[]"); strings.HasPrefix(s[at+1:], "[") || net.ParseIP(domain) != nil {
		return "", bad
	}
	return strings.ToLower(s), nil
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
