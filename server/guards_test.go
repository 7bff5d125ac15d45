package server_test

// Tests of the middleware and session handlers at the edges mutation
// testing found unpinned (docs/security.md "Mutation testing"): each
// asserts the answer and that a refused request changed nothing.

import (
	"context"
	"net/http"
	"testing"
	"time"

	"github.com/sesame-auth/sesame/internal/testserver"
)

// TestOriginAndFetchSiteChecked: a POST whose Origin is not the public
// origin, or, without Origin, whose Sec-Fetch-Site names another site, is
// refused before it starts a flow; same-origin, a user's own navigation
// ("none") and clients that send neither header pass (rule 37).
func TestOriginAndFetchSiteChecked(t *testing.T) {
	e := testserver.New(t, testserver.Options{})
	ctx := context.Background()
	flows := func() int {
		t.Helper()
		n, err := e.App.DB.TableRows(ctx, "email_flows")
		if err != nil {
			t.Fatal(err)
		}
		return n
	}
	for i, tc := range []struct {
		name    string
		headers []testserver.Header
		allowed bool
	}{
		{"public origin", []testserver.Header{testserver.H("Origin", e.PublicURL)}, true},
		{"public origin, same-origin fetch", []testserver.Header{testserver.H("Origin", e.PublicURL), testserver.H("Sec-Fetch-Site", "same-origin")}, true},
		{"no Origin, same-origin fetch", []testserver.Header{testserver.H("Sec-Fetch-Site", "same-origin")}, true},
		{"no Origin, user-initiated fetch", []testserver.Header{testserver.H("Sec-Fetch-Site", "none")}, true},
		{"neither header (not a browser)", nil, true},
		{"another origin", []testserver.Header{testserver.H("Origin", "https://evil.example")}, false},
		{"origin null", []testserver.Header{testserver.H("Origin", "null")}, false},
		{"public origin as a prefix", []testserver.Header{testserver.H("Origin", e.PublicURL+".evil.example")}, false},
		{"another origin, same-origin fetch claimed", []testserver.Header{testserver.H("Origin", "https://evil.example"), testserver.H("Sec-Fetch-Site", "same-origin")}, false},
		{"no Origin, same-site fetch", []testserver.Header{testserver.H("Sec-Fetch-Site", "same-site")}, false},
		{"no Origin, cross-site fetch", []testserver.Header{testserver.H("Sec-Fetch-Site", "cross-site")}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			before := flows()
			email := "origin" + string(rune('a'+i)) + "@example.com"
			r := e.Do(t, "POST", "/api/email/start", map[string]string{"email": email}, tc.headers...)
			switch {
			case tc.allowed && r.Status != http.StatusAccepted:
				t.Fatalf("email start = %d %s; want 202", r.Status, r.Body)
			case tc.allowed && flows() != before+1:
				t.Fatalf("email flows %d → %d; want one more", before, flows())
			case !tc.allowed:
				assertProblem(t, r, http.StatusForbidden, "forbidden")
				if after := flows(); after != before {
					t.Fatalf("refused request changed the email flows: %d → %d", before, after)
				}
			}
		})
	}
	// Reads are never refused for their origin.
	if r := e.Do(t, "GET", "/healthz", nil, testserver.H("Origin", "https://evil.example"), testserver.H("Sec-Fetch-Site", "cross-site")); r.Status != http.StatusOK {
		t.Errorf("cross-site GET /healthz = %d %s; want 200", r.Status, r.Body)
	}
}

// TestRecentSignInWindowEdges: a factor may be added exactly 10 minutes
// after the sign-in (server.ReauthWindow), not a second later (rule 9).
func TestRecentSignInWindowEdges(t *testing.T) {
	const window = 10 * time.Minute
	e := testserver.New(t, testserver.Options{})
	s := e.SignIn(t, "window@example.com")
	claims, err := e.App.Issuer.VerifyAccess(context.Background(), s.Access)
	if err != nil {
		t.Fatal(err)
	}
	// auth_time is whole seconds: move to exactly auth_time + the window.
	e.Clock.Advance(claims.AuthTime.Add(window).Sub(e.Clock.Now()))
	at := testserver.SessionOf(t, e.Do(t, "POST", "/api/session/refresh", nil, testserver.Cookie("sesame_refresh", s.Refresh)))
	if r := e.Do(t, "POST", "/api/webauthn/register/begin", nil, testserver.Bearer(at.Access)); r.Status != http.StatusOK {
		t.Fatalf("register/begin at exactly %v after sign-in = %d %s; want 200", window, r.Status, r.Body)
	}
	e.Clock.Advance(time.Second)
	after := testserver.SessionOf(t, e.Do(t, "POST", "/api/session/refresh", nil, testserver.Cookie("sesame_refresh", at.Refresh)))
	assertProblem(t, e.Do(t, "POST", "/api/webauthn/register/begin", nil, testserver.Bearer(after.Access)), http.StatusForbidden, "reauth_required")
}

// TestTokenForAnotherUsersSession: an access token whose session belongs
// to someone else passes no live-session route, and ends nobody's
// sessions (rule 52). Only our key can sign one; the check stands behind
// it in case a session id is ever confused.
func TestTokenForAnotherUsersSession(t *testing.T) {
	e := testserver.New(t, testserver.Options{})
	ctx := context.Background()
	alice, bob := e.SignIn(t, "alice@example.com"), e.SignIn(t, "bob@example.com")
	bobClaims, err := e.App.Issuer.VerifyAccess(ctx, bob.Access)
	if err != nil {
		t.Fatal(err)
	}
	mixed, _, err := e.App.Issuer.Access(ctx, alice.UserID, bobClaims.SessionID, e.Clock.Now(), []string{"otp"})
	if err != nil {
		t.Fatal(err)
	}
	r := e.Do(t, "POST", "/api/session/logout-all", nil, testserver.Bearer(mixed))
	assertProblem(t, r, http.StatusUnauthorized, "unauthorized")
	if got := r.Header.Get("WWW-Authenticate"); got != `Bearer error="invalid_token"` {
		t.Errorf("WWW-Authenticate = %q", got)
	}
	for name, s := range map[string]testserver.Session{"alice": alice, "bob": bob} {
		if r := e.Do(t, "POST", "/api/session/refresh", nil, testserver.Cookie("sesame_refresh", s.Refresh)); r.Status != http.StatusOK {
			t.Errorf("%s's session after the refused request: refresh = %d %s; want 200", name, r.Status, r.Body)
		}
	}
}

// TestSessionAnswer: a sign-in answers a Bearer token that lives 10
// minutes, and says so (rule 31).
func TestSessionAnswer(t *testing.T) {
	e := testserver.New(t, testserver.Options{})
	flowID, code, _ := e.StartEmail(t, "answer@example.com")
	r := e.Do(t, "POST", "/api/email/verify", map[string]string{"flow_id": flowID, "code": code})
	body := r.JSON(t)
	if body["token_type"] != "Bearer" || body["expires_in"] != float64(600) {
		t.Fatalf("session answer = %v; want token_type Bearer, expires_in 600", body)
	}
	claims, err := e.App.Issuer.VerifyAccess(context.Background(), testserver.SessionOf(t, r).Access)
	if err != nil || claims.ExpiresAt.Sub(claims.IssuedAt) != 10*time.Minute {
		t.Fatalf("access token claims %+v, %v; want 10 minutes of life", claims, err)
	}
}

// TestRefreshCookieLifetime: the refresh cookie of a sign-in lives until
// the session's absolute end (30 days); logging out replaces it with an
// empty one that is already expired, so the browser drops it (rule 31).
func TestRefreshCookieLifetime(t *testing.T) {
	e := testserver.New(t, testserver.Options{})
	refreshCookie := func(t *testing.T, r testserver.Response) *http.Cookie {
		t.Helper()
		for _, v := range r.Header.Values("Set-Cookie") {
			if c, err := http.ParseSetCookie(v); err == nil && c.Name == "sesame_refresh" {
				return c
			}
		}
		t.Fatalf("no sesame_refresh cookie in %v", r.Header.Values("Set-Cookie"))
		return nil
	}
	flowID, code, _ := e.StartEmail(t, "lifetime@example.com")
	signIn := e.Do(t, "POST", "/api/email/verify", map[string]string{"flow_id": flowID, "code": code})
	s := testserver.SessionOf(t, signIn)
	c := refreshCookie(t, signIn)
	end := e.Clock.Now().Add(30 * 24 * time.Hour)
	if c.Value == "" || c.MaxAge != 0 || c.Expires.Before(end.Add(-time.Second)) || c.Expires.After(end.Add(time.Second)) {
		t.Errorf("sign-in cookie: value %d bytes, Max-Age %d, Expires %v; want the token until %v", len(c.Value), c.MaxAge, c.Expires, end)
	}

	out := e.Do(t, "POST", "/api/session/logout", nil, testserver.Cookie("sesame_refresh", s.Refresh))
	if out.Status != http.StatusNoContent {
		t.Fatalf("logout = %d %s", out.Status, out.Body)
	}
	c = refreshCookie(t, out)
	if c.Value != "" || c.MaxAge > 0 || !c.Expires.Before(e.Clock.Now()) {
		t.Errorf("logout cookie: value %q, Max-Age %d, Expires %v; want empty and already expired", c.Value, c.MaxAge, c.Expires)
	}
}
