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
	"github.com/sesame-auth/sesame/server"
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

// TestRecentSignInWindowEdges: a factor may be added exactly
// ReauthWindow after the sign-in, not a second later (rule 9).
func TestRecentSignInWindowEdges(t *testing.T) {
	e := testserver.New(t, testserver.Options{})
	s := e.SignIn(t, "window@example.com")
	claims, err := e.App.Issuer.VerifyAccess(context.Background(), s.Access)
	if err != nil {
		t.Fatal(err)
	}
	// auth_time is whole seconds: move to exactly auth_time + the window.
	e.Clock.Advance(claims.AuthTime.Add(server.ReauthWindow).Sub(e.Clock.Now()))
	at := testserver.SessionOf(t, e.Do(t, "POST", "/api/session/refresh", nil, testserver.Cookie("sesame_refresh", s.Refresh)))
	if r := e.Do(t, "POST", "/api/webauthn/register/begin", nil, testserver.Bearer(at.Access)); r.Status != http.StatusOK {
		t.Fatalf("register/begin at exactly %v after sign-in = %d %s; want 200", server.ReauthWindow, r.Status, r.Body)
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
