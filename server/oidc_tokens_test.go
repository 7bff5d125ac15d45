package server_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"golang.org/x/oauth2"

	"github.com/sesame-auth/sesame/internal/testauthn"
	"github.com/sesame-auth/sesame/internal/testserver"
	"github.com/sesame-auth/sesame/oidc"
)

// TestOIDCClientAuthMethods: confidential clients by client_secret_basic
// and client_secret_post, a public client with method none on a loopback
// redirect, and the refusals: a wrong secret, a public client sending one,
// a confidential one sending none.
func TestOIDCClientAuthMethods(t *testing.T) {
	engines(t, listening, func(t *testing.T, e *testserver.Env) {
		_, a := testauthn.SignUp(t, e, "fay@example.com")
		s := testauthn.SignIn(t, e, a, "")
		for _, style := range []oauth2.AuthStyle{oauth2.AuthStyleInHeader, oauth2.AuthStyleInParams} {
			rp := newRP(t, e, oidc.NewClient{Trusted: true})
			rp.cfg.Endpoint.AuthStyle = style
			f, code := codeFor(t, rp, s.Access, nil)
			rp.exchange(t, f, code)
		}
		pub := newRP(t, e, oidc.NewClient{Trusted: true, Public: true, RedirectURIs: []string{"http://127.0.0.1/callback"}})
		pub.cfg.Endpoint.AuthStyle = oauth2.AuthStyleInParams
		pub.cfg.RedirectURL = "http://127.0.0.1:41234/callback"
		f := pub.authorize(t, nil)
		r := accept(t, e, f, s.Access, false)
		to, _ := r.JSON(t)["redirect_to"].(string)
		u, _ := url.Parse(to)
		pub.exchange(t, f, u.Query().Get("code"))

		conf := newRP(t, e, oidc.NewClient{Trusted: true})
		f, code := codeFor(t, conf, s.Access, nil)
		for name, send := range map[string]func() *http.Response{
			"wrong secret": func() *http.Response {
				return form(t, e, "/oauth2/token", codeGrant(f, code), conf.client.ID, "wrong")
			},
			"no secret": func() *http.Response {
				v := codeGrant(f, code)
				v.Set("client_id", conf.client.ID)
				return form(t, e, "/oauth2/token", v, "", "")
			},
			"public with secret": func() *http.Response {
				return form(t, e, "/oauth2/token", codeGrant(f, code), pub.client.ID, "x")
			},
		} {
			res := send()
			var m map[string]any
			_ = json.NewDecoder(res.Body).Decode(&m)
			if res.StatusCode != 401 || m["error"] != "invalid_client" {
				t.Errorf("%s: = %d %v; want 401 invalid_client", name, res.StatusCode, m)
			}
		}
		// The refused attempts did not spend the code.
		conf.exchange(t, f, code)
	})
}

// TestOIDCRefreshRotation is rule 50: offline_access brings a refresh
// token, each refresh rotates it, a rotated one presented again revokes
// the family, and a refresh token is bound to its client.
func TestOIDCRefreshRotation(t *testing.T) {
	engines(t, listening, func(t *testing.T, e *testserver.Env) {
		_, a := testauthn.SignUp(t, e, "gus@example.com")
		s := testauthn.SignIn(t, e, a, "")
		rp := newRP(t, e, oidc.NewClient{Trusted: true})
		f, code := codeFor(t, rp, s.Access, nil, oauth2.SetAuthURLParam("scope", "openid offline_access"))
		t1 := rp.exchange(t, f, code)
		if t1.RefreshToken == "" {
			t.Fatal("no refresh token")
		}
		other := newRP(t, e, oidc.NewClient{Name: "Other", Trusted: true})
		st, m := tokenPost(t, other, url.Values{"grant_type": {"refresh_token"}, "refresh_token": {t1.RefreshToken}})
		assertOAuthError(t, st, m, 400, "invalid_grant")

		st, m = tokenPost(t, rp, url.Values{"grant_type": {"refresh_token"}, "refresh_token": {t1.RefreshToken}})
		if st != 200 || m["refresh_token"] == t1.RefreshToken || m["refresh_token"] == "" || m["id_token"] == "" {
			t.Fatalf("refresh = %d %v", st, m)
		}
		t2 := m["refresh_token"].(string)
		// The ID token of a refresh verifies, without the nonce.
		if _, err := rp.verifier.Verify(context.Background(), m["id_token"].(string)); err != nil {
			t.Fatalf("refreshed ID token: %v", err)
		}
		st, m = tokenPost(t, rp, url.Values{"grant_type": {"refresh_token"}, "refresh_token": {t1.RefreshToken}})
		assertOAuthError(t, st, m, 400, "invalid_grant")
		st, m = tokenPost(t, rp, url.Values{"grant_type": {"refresh_token"}, "refresh_token": {t2}})
		assertOAuthError(t, st, m, 400, "invalid_grant")
	})
}

// TestOIDCClientTokenRefusedBySesameAPI is rule 46's last sentence: an
// app's access token (aud = the client) opens none of Sesame's /api/*.
func TestOIDCClientTokenRefusedBySesameAPI(t *testing.T) {
	e := testserver.New(t, listening)
	_, a := testauthn.SignUp(t, e, "hal@example.com")
	s := testauthn.SignIn(t, e, a, "")
	rp := newRP(t, e, oidc.NewClient{Trusted: true})
	f, code := codeFor(t, rp, s.Access, nil)
	tok := rp.exchange(t, f, code)
	for _, p := range []string{"/api/me", "/api/me/sessions", "/api/me/apps"} {
		assertProblem(t, e.Do(t, "GET", p, nil, testserver.Bearer(tok.AccessToken)), http.StatusUnauthorized, "unauthorized")
	}
	// And the other way: Sesame's own access token is no userinfo token.
	req, _ := http.NewRequest("GET", e.BaseURL+"/oauth2/userinfo", nil)
	req.Header.Set("Authorization", "Bearer "+s.Access)
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != 401 || !strings.Contains(res.Header.Get("WWW-Authenticate"), "invalid_token") {
		t.Fatalf("userinfo with a Sesame token = %d %q", res.StatusCode, res.Header.Get("WWW-Authenticate"))
	}
}

// TestOIDCCORSOnlyWhereAllowed is rule 51: discovery, JWKS, token,
// userinfo and revoke answer any origin without credentials; no other
// route sends CORS headers.
func TestOIDCCORSOnlyWhereAllowed(t *testing.T) {
	e := testserver.New(t, testserver.Options{})
	origin := testserver.H("Origin", "https://app.example.com")
	for _, rt := range []struct{ method, path string }{
		{"GET", "/.well-known/openid-configuration"}, {"GET", "/.well-known/jwks.json"},
		{"OPTIONS", "/oauth2/token"}, {"POST", "/oauth2/token"}, {"GET", "/oauth2/userinfo"},
		{"OPTIONS", "/oauth2/userinfo"}, {"OPTIONS", "/oauth2/revoke"}, {"POST", "/oauth2/revoke"},
	} {
		r := e.Do(t, rt.method, rt.path, nil, origin, testserver.H("Access-Control-Request-Method", "POST"))
		if r.Header.Get("Access-Control-Allow-Origin") != "*" || r.Header.Get("Access-Control-Allow-Credentials") != "" || r.Status >= 500 {
			t.Errorf("%s %s: = %d ACAO %q ACAC %q; want * without credentials", rt.method, rt.path, r.Status,
				r.Header.Get("Access-Control-Allow-Origin"), r.Header.Get("Access-Control-Allow-Credentials"))
		}
	}
	for _, rt := range []struct{ method, path string }{
		{"GET", "/oauth2/authorize"}, {"POST", "/oauth2/introspect"}, {"OPTIONS", "/oauth2/introspect"},
		{"GET", "/oauth2/end_session"}, {"GET", "/api/me"}, {"OPTIONS", "/api/me"}, {"GET", "/api/oauth2/requests/x"},
		{"POST", "/api/oauth2/requests/x/accept"}, {"GET", "/signin"}, {"POST", "/api/session/refresh"},
	} {
		r := e.Do(t, rt.method, rt.path, nil, origin)
		for _, h := range []string{"Access-Control-Allow-Origin", "Access-Control-Allow-Credentials", "Access-Control-Allow-Methods"} {
			if r.Header.Get(h) != "" {
				t.Errorf("%s %s sends %s: %q", rt.method, rt.path, h, r.Header.Get(h))
			}
		}
	}
}

// TestOIDCTokenBadBodies: whatever a client sends the token endpoint (a
// non-form body, a malformed form, any repeated parameter), the answer is
// an RFC 6749 JSON error, never a 5xx, and the code survives; an unknown
// parameter is ignored.
func TestOIDCTokenBadBodies(t *testing.T) {
	e := testserver.New(t, listening)
	_, a := testauthn.SignUp(t, e, "ivy@example.com")
	s := testauthn.SignIn(t, e, a, "")
	rp := newRP(t, e, oidc.NewClient{Trusted: true})
	f, code := codeFor(t, rp, s.Access, nil)
	good := codeGrant(f, code)
	for name, tc := range map[string]struct {
		ctype, body, want string
		status            int
	}{
		"JSON":               {"application/json", `{"grant_type":"authorization_code"}`, "invalid_request", 400},
		"no content type":    {"", good.Encode(), "invalid_request", 400},
		"text":               {"text/plain", good.Encode(), "invalid_request", 400},
		"malformed form":     {"application/x-www-form-urlencoded", "a=%zz&b", "invalid_request", 400},
		"repeated code":      {"application/x-www-form-urlencoded", good.Encode() + "&code=x", "invalid_request", 400},
		"repeated grant":     {"application/x-www-form-urlencoded", good.Encode() + "&grant_type=refresh_token", "invalid_request", 400},
		"repeated verifier":  {"application/x-www-form-urlencoded", good.Encode() + "&code_verifier=" + f.verifier, "invalid_request", 400},
		"repeated redirect":  {"application/x-www-form-urlencoded", good.Encode() + "&redirect_uri=" + url.QueryEscape(rpRedirect), "invalid_request", 400},
		"repeated client_id": {"application/x-www-form-urlencoded", good.Encode() + "&client_id=" + rp.client.ID + "&client_id=" + rp.client.ID, "invalid_request", 400},
		"multipart":          {"multipart/form-data; boundary=x", "--x\r\nContent-Disposition: form-data; name=\"grant_type\"\r\n\r\nauthorization_code\r\n--x--\r\n", "invalid_request", 400},
		"binary":             {"application/x-www-form-urlencoded", "\x00\xff\xfe=\x01", "invalid_request", 400},
		"empty":              {"application/x-www-form-urlencoded", "", "invalid_request", 400},
		"no grant_type":      {"application/x-www-form-urlencoded", "code=" + code, "invalid_request", 400},
		"password grant":     {"application/x-www-form-urlencoded", "grant_type=password&username=a&password=b", "unsupported_grant_type", 400},
		"client_credentials": {"application/x-www-form-urlencoded", "grant_type=client_credentials", "unsupported_grant_type", 400},
		"huge code":          {"application/x-www-form-urlencoded", "grant_type=authorization_code&code_verifier=" + f.verifier + "&code=" + strings.Repeat("c", 5000), "invalid_request", 400},
	} {
		t.Run(name, func(t *testing.T) {
			req, _ := http.NewRequest("POST", e.BaseURL+"/oauth2/token", strings.NewReader(tc.body))
			if tc.ctype != "" {
				req.Header.Set("Content-Type", tc.ctype)
			}
			req.SetBasicAuth(rp.client.ID, rp.secret)
			res, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer res.Body.Close()
			b, _ := io.ReadAll(res.Body)
			var m map[string]any
			if json.Unmarshal(b, &m) != nil || res.StatusCode != tc.status || m["error"] != tc.want || res.Header.Get("Cache-Control") != "no-store" {
				t.Fatalf("= %d %s (Cache-Control %q); want %d %s", res.StatusCode, b, res.Header.Get("Cache-Control"), tc.status, tc.want)
			}
		})
	}
	// Nothing was spent; an unknown parameter is ignored.
	good.Set("unknown_parameter", "ignored")
	if st, m := tokenPost(t, rp, good); st != http.StatusOK || m["id_token"] == nil {
		t.Fatalf("the code after the refusals, with an unknown parameter = %d %v; want the tokens", st, m)
	}
}

// TestOIDCRevokeAndIntrospect: RFC 7662 introspection for a confidential
// client (active, then inactive after RFC 7009 revocation; another
// client's token is inactive; a public client may not introspect).
func TestOIDCRevokeAndIntrospect(t *testing.T) {
	engines(t, listening, func(t *testing.T, e *testserver.Env) {
		_, a := testauthn.SignUp(t, e, "jo@example.com")
		s := testauthn.SignIn(t, e, a, "")
		rp := newRP(t, e, oidc.NewClient{Trusted: true})
		other := newRP(t, e, oidc.NewClient{Name: "Other", Trusted: true})
		f, code := codeFor(t, rp, s.Access, nil, oauth2.SetAuthURLParam("scope", "openid email offline_access"))
		tok := rp.exchange(t, f, code)
		introspect := func(by *relyingParty, token string) map[string]any {
			res := form(t, e, "/oauth2/introspect", url.Values{"token": {token}}, by.client.ID, by.secret)
			var m map[string]any
			if err := json.NewDecoder(res.Body).Decode(&m); err != nil || res.StatusCode != 200 {
				t.Fatalf("introspect = %d %v", res.StatusCode, err)
			}
			return m
		}
		m := introspect(rp, tok.AccessToken)
		if m["active"] != true || m["client_id"] != rp.client.ID || m["sub"] != s.UserID || !strings.Contains(m["scope"].(string), "email") {
			t.Fatalf("introspect access token = %v", m)
		}
		if m := introspect(rp, tok.RefreshToken); m["active"] != true || m["token_type"] != "refresh_token" {
			t.Fatalf("introspect refresh token = %v", m)
		}
		if m := introspect(other, tok.AccessToken); m["active"] != false {
			t.Fatalf("another client sees the token: %v", m)
		}
		if m := introspect(rp, "garbage"); m["active"] != false || len(m) != 1 {
			t.Fatalf("introspect garbage = %v", m)
		}
		// Revoking by another client does nothing; by the owner, kills both.
		if res := form(t, e, "/oauth2/revoke", url.Values{"token": {tok.RefreshToken}}, other.client.ID, other.secret); res.StatusCode != 200 {
			t.Fatalf("revoke = %d", res.StatusCode)
		}
		if m := introspect(rp, tok.AccessToken); m["active"] != true {
			t.Fatal("another client's revocation took effect")
		}
		if res := form(t, e, "/oauth2/revoke", url.Values{"token": {tok.RefreshToken}, "token_type_hint": {"refresh_token"}}, rp.client.ID, rp.secret); res.StatusCode != 200 {
			t.Fatalf("revoke = %d", res.StatusCode)
		}
		if m := introspect(rp, tok.AccessToken); m["active"] != false {
			t.Fatalf("access token active after revocation: %v", m)
		}
		if m := introspect(rp, tok.RefreshToken); m["active"] != false {
			t.Fatalf("refresh token active after revocation: %v", m)
		}
		if _, err := rp.provider.UserInfo(context.Background(), oauth2.StaticTokenSource(tok.Token)); err == nil {
			t.Error("userinfo accepts a revoked token")
		}
		// Revoking an unknown token is fine (RFC 7009 §2.2).
		if res := form(t, e, "/oauth2/revoke", url.Values{"token": {"nope"}}, rp.client.ID, rp.secret); res.StatusCode != 200 {
			t.Fatalf("revoke unknown = %d", res.StatusCode)
		}
		pub := newRP(t, e, oidc.NewClient{Name: "Pub", Public: true, Trusted: true, RedirectURIs: []string{"http://127.0.0.1/cb"}})
		v := url.Values{"token": {tok.AccessToken}, "client_id": {pub.client.ID}}
		if res := form(t, e, "/oauth2/introspect", v, "", ""); res.StatusCode != 401 {
			t.Fatalf("public client introspects: %d", res.StatusCode)
		}
	})
}
