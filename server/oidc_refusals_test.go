package server_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/oauth2"

	"github.com/sesame-auth/sesame/internal/testauthn"
	"github.com/sesame-auth/sesame/internal/testserver"
	"github.com/sesame-auth/sesame/oidc"
)

// authorizeURL is an otherwise valid authorization request for client
// with redirect, PKCE and state, with edit applied.
func authorizeURL(clientID, redirect string, edit func(q url.Values)) string {
	q := url.Values{"response_type": {"code"}, "client_id": {clientID}, "redirect_uri": {redirect},
		"scope": {"openid email"}, "state": {"s1"}, "nonce": {"n1"},
		"code_challenge": {s256(strings.Repeat("v", 43))}, "code_challenge_method": {"S256"}}
	if edit != nil {
		edit(q)
	}
	return "/oauth2/authorize?" + q.Encode()
}

// assertErrorPage checks a 400 HTML page with no redirect (rule 42).
func assertErrorPage(t *testing.T, r testserver.Response) {
	t.Helper()
	if r.Status != http.StatusBadRequest || r.Header.Get("Location") != "" || !strings.HasPrefix(r.Header.Get("Content-Type"), "text/html") {
		t.Fatalf("= %d Location %q Content-Type %q; want a 400 HTML page and no Location", r.Status, r.Header.Get("Location"), r.Header.Get("Content-Type"))
	}
	if !strings.Contains(r.Header.Get("Content-Security-Policy"), "frame-ancestors 'none'") {
		t.Errorf("error page lacks frame-ancestors 'none'")
	}
}

// assertErrorRedirect checks a 303 back to redirect with error, state and
// iss (rule 45).
func assertErrorRedirect(t *testing.T, e *testserver.Env, r testserver.Response, redirect, code string) {
	t.Helper()
	loc := r.Header.Get("Location")
	u, err := url.Parse(loc)
	if r.Status != http.StatusSeeOther || err != nil || !strings.HasPrefix(loc, redirect+"?") {
		t.Fatalf("= %d Location %q; want 303 to %s", r.Status, loc, redirect)
	}
	q := u.Query()
	if q.Get("error") != code || q.Get("state") != "s1" || q.Get("iss") != e.PublicURL || q.Get("error_description") == "" {
		t.Fatalf("error redirect %q; want error=%s with state, iss and error_description", loc, code)
	}
}

// TestOIDCRedirectURIMustMatchExactly is rule 42: every variant of the
// registered URI, an unknown client or a missing redirect_uri gets a 400
// page and never a Location; a public client's loopback URI may change
// only its port (RFC 8252 §7.3).
func TestOIDCRedirectURIMustMatchExactly(t *testing.T) {
	e := testserver.New(t, testserver.Options{})
	conf := newRPNoDiscovery(t, e, oidc.NewClient{})
	pub := newRPNoDiscovery(t, e, oidc.NewClient{Public: true, RedirectURIs: []string{"http://127.0.0.1/cb", "http://[::1]:8000/cb"}})
	confLoop := newRPNoDiscovery(t, e, oidc.NewClient{RedirectURIs: []string{"http://127.0.0.1:8000/cb"}})
	for name, tc := range map[string]struct{ client, redirect string }{
		"extra path":        {conf, rpRedirect + "/x"},
		"extra query":       {conf, rpRedirect + "?a=1"},
		"trailing slash":    {conf, rpRedirect + "/"},
		"other port":        {conf, "https://app.example.com:8443/callback"},
		"other scheme":      {conf, "http://app.example.com/callback"},
		"other host":        {conf, "https://evil.example.com/callback"},
		"fragment":          {conf, rpRedirect + "#x"},
		"upper case":        {conf, "https://APP.example.com/callback"},
		"empty":             {conf, ""},
		"unknown client":    {"no-such-client", rpRedirect},
		"loopback path":     {pub, "http://127.0.0.1:5000/cb2"},
		"loopback host":     {pub, "http://localhost:5000/cb"},
		"loopback https":    {pub, "https://127.0.0.1:5000/cb"},
		"loopback query":    {pub, "http://127.0.0.1:5000/cb?x=1"},
		"confidential port": {confLoop, "http://127.0.0.1:9000/cb"},
	} {
		t.Run(name, func(t *testing.T) {
			assertErrorPage(t, e.Do(t, "GET", authorizeURL(tc.client, tc.redirect, nil), nil))
		})
	}
	for _, ok := range []struct{ client, redirect string }{
		{conf, rpRedirect}, {pub, "http://127.0.0.1:53121/cb"}, {pub, "http://127.0.0.1/cb"}, {pub, "http://[::1]:9/cb"}, {confLoop, "http://127.0.0.1:8000/cb"},
	} {
		if r := e.Do(t, "GET", authorizeURL(ok.client, ok.redirect, nil), nil); r.Status != http.StatusSeeOther ||
			!strings.HasPrefix(r.Header.Get("Location"), "/signin?request=") {
			t.Errorf("%s: = %d %q; want the hand-over", ok.redirect, r.Status, r.Header.Get("Location"))
		}
	}
	// A repeated client_id or redirect_uri cannot be trusted to redirect.
	assertErrorPage(t, e.Do(t, "GET", authorizeURL(conf, rpRedirect, func(q url.Values) { q.Add("redirect_uri", rpRedirect) }), nil))
	assertErrorPage(t, e.Do(t, "GET", authorizeURL(conf, rpRedirect, func(q url.Values) { q.Add("client_id", conf) }), nil))
}

// newRPNoDiscovery registers a client and returns its id.
func newRPNoDiscovery(t *testing.T, e *testserver.Env, n oidc.NewClient) string {
	t.Helper()
	if n.Name == "" {
		n.Name = "App"
	}
	if n.RedirectURIs == nil {
		n.RedirectURIs = []string{rpRedirect}
	}
	c, _, err := e.App.OIDC.Register(context.Background(), n)
	if err != nil {
		t.Fatal(err)
	}
	return c.ID
}

// TestOIDCAuthorizeErrorsRedirectWithIss covers rules 43 and 45 and the
// bad-input list: plain PKCE, a challenge without a method, no PKCE, a
// repeated parameter, an unsupported response type and a missing openid
// scope each go back to the app with error, error_description, state and
// iss; unknown parameters are ignored.
func TestOIDCAuthorizeErrorsRedirectWithIss(t *testing.T) {
	e := testserver.New(t, testserver.Options{})
	id := newRPNoDiscovery(t, e, oidc.NewClient{})
	for name, tc := range map[string]struct {
		edit func(q url.Values)
		code string
	}{
		"plain PKCE":              {func(q url.Values) { q.Set("code_challenge_method", "plain") }, "invalid_request"},
		"challenge, no method":    {func(q url.Values) { q.Del("code_challenge_method") }, "invalid_request"},
		"no PKCE":                 {func(q url.Values) { q.Del("code_challenge"); q.Del("code_challenge_method") }, "invalid_request"},
		"plain-looking challenge": {func(q url.Values) { q.Set("code_challenge", "short") }, "invalid_request"},
		"repeated scope":          {func(q url.Values) { q.Add("scope", "openid") }, "invalid_request"},
		"repeated nonce":          {func(q url.Values) { q.Add("nonce", "n2") }, "invalid_request"},
		"token response":          {func(q url.Values) { q.Set("response_type", "token") }, "unsupported_response_type"},
		"no openid":               {func(q url.Values) { q.Set("scope", "email") }, "invalid_scope"},
		"prompt none and login":   {func(q url.Values) { q.Set("prompt", "none login") }, "invalid_request"},
		"negative max_age":        {func(q url.Values) { q.Set("max_age", "-1") }, "invalid_request"},
		"request object":          {func(q url.Values) { q.Set("request", "eyJ") }, "request_not_supported"},
		"oversized state":         {func(q url.Values) { q.Set("nonce", strings.Repeat("n", 3000)) }, "invalid_request"},
	} {
		t.Run(name, func(t *testing.T) {
			assertErrorRedirect(t, e, e.Do(t, "GET", authorizeURL(id, rpRedirect, tc.edit), nil), rpRedirect, tc.code)
		})
	}
	r := e.Do(t, "GET", authorizeURL(id, rpRedirect, func(q url.Values) { q.Set("foo", "bar"); q.Set("state", "x") }), nil)
	if r.Status != http.StatusSeeOther || !strings.HasPrefix(r.Header.Get("Location"), "/signin?request=") {
		t.Fatalf("unknown parameter: = %d %q; want it ignored", r.Status, r.Header.Get("Location"))
	}
}

// codeFor runs authorize and accept for rp with a fresh passkey user and
// returns the flow and its code.
func codeFor(t *testing.T, rp *relyingParty, access string, extra url.Values, opts ...oauth2.AuthCodeOption) (flow, string) {
	t.Helper()
	f := rp.authorize(t, extra, opts...)
	return f, rp.acceptOK(t, f, access).Get("code")
}

// tokenPost redeems a code by hand, for the refusals x/oauth2 would not send.
func tokenPost(t *testing.T, rp *relyingParty, v url.Values) (int, map[string]any) {
	t.Helper()
	res := form(t, rp.e, "/oauth2/token", v, rp.client.ID, rp.secret)
	body, _ := io.ReadAll(res.Body)
	var m map[string]any
	if err := json.Unmarshal(body, &m); err != nil {
		t.Fatalf("token answer %d %q is not JSON", res.StatusCode, body)
	}
	return res.StatusCode, m
}

func codeGrant(f flow, code string) url.Values {
	return url.Values{"grant_type": {"authorization_code"}, "code": {code}, "redirect_uri": {rpRedirect}, "code_verifier": {f.verifier}}
}

func assertOAuthError(t *testing.T, status int, m map[string]any, wantStatus int, code string) {
	t.Helper()
	if status != wantStatus || m["error"] != code {
		t.Fatalf("= %d %v; want %d error %q", status, m, wantStatus, code)
	}
}

// TestOIDCCodeRefusals is rules 43 and 44 at the token endpoint: a wrong
// verifier spends the code for nothing; a replayed code is refused and
// kills the access and refresh tokens of the first redemption; 20
// concurrent redemptions give one success; an expired code and a code of
// another client are refused.
func TestOIDCCodeRefusals(t *testing.T) {
	engines(t, listening, func(t *testing.T, e *testserver.Env) {
		_, a := testauthn.SignUp(t, e, "bob@example.com")
		s := testauthn.SignIn(t, e, a, "")
		rp := newRP(t, e, oidc.NewClient{Trusted: true})
		offline := oauth2.SetAuthURLParam("scope", "openid email offline_access")

		t.Run("wrong verifier", func(t *testing.T) {
			f, code := codeFor(t, rp, s.Access, nil)
			bad := codeGrant(f, code)
			bad.Set("code_verifier", strings.Repeat("w", 43))
			st, m := tokenPost(t, rp, bad)
			assertOAuthError(t, st, m, 400, "invalid_grant")
			st, m = tokenPost(t, rp, codeGrant(f, code))
			assertOAuthError(t, st, m, 400, "invalid_grant")
		})
		t.Run("no verifier", func(t *testing.T) {
			f, code := codeFor(t, rp, s.Access, nil)
			bad := codeGrant(f, code)
			bad.Del("code_verifier")
			st, m := tokenPost(t, rp, bad)
			assertOAuthError(t, st, m, 400, "invalid_grant")
		})
		t.Run("replay", func(t *testing.T) {
			f, code := codeFor(t, rp, s.Access, nil, offline)
			first := rp.exchange(t, f, code)
			if first.RefreshToken == "" {
				t.Fatal("no refresh token with offline_access")
			}
			st, m := tokenPost(t, rp, codeGrant(f, code))
			assertOAuthError(t, st, m, 400, "invalid_grant")
			if _, err := rp.provider.UserInfo(context.Background(), oauth2.StaticTokenSource(first.Token)); err == nil {
				t.Error("the first access token still works after a replay")
			}
			st, m = tokenPost(t, rp, url.Values{"grant_type": {"refresh_token"}, "refresh_token": {first.RefreshToken}})
			assertOAuthError(t, st, m, 400, "invalid_grant")
		})
		t.Run("20 concurrent redemptions", func(t *testing.T) {
			f, code := codeFor(t, rp, s.Access, nil)
			var wg sync.WaitGroup
			var mu sync.Mutex
			statuses := map[int]int{}
			for range 20 {
				wg.Add(1)
				go func() {
					defer wg.Done()
					req, _ := http.NewRequest("POST", e.BaseURL+"/oauth2/token", strings.NewReader(codeGrant(f, code).Encode()))
					req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
					req.SetBasicAuth(rp.client.ID, rp.secret)
					res, err := http.DefaultClient.Do(req)
					if err != nil {
						t.Error(err)
						return
					}
					res.Body.Close()
					mu.Lock()
					statuses[res.StatusCode]++
					mu.Unlock()
				}()
			}
			wg.Wait()
			if statuses[200] != 1 || statuses[400] != 19 {
				t.Fatalf("statuses %v; want one 200 and nineteen 400", statuses)
			}
		})
		t.Run("expired", func(t *testing.T) {
			f, code := codeFor(t, rp, s.Access, nil)
			e.Clock.Advance(oidc.CodeTTL + time.Second)
			st, m := tokenPost(t, rp, codeGrant(f, code))
			assertOAuthError(t, st, m, 400, "invalid_grant")
		})
		t.Run("another client's code", func(t *testing.T) {
			other := newRP(t, e, oidc.NewClient{Name: "Other", Trusted: true})
			f, code := codeFor(t, rp, s.Access, nil)
			st, m := tokenPost(t, other, codeGrant(f, code))
			assertOAuthError(t, st, m, 400, "invalid_grant")
			st, m = tokenPost(t, rp, codeGrant(f, code))
			assertOAuthError(t, st, m, 400, "invalid_grant")
		})
		t.Run("other redirect_uri", func(t *testing.T) {
			f, code := codeFor(t, rp, s.Access, nil)
			v := codeGrant(f, code)
			v.Set("redirect_uri", rpRedirect+"/x")
			st, m := tokenPost(t, rp, v)
			assertOAuthError(t, st, m, 400, "invalid_grant")
		})
	})
}

// TestOIDCConfidentialWithoutPKCE: a confidential client registered with
// --no-pkce (Gitea) may send no challenge; a verifier for such a code is
// refused (RFC 9700 §2.1.1), plain is still refused, and a public client
// cannot be registered without PKCE.
func TestOIDCConfidentialWithoutPKCE(t *testing.T) {
	e := testserver.New(t, listening)
	_, a := testauthn.SignUp(t, e, "gitea@example.com")
	s := testauthn.SignIn(t, e, a, "")
	rp := newRP(t, e, oidc.NewClient{Name: "Gitea", Trusted: true, NoPKCE: true})
	noPKCE := func(q url.Values) { q.Del("code_challenge"); q.Del("code_challenge_method") }
	code := func() string {
		f := started(t, e.Do(t, "GET", authorizeURL(rp.client.ID, rpRedirect, noPKCE), nil))
		to, _ := accept(t, e, f, s.Access, false).JSON(t)["redirect_to"].(string)
		u, _ := url.Parse(to)
		return u.Query().Get("code")
	}
	c := code()
	st, m := tokenPost(t, rp, url.Values{"grant_type": {"authorization_code"}, "code": {c}, "redirect_uri": {rpRedirect}})
	if st != 200 || m["id_token"] == nil {
		t.Fatalf("exchange without PKCE = %d %v", st, m)
	}
	c = code()
	st, m = tokenPost(t, rp, url.Values{"grant_type": {"authorization_code"}, "code": {c}, "redirect_uri": {rpRedirect}, "code_verifier": {strings.Repeat("v", 43)}})
	assertOAuthError(t, st, m, 400, "invalid_grant")
	assertErrorRedirect(t, e, e.Do(t, "GET", authorizeURL(rp.client.ID, rpRedirect, func(q url.Values) { q.Set("code_challenge_method", "plain") }), nil), rpRedirect, "invalid_request")
	if _, _, err := e.App.OIDC.Register(context.Background(), oidc.NewClient{Name: "SPA", Public: true, NoPKCE: true, RedirectURIs: []string{rpRedirect}}); err == nil {
		t.Fatal("a public client without PKCE was registered")
	}
}
