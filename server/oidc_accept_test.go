package server_test

import (
	"context"
	"net/http"
	"net/url"
	"testing"
	"time"

	"golang.org/x/oauth2"

	"github.com/sesame-auth/sesame/internal/testauthn"
	"github.com/sesame-auth/sesame/internal/testserver"
	"github.com/sesame-auth/sesame/oidc"
)

// TestOIDCPromptNoneWithoutSession: the page, finding no session for a
// prompt=none request, denies it with login_required, and the app gets
// that error with state and iss; the error may not replace access_denied
// for an ordinary request.
func TestOIDCPromptNoneWithoutSession(t *testing.T) {
	e := testserver.New(t, listening)
	rp := newRP(t, e, oidc.NewClient{})
	f := rp.authorize(t, url.Values{"prompt": {"none"}})
	r := e.Do(t, "POST", "/api/oauth2/requests/"+f.requestID+"/deny", map[string]string{"error": "login_required"}, f.cookie())
	if r.Status != http.StatusOK {
		t.Fatalf("deny = %d %s", r.Status, r.Body)
	}
	if q := rp.landing(t, r, f); q.Get("error") != "login_required" || q.Get("code") != "" {
		t.Fatalf("redirect = %v; want error=login_required", q)
	}
	f2 := rp.authorize(t, nil)
	assertProblem(t, e.Do(t, "POST", "/api/oauth2/requests/"+f2.requestID+"/deny", map[string]string{"error": "login_required"}, f2.cookie()), http.StatusBadRequest, "bad_request")
	assertProblem(t, e.Do(t, "POST", "/api/oauth2/requests/"+f2.requestID+"/deny", map[string]string{"error": "server_error"}, f2.cookie()), http.StatusBadRequest, "bad_request")
	r = e.Do(t, "POST", "/api/oauth2/requests/"+f2.requestID+"/deny", nil, f2.cookie())
	if q := rp.landing(t, r, f2); q.Get("error") != "access_denied" {
		t.Fatalf("deny = %v; want access_denied", q)
	}
}

// TestOIDCReauthAndStepUp is rule 49, enforced by the server at accept:
// max_age=0 and prompt=login need a sign-in after the request;
// acr_values=phr refuses an email-code session and takes a passkey one;
// phrh refuses a synced passkey.
func TestOIDCReauthAndStepUp(t *testing.T) {
	engines(t, listening, func(t *testing.T, e *testserver.Env) {
		emailSession := e.SignIn(t, "carol@example.com")
		a := testauthn.New(e.PublicURL)
		testauthn.Register(t, e, a, emailSession.Access)
		rp := newRP(t, e, oidc.NewClient{Trusted: true})
		e.Clock.Advance(2 * time.Second)

		for _, extra := range []url.Values{{"max_age": {"0"}}, {"prompt": {"login"}}} {
			f := rp.authorize(t, extra)
			assertProblem(t, accept(t, e, f, emailSession.Access, true), http.StatusForbidden, "reauth_required")
			fresh := testauthn.SignIn(t, e, a, "")
			rp.acceptOK(t, f, fresh.Access)
		}
		// max_age=60 and a sign-in 2 minutes old: reauth; a fresh one: fine.
		f := rp.authorize(t, url.Values{"max_age": {"60"}})
		e.Clock.Advance(2 * time.Minute)
		old := emailSession
		assertProblem(t, accept(t, e, f, old.Access, true), http.StatusForbidden, "reauth_required")

		f = rp.authorize(t, url.Values{"acr_values": {"phr"}})
		emailAgain := e.SignIn(t, "carol@example.com")
		p := assertProblem(t, accept(t, e, f, emailAgain.Access, true), http.StatusForbidden, "step_up_required")
		if p["acr_values"] == nil {
			t.Errorf("step_up_required does not say what is asked: %v", p)
		}
		passkey := testauthn.SignIn(t, e, a, "")
		q := rp.acceptOK(t, f, passkey.Access)
		tok := rp.exchange(t, f, q.Get("code"))
		var claims struct {
			ACR string `json:"acr"`
		}
		_ = tok.idToken.Claims(&claims)
		if claims.ACR != "phrh" && claims.ACR != "phr" {
			t.Errorf("acr = %q; want phr or phrh", claims.ACR)
		}

		synced := testauthn.New(e.PublicURL)
		synced.Options.BackupEligible, synced.Options.BackupState = true, true
		testauthn.Register(t, e, synced, passkey.Access)
		swk := testauthn.SignIn(t, e, synced, "")
		f = rp.authorize(t, url.Values{"acr_values": {"phrh"}})
		assertProblem(t, accept(t, e, f, swk.Access, true), http.StatusForbidden, "step_up_required")
		f = rp.authorize(t, url.Values{"acr_values": {"phr"}})
		rp.acceptOK(t, f, swk.Access)
	})
}

// TestOIDCAcceptRefusals: a request spent twice (accept then accept, or
// deny), an expired one, an unknown one, a missing Bearer token, an ended
// session, and another site's Origin are each refused and change nothing.
func TestOIDCAcceptRefusals(t *testing.T) {
	e := testserver.New(t, listening)
	_, a := testauthn.SignUp(t, e, "dan@example.com")
	s := testauthn.SignIn(t, e, a, "")
	rp := newRP(t, e, oidc.NewClient{Trusted: true})

	f := rp.authorize(t, nil)
	rp.acceptOK(t, f, s.Access)
	assertProblem(t, accept(t, e, f, s.Access, true), http.StatusGone, "used")
	assertProblem(t, e.Do(t, "POST", "/api/oauth2/requests/"+f.requestID+"/deny", nil, f.cookie()), http.StatusGone, "used")
	assertProblem(t, e.Do(t, "GET", "/api/oauth2/requests/"+f.requestID, nil, f.cookie()), http.StatusGone, "used")
	assertProblem(t, accept(t, e, flow{requestID: "nope"}, s.Access, true), http.StatusNotFound, "not_found")

	f = rp.authorize(t, nil)
	r := e.Do(t, "POST", "/api/oauth2/requests/"+f.requestID+"/accept", map[string]bool{"consent": true}, f.cookie())
	assertProblem(t, r, http.StatusUnauthorized, "unauthorized")
	r = e.Do(t, "POST", "/api/oauth2/requests/"+f.requestID+"/accept", map[string]bool{"consent": true},
		testserver.Bearer(s.Access), testserver.H("Origin", "https://evil.example.com"), f.cookie())
	assertProblem(t, r, http.StatusForbidden, "forbidden")
	// The request is still good after those refusals.
	rp.acceptOK(t, f, s.Access)

	f = rp.authorize(t, nil)
	e.Clock.Advance(oidc.RequestTTL + time.Second)
	s = testauthn.SignIn(t, e, a, "")
	assertProblem(t, accept(t, e, f, s.Access, true), http.StatusGone, "expired")

	// An access token whose session has ended cannot accept.
	f = rp.authorize(t, nil)
	if r := e.Do(t, "POST", "/api/session/logout", nil, testserver.Bearer(s.Access)); r.Status != http.StatusNoContent {
		t.Fatalf("logout = %d", r.Status)
	}
	assertProblem(t, accept(t, e, f, s.Access, true), http.StatusUnauthorized, "unauthorized")
}

// TestOIDCConsentWithdrawn is rule 48: /api/me/apps lists the approval;
// withdrawing it kills the app's access and refresh tokens, and the next
// request asks again.
func TestOIDCConsentWithdrawn(t *testing.T) {
	engines(t, listening, func(t *testing.T, e *testserver.Env) {
		_, a := testauthn.SignUp(t, e, "erin@example.com")
		s := testauthn.SignIn(t, e, a, "")
		rp := newRP(t, e, oidc.NewClient{Name: "Gitea"})
		f, code := codeFor(t, rp, s.Access, nil, oauth2.SetAuthURLParam("scope", "openid email offline_access"))
		tok := rp.exchange(t, f, code)

		r := e.Do(t, "GET", "/api/me/apps", nil, testserver.Bearer(s.Access))
		var apps []map[string]any
		if r.Status != http.StatusOK || jsonInto(r.Body, &apps) != nil || len(apps) != 1 || apps[0]["client_id"] != rp.client.ID ||
			apps[0]["name"] != "Gitea" || apps[0]["approved_at"] == nil || apps[0]["last_used_at"] == nil {
			t.Fatalf("/api/me/apps = %d %s", r.Status, r.Body)
		}
		if r := e.Do(t, "DELETE", "/api/me/apps/"+rp.client.ID, nil, testserver.Bearer(s.Access)); r.Status != http.StatusNoContent {
			t.Fatalf("withdraw = %d %s", r.Status, r.Body)
		}
		assertProblem(t, e.Do(t, "DELETE", "/api/me/apps/"+rp.client.ID, nil, testserver.Bearer(s.Access)), http.StatusNotFound, "not_found")
		st, m := tokenPost(t, rp, url.Values{"grant_type": {"refresh_token"}, "refresh_token": {tok.RefreshToken}})
		assertOAuthError(t, st, m, 400, "invalid_grant")
		if _, err := rp.provider.UserInfo(context.Background(), oauth2.StaticTokenSource(tok.Token)); err == nil {
			t.Error("the access token outlived the withdrawn consent")
		}
		f = rp.authorize(t, nil)
		assertProblem(t, accept(t, e, f, s.Access, false), http.StatusForbidden, "consent_required")
	})
}
