package oidc

import (
	"net/url"
	"testing"

	"github.com/sesame-auth/sesame"
)

// TestRedirectAllowed is rule 42 at its root: exact match, and for public
// clients a loopback IP redirect on any port (RFC 8252 §7.3), nothing more.
func TestRedirectAllowed(t *testing.T) {
	conf := sesame.OAuthClient{RedirectURIs: []string{"https://app.example.com/cb", "http://127.0.0.1:8000/cb"}}
	pub := sesame.OAuthClient{Public: true, RedirectURIs: []string{"http://127.0.0.1/cb", "http://[::1]/cb?x=1", "com.example.app:/cb"}}
	tests := []struct {
		c    sesame.OAuthClient
		uri  string
		want bool
	}{
		{conf, "https://app.example.com/cb", true},
		{conf, "https://app.example.com/cb/", false},
		{conf, "https://app.example.com/cb?x", false},
		{conf, "https://app.example.com/cb#", false},
		{conf, "https://app.example.com:443/cb", false},
		{conf, "https://APP.example.com/cb", false},
		{conf, "http://127.0.0.1:8000/cb", true},
		{conf, "http://127.0.0.1:8001/cb", false}, // confidential: exact
		{pub, "http://127.0.0.1:51000/cb", true},
		{pub, "http://127.0.0.1/cb", true},
		{pub, "http://127.0.0.1:51000/cb/", false},
		{pub, "http://127.0.0.1:51000/cb?y=1", false},
		{pub, "http://127.0.0.1:51000/cb#f", false},
		{pub, "http://user@127.0.0.1:51000/cb", false},
		{pub, "http://localhost:51000/cb", false},
		{pub, "https://127.0.0.1:51000/cb", false},
		{pub, "http://127.0.0.2:51000/cb", false},
		{pub, "http://[::1]:9/cb?x=1", true},
		{pub, "http://[::1]:9/cb", false},
		{pub, "com.example.app:/cb", true},
		{pub, "com.example.app:/cb2", false},
	}
	for _, tt := range tests {
		if got := redirectAllowed(tt.c, tt.uri); got != tt.want {
			t.Errorf("redirectAllowed(public=%v, %q) = %v; want %v", tt.c.Public, tt.uri, got, tt.want)
		}
	}
}

// TestSatisfiedACR is rule 49's mapping: phr = hwk or swk, phrh = hwk.
func TestSatisfiedACR(t *testing.T) {
	tests := []struct {
		requested, amr []string
		acr            string
		ok             bool
	}{
		{nil, []string{"otp"}, "", true},
		{[]string{"phr"}, []string{"otp"}, "", false},
		{[]string{"phr"}, []string{"pwd", "otp", "mfa"}, "", false},
		{[]string{"phr"}, []string{"swk", "user"}, "phr", true},
		{[]string{"phr"}, []string{"hwk"}, "phr", true},
		{[]string{"phrh"}, []string{"swk"}, "", false},
		{[]string{"phrh"}, []string{"hwk", "user"}, "phrh", true},
		{[]string{"phr", "phrh"}, []string{"hwk"}, "phrh", true},
		{[]string{"phrh", "phr"}, []string{"swk"}, "phr", true},
	}
	for _, tt := range tests {
		acr, ok := satisfiedACR(tt.requested, tt.amr)
		if acr != tt.acr || ok != tt.ok {
			t.Errorf("satisfiedACR(%v, %v) = %q, %v; want %q, %v", tt.requested, tt.amr, acr, ok, tt.acr, tt.ok)
		}
	}
}

// TestCheckRegisteredURI: what an operator may register.
func TestCheckRegisteredURI(t *testing.T) {
	for uri, ok := range map[string]bool{
		"https://app.example.com/cb":  true,
		"http://localhost:3000/cb":    true,
		"http://127.0.0.1/cb":         true,
		"http://[::1]:8080/cb":        true,
		"com.example.app:/oauth":      true,
		"http://app.example.com/cb":   false,
		"https://app.example.com/#x":  false,
		"https://app.example.com/cb#": false,
		"/cb":                         false,
		"javascript:alert(1)":         false,
		"https:///cb":                 false,
		"ftp://app.example.com/cb":    false,
	} {
		if err := checkRegisteredURI(uri, true); (err == nil) != ok {
			t.Errorf("checkRegisteredURI(%q) = %v; want ok=%v", uri, err, ok)
		}
	}
}

// TestClientAuthFrom: Basic credentials are form-decoded (RFC 6749
// §2.3.1); a secret sent twice, or a body client_id that differs from
// Basic's, is refused.
func TestClientAuthFrom(t *testing.T) {
	a, err := ClientAuthFrom(url.Values{}, true, "my%20client", "s%3Acret")
	if err != nil || a.ID != "my client" || a.Secret != "s:cret" || a.Method != "client_secret_basic" {
		t.Fatalf("basic = %+v, %v", a, err)
	}
	if _, err := ClientAuthFrom(url.Values{"client_secret": {"x"}}, true, "id", "s"); err == nil {
		t.Error("a secret in both places was accepted")
	}
	if _, err := ClientAuthFrom(url.Values{"client_id": {"other"}}, true, "id", "s"); err == nil {
		t.Error("differing client ids were accepted")
	}
	if a, _ := ClientAuthFrom(url.Values{"client_id": {"id"}, "client_secret": {"s"}}, false, "", ""); a.Method != "client_secret_post" {
		t.Errorf("post = %+v", a)
	}
	if a, _ := ClientAuthFrom(url.Values{"client_id": {"id"}}, false, "", ""); a.Method != "none" || a.ID != "id" {
		t.Errorf("none = %+v", a)
	}
}

func TestMailLanguage(t *testing.T) {
	tests := []struct{ uiLocales, want string }{
		{"", "en"},
		{"ja", "ja"},
		{"fr ja-JP en", "ja"},
		{"en-GB ja", "en"},
		{"JA_jp", "ja"},
		{"fr de", "en"},
	}
	for _, tt := range tests {
		if got := mailLanguage(tt.uiLocales); got != tt.want {
			t.Errorf("mailLanguage(%q) = %q; want %q", tt.uiLocales, got, tt.want)
		}
	}
}
