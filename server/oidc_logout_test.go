package server_test

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	gooidc "github.com/coreos/go-oidc/v3/oidc"
	"golang.org/x/oauth2"

	"github.com/sesame-auth/sesame/internal/testauthn"
	"github.com/sesame-auth/sesame/internal/testserver"
	"github.com/sesame-auth/sesame/oidc"
)

// backchannelRP is a relying party's back-channel logout endpoint: it
// answers failures first times, then 200, and passes on the tokens.
type backchannelRP struct {
	srv      *httptest.Server
	tokens   chan string
	failures atomic.Int32
	attempts atomic.Int32 // posts received, failed or not
}

func newBackchannelRP(t *testing.T, failFirst int) *backchannelRP {
	b := &backchannelRP{tokens: make(chan string, 16)}
	b.failures.Store(int32(failFirst))
	b.srv = httptest.NewServer(b.handler())
	t.Cleanup(b.srv.Close)
	return b
}

// handler is the endpoint: failures first, then each token passed on.
func (b *backchannelRP) handler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b.attempts.Add(1)
		if b.failures.Add(-1) >= 0 {
			http.Error(w, "try later", http.StatusServiceUnavailable)
			return
		}
		if err := r.ParseForm(); err != nil || r.Header.Get("Content-Type") != "application/x-www-form-urlencoded" {
			http.Error(w, "bad", http.StatusBadRequest)
			return
		}
		b.tokens <- r.PostForm.Get("logout_token")
		w.WriteHeader(http.StatusOK)
	})
}

// waitAttempts waits until the endpoint has been posted to n times.
func (b *backchannelRP) waitAttempts(t *testing.T, n int32) {
	t.Helper()
	for deadline := time.Now().Add(15 * time.Second); b.attempts.Load() < n; time.Sleep(10 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("%d back-channel posts; want %d", b.attempts.Load(), n)
		}
	}
}

// logoutClaims is a Back-Channel Logout token's payload.
type logoutClaims struct {
	Iss    string                    `json:"iss"`
	Aud    any                       `json:"aud"`
	Sub    string                    `json:"sub"`
	Sid    string                    `json:"sid"`
	Jti    string                    `json:"jti"`
	Iat    int64                     `json:"iat"`
	Nonce  *string                   `json:"nonce"`
	Events map[string]map[string]any `json:"events"`
}

// receive waits for a logout token and verifies it as an RP must
// (Back-Channel Logout §2.6): signature from the JWKS, typ, iss, aud,
// iat, jti, events, sid or sub, and no nonce.
func (b *backchannelRP) receive(t *testing.T, rp *relyingParty) logoutClaims {
	t.Helper()
	var raw string
	select {
	case raw = <-b.tokens:
	case <-time.After(15 * time.Second):
		t.Fatal("no back-channel logout token arrived")
	}
	keys := gooidc.NewRemoteKeySet(context.Background(), rp.e.PublicURL+"/.well-known/jwks.json")
	payload, err := keys.VerifySignature(context.Background(), raw)
	if err != nil {
		t.Fatalf("logout token signature: %v", err)
	}
	header, _ := base64.RawURLEncoding.DecodeString(strings.Split(raw, ".")[0])
	var h struct{ Typ, Alg string }
	_ = json.Unmarshal(header, &h)
	var c logoutClaims
	if err := json.Unmarshal(payload, &c); err != nil {
		t.Fatal(err)
	}
	if h.Typ != "logout+jwt" || h.Alg != rp.client.IDTokenAlg || c.Iss != rp.e.PublicURL || c.Aud != rp.client.ID ||
		c.Jti == "" || c.Iat == 0 || c.Nonce != nil || c.Sid == "" || c.Sub == "" ||
		c.Events["http://schemas.openid.net/event/backchannel-logout"] == nil {
		t.Fatalf("logout token header %+v claims %+v", h, c)
	}
	return c
}

// receiveAdvancing is receive for a delivery that waits for a retry: it
// moves e's clock a minute at a time until the token arrives, since the
// failed try may be recorded after the app saw it.
func (b *backchannelRP) receiveAdvancing(t *testing.T, e *testserver.Env, rp *relyingParty) logoutClaims {
	t.Helper()
	for deadline := time.Now().Add(15 * time.Second); len(b.tokens) == 0 && time.Now().Before(deadline); {
		e.Clock.Advance(time.Minute)
		time.Sleep(50 * time.Millisecond)
	}
	return b.receive(t, rp)
}

// TestOIDCEndSessionAndBackchannelLogout: an app's RP-initiated logout
// goes through the sign-out page's calls and back to the registered
// post_logout_redirect_uri with state; ending the Sesame session sends a
// verified Back-Channel Logout token to every app holding tokens of it
// (one after a failed first attempt), and their tokens die (rule 50).
func TestOIDCEndSessionAndBackchannelLogout(t *testing.T) {
	engines(t, listening, func(t *testing.T, e *testserver.Env) {
		_, a := testauthn.SignUp(t, e, "kim@example.com")
		s := testauthn.SignIn(t, e, a, "")
		bc1, bc2 := newBackchannelRP(t, 0), newBackchannelRP(t, 1)
		rp := newRP(t, e, oidc.NewClient{Name: "Grafana", Trusted: true, PostLogoutRedirectURIs: []string{"https://app.example.com/bye"},
			BackchannelLogoutURI: bc1.srv.URL + "/bc"})
		other := newRP(t, e, oidc.NewClient{Name: "Gitea", Trusted: true, IDTokenAlg: "ES256", BackchannelLogoutURI: bc2.srv.URL + "/bc"})
		offline := oauth2.SetAuthURLParam("scope", "openid offline_access")
		f, code := codeFor(t, rp, s.Access, nil, offline)
		tok := rp.exchange(t, f, code)
		f2, code2 := codeFor(t, other, s.Access, nil, offline)
		tok2 := other.exchange(t, f2, code2)

		// Refusals first: nothing is stored, no redirect.
		for _, q := range []url.Values{
			{"id_token_hint": {tok.raw}, "post_logout_redirect_uri": {"https://evil.example.com/"}},
			{"post_logout_redirect_uri": {"https://app.example.com/bye"}},
			{"id_token_hint": {tok.raw[:len(tok.raw)-4] + "AAAA"}},
			{"id_token_hint": {tok.raw}, "client_id": {other.client.ID}},
			{"client_id": {rp.client.ID}, "state": {"a", "b"}},
		} {
			assertErrorPage(t, e.Do(t, "GET", "/oauth2/end_session?"+q.Encode(), nil))
		}

		q := url.Values{"id_token_hint": {tok.raw}, "post_logout_redirect_uri": {"https://app.example.com/bye"}, "state": {"st8"}}
		r := e.Do(t, "GET", "/oauth2/end_session?"+q.Encode(), nil)
		loc := r.Header.Get("Location")
		if r.Status != http.StatusSeeOther || !strings.HasPrefix(loc, "/signout?logout=") {
			t.Fatalf("end_session = %d %q", r.Status, loc)
		}
		id := strings.TrimPrefix(loc, "/signout?logout=")
		info := e.Do(t, "GET", "/api/oauth2/logout/"+id, nil).JSON(t)
		if cl, _ := info["client"].(map[string]any); cl["id"] != rp.client.ID || cl["name"] != "Grafana" {
			t.Fatalf("logout info = %v", info)
		}
		// The page: sign out of Sesame, then complete.
		if r := e.Do(t, "POST", "/api/session/logout", nil, testserver.Bearer(s.Access), testserver.H("Origin", e.PublicURL)); r.Status != http.StatusNoContent {
			t.Fatalf("logout = %d %s", r.Status, r.Body)
		}
		r = e.Do(t, "POST", "/api/oauth2/logout/"+id+"/complete", nil, testserver.H("Origin", e.PublicURL))
		if to := r.JSON(t)["redirect_to"]; to != "https://app.example.com/bye?state=st8" {
			t.Fatalf("complete = %d %v", r.Status, to)
		}
		assertProblem(t, e.Do(t, "POST", "/api/oauth2/logout/"+id+"/complete", nil), http.StatusNotFound, "not_found")

		c1 := bc1.receive(t, rp)
		// Gitea answered 503 first: its retry comes due as time passes.
		bc2.waitAttempts(t, 1)
		c2 := bc2.receiveAdvancing(t, e, other)
		var idClaims struct {
			Sid string `json:"sid"`
		}
		_ = tok.idToken.Claims(&idClaims)
		if c1.Sid != idClaims.Sid || c1.Sub != s.UserID || c2.Sid != idClaims.Sid {
			t.Fatalf("logout tokens name sid %q/%q sub %q; want the ID token's sid %q and %q", c1.Sid, c2.Sid, c1.Sub, idClaims.Sid, s.UserID)
		}
		for _, x := range []struct {
			rp  *relyingParty
			tok tokens
		}{{rp, tok}, {other, tok2}} {
			if _, err := x.rp.provider.UserInfo(context.Background(), oauth2.StaticTokenSource(x.tok.Token)); err == nil {
				t.Errorf("%s: access token outlived the session", x.rp.client.Name)
			}
			st, m := tokenPost(t, x.rp, url.Values{"grant_type": {"refresh_token"}, "refresh_token": {x.tok.RefreshToken}})
			assertOAuthError(t, st, m, 400, "invalid_grant")
		}

		// A logout without any app: no client, no redirect.
		r = e.Do(t, "GET", "/oauth2/end_session", nil)
		id = strings.TrimPrefix(r.Header.Get("Location"), "/signout?logout=")
		if info := e.Do(t, "GET", "/api/oauth2/logout/"+id, nil).JSON(t); info["client"] != nil {
			t.Fatalf("logout info = %v", info)
		}
		if r := e.Do(t, "POST", "/api/oauth2/logout/"+id+"/complete", nil); r.JSON(t)["redirect_to"] != nil {
			t.Fatalf("complete = %s", r.Body)
		}
	})
}

// TestOIDCBackchannelOnEveryRoute: sign out everywhere, ending one session
// from /account, and a refresh-token replay each end the app's tokens and
// send it a logout token.
func TestOIDCBackchannelOnEveryRoute(t *testing.T) {
	e := testserver.New(t, listening)
	_, a := testauthn.SignUp(t, e, "lee@example.com")
	bc := newBackchannelRP(t, 0)
	rp := newRP(t, e, oidc.NewClient{Trusted: true, BackchannelLogoutURI: bc.srv.URL})
	for name, end := range map[string]func(s testserver.Session){
		"logout-all": func(s testserver.Session) {
			if r := e.Do(t, "POST", "/api/session/logout-all", nil, testserver.Bearer(s.Access)); r.Status != http.StatusNoContent {
				t.Fatalf("logout-all = %d", r.Status)
			}
		},
		"end from account": func(s testserver.Session) {
			other := testauthn.SignIn(t, e, a, "")
			if r := e.Do(t, "DELETE", "/api/me/sessions/"+sessionID(t, s.Access), nil, testserver.Bearer(other.Access)); r.Status != http.StatusNoContent {
				t.Fatalf("end session = %d %s", r.Status, r.Body)
			}
		},
		"refresh reuse": func(s testserver.Session) {
			refresh(e, t, s.Refresh)
			refresh(e, t, s.Refresh)
		},
	} {
		t.Run(name, func(t *testing.T) {
			s := testauthn.SignIn(t, e, a, "")
			f, code := codeFor(t, rp, s.Access, nil)
			tok := rp.exchange(t, f, code)
			end(s)
			c := bc.receive(t, rp)
			if c.Sid != sessionID(t, s.Access) {
				t.Errorf("logout token sid %q; want %q", c.Sid, sessionID(t, s.Access))
			}
			if _, err := rp.provider.UserInfo(context.Background(), oauth2.StaticTokenSource(tok.Token)); err == nil {
				t.Error("access token outlived the session")
			}
		})
	}
}

// sessionID reads the sid of a Sesame access token.
func sessionID(t *testing.T, access string) string {
	t.Helper()
	payload, _ := base64.RawURLEncoding.DecodeString(strings.Split(access, ".")[1])
	var c struct {
		Sid string `json:"sid"`
	}
	if err := json.Unmarshal(payload, &c); err != nil {
		t.Fatal(err)
	}
	return c.Sid
}

// TestOIDCAccountDeletedLogsOutApps: deleting the account (DELETE
// /api/me) revokes every app token of it and sends each app holding one a
// logout token (rule 50: tokens die with the account).
func TestOIDCAccountDeletedLogsOutApps(t *testing.T) {
	e := testserver.New(t, listening)
	_, a := testauthn.SignUp(t, e, "mo@example.com")
	s := testauthn.SignIn(t, e, a, "")
	bc := newBackchannelRP(t, 0)
	rp := newRP(t, e, oidc.NewClient{Trusted: true, BackchannelLogoutURI: bc.srv.URL})
	f, code := codeFor(t, rp, s.Access, nil, oauth2.SetAuthURLParam("scope", "openid offline_access"))
	tok := rp.exchange(t, f, code)
	if r := e.Do(t, "DELETE", "/api/me", nil, testserver.Bearer(s.Access), testserver.H("Origin", e.PublicURL)); r.Status != http.StatusNoContent {
		t.Fatalf("delete account = %d %s", r.Status, r.Body)
	}
	if c := bc.receive(t, rp); c.Sub != s.UserID {
		t.Fatalf("logout token sub %q; want %q", c.Sub, s.UserID)
	}
	st, m := tokenPost(t, rp, url.Values{"grant_type": {"refresh_token"}, "refresh_token": {tok.RefreshToken}})
	assertOAuthError(t, st, m, 400, "invalid_grant")
}

// TestOIDCProfileName: with scope profile, the display name the person
// set is the ID token's and userinfo's name; without it, neither says it.
func TestOIDCProfileName(t *testing.T) {
	e := testserver.New(t, listening)
	_, a := testauthn.SignUp(t, e, "nia@example.com")
	s := testauthn.SignIn(t, e, a, "")
	if r := e.Do(t, "PATCH", "/api/me", map[string]string{"name": "Nia Okafor"}, testserver.Bearer(s.Access)); r.Status != http.StatusOK {
		t.Fatalf("rename = %d %s", r.Status, r.Body)
	}
	rp := newRP(t, e, oidc.NewClient{Trusted: true})
	for _, scope := range []string{"openid email profile", "openid email"} {
		f, code := codeFor(t, rp, s.Access, nil, oauth2.SetAuthURLParam("scope", scope))
		tok := rp.exchange(t, f, code)
		var claims struct {
			Name string `json:"name"`
		}
		_ = tok.idToken.Claims(&claims)
		ui, err := rp.provider.UserInfo(context.Background(), oauth2.StaticTokenSource(tok.Token))
		if err != nil {
			t.Fatal(err)
		}
		var uiClaims struct {
			Name string `json:"name"`
		}
		_ = ui.Claims(&uiClaims)
		want := ""
		if strings.Contains(scope, "profile") {
			want = "Nia Okafor"
		}
		if claims.Name != want || uiClaims.Name != want {
			t.Errorf("scope %q: name %q in the ID token, %q in userinfo; want %q", scope, claims.Name, uiClaims.Name, want)
		}
	}
}
