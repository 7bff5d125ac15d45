package server_test

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"golang.org/x/oauth2"

	"github.com/sesame-auth/sesame/internal/testauthn"
	"github.com/sesame-auth/sesame/internal/testserver"
	"github.com/sesame-auth/sesame/oidc"
)

// TestOIDCIDTokenHint: an id_token_hint at authorize (OpenID Connect Core
// §3.1.2.1) is an ID token Sesame issued to this app, expired or not; the
// request then completes only for the person it names. Another person
// signed in gets 403 account_mismatch and nothing is spent; a prompt=none
// request then answers login_required. A hint that is not ours, is
// tampered with or was issued to another app is an invalid_request.
func TestOIDCIDTokenHint(t *testing.T) {
	engines(t, listening, func(t *testing.T, e *testserver.Env) {
		_, ann := testauthn.SignUp(t, e, "ann@example.com")
		_, bob := testauthn.SignUp(t, e, "bob@example.com")
		rp := newRP(t, e, oidc.NewClient{Name: "Wiki", Trusted: true})
		other := newRP(t, e, oidc.NewClient{Name: "Chat", Trusted: true})
		annSession := testauthn.SignIn(t, e, ann, "")
		f, code := codeFor(t, rp, annSession.Access, nil)
		hint := rp.exchange(t, f, code).raw
		f, code = codeFor(t, other, annSession.Access, nil)
		otherHint := other.exchange(t, f, code).raw

		// Past the hint's expiry: it still names its person.
		e.Clock.Advance(time.Hour)
		annSession = testauthn.SignIn(t, e, ann, "")
		bobSession := testauthn.SignIn(t, e, bob, "")
		withHint := url.Values{"id_token_hint": {hint}}

		f = rp.authorize(t, withHint)
		assertProblem(t, accept(t, e, f, bobSession.Access, true), http.StatusForbidden, "account_mismatch")
		if q := rp.acceptOK(t, f, annSession.Access); q.Get("code") == "" {
			t.Fatalf("accept by the hinted person = %v; want a code", q)
		}

		silent := url.Values{"id_token_hint": {hint}, "prompt": {"none"}}
		f = rp.authorize(t, silent)
		assertProblem(t, accept(t, e, f, bobSession.Access, true), http.StatusForbidden, "account_mismatch")
		r := e.Do(t, "POST", "/api/oauth2/requests/"+f.requestID+"/deny", map[string]string{"error": "login_required"}, f.cookie())
		if q := rp.landing(t, r, f); q.Get("error") != "login_required" {
			t.Fatalf("deny = %v; want login_required", q)
		}

		dot := strings.LastIndex(hint, ".")
		for name, bad := range map[string]string{
			"issued to another app": otherHint,
			"tampered signature":    hint[:dot+1] + strings.Repeat("A", len(hint)-dot-1),
			"not a JWT":             "not-a-token",
		} {
			t.Run(name, func(t *testing.T) {
				u, _ := url.Parse(rp.cfg.AuthCodeURL("s1", oauth2.S256ChallengeOption(oauth2.GenerateVerifier()),
					oauth2.SetAuthURLParam("id_token_hint", bad)))
				assertErrorRedirect(t, e, e.Do(t, "GET", u.RequestURI(), nil), rpRedirect, "invalid_request")
			})
		}
	})
}
