package webauthn

import (
	"encoding/hex"
	"testing"
)

func TestKnownAuthenticator(t *testing.T) {
	tests := []struct{ aaguid, want string }{
		{"fbfc3007154e4ecc8c0b6e020557d7bd", "Apple Passwords"},
		{"ea9b8d664d011d213ce4b6b48cb575d4", "Google Password Manager"},
		{"08987058cadc4b81b6e130de50dcbe96", "Windows Hello"},
		{"bada5566a7aa401fbd9645619a55120d", "1Password"},
		{"d548826e79b4db40a3d811116f7e8349", "Bitwarden"},
		{"cb69481e8ff7403993ec0a2729a154a8", "YubiKey 5 Series"},
		{"00000000000000000000000000000000", ""}, // attestation "none"
		{"01020304050607080102030405060708", ""}, // Chromium's virtual authenticator
	}
	for _, tt := range tests {
		b, _ := hex.DecodeString(tt.aaguid)
		if got := KnownAuthenticator(b); got != tt.want {
			t.Errorf("KnownAuthenticator(%s) = %q; want %q", tt.aaguid, got, tt.want)
		}
	}
	if got := KnownAuthenticator([]byte{1, 2, 3}); got != "" {
		t.Errorf("a short AAGUID is named %q", got)
	}
	if n := len(aaguidNames()); n < 200 {
		t.Errorf("the embedded list names %d providers; want the whole community list", n)
	}
}
