package server_test

import (
	"encoding/base64"
	"net/http"
	"net/url"
	"testing"

	"github.com/sesame-auth/sesame"
	"github.com/sesame-auth/sesame/internal/testauthn"
	"github.com/sesame-auth/sesame/internal/testserver"
	"github.com/sesame-auth/sesame/oidc"
)

// benchClient registers a trusted confidential client with alg and returns
// its id and Basic credentials.
func benchClient(b *testing.B, e *testserver.Env, alg string) (string, testserver.Header) {
	b.Helper()
	c, secret, err := e.App.OIDC.Register(b.Context(), oidc.NewClient{Name: "Bench", Trusted: true, IDTokenAlg: alg, RedirectURIs: []string{rpRedirect}})
	if err != nil {
		b.Fatal(err)
	}
	return c.ID, testserver.H("Authorization", "Basic "+base64.StdEncoding.EncodeToString([]byte(c.ID+":"+secret)))
}

var formType = testserver.H("Content-Type", "application/x-www-form-urlencoded")

// BenchmarkOIDCCodeLogin is one complete authorization-code login through
// the handlers on SQLite, with a passkey session already present:
// authorize, accept, token (PKCE, ID token signed) and userinfo.
func BenchmarkOIDCCodeLogin(b *testing.B) {
	for _, alg := range []string{"RS256", "ES256"} {
		b.Run(alg, func(b *testing.B) {
			e := testserver.New(b, testserver.Options{RateLimits: "off"})
			_, a := testauthn.SignUp(b, e, "bench@example.com")
			s := testauthn.SignIn(b, e, a, "")
			id, basic := benchClient(b, e, alg)
			verifier := sesame.NewToken()
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				f := started(b, e.Do(b, "GET", authorizeURL(id, rpRedirect, func(q url.Values) { q.Set("code_challenge", s256(verifier)) }), nil))
				r := e.Do(b, "POST", "/api/oauth2/requests/"+f.requestID+"/accept", map[string]bool{"consent": true}, testserver.Bearer(s.Access), f.cookie())
				to, _ := r.JSON(b)["redirect_to"].(string)
				u, _ := url.Parse(to)
				r = e.Do(b, "POST", "/oauth2/token", url.Values{"grant_type": {"authorization_code"}, "code": {u.Query().Get("code")},
					"redirect_uri": {rpRedirect}, "code_verifier": {verifier}}.Encode(), formType, basic)
				access, _ := r.JSON(b)["access_token"].(string)
				if r = e.Do(b, "GET", "/oauth2/userinfo", nil, testserver.Bearer(access)); r.Status != http.StatusOK {
					b.Fatalf("userinfo: %d %s", r.Status, r.Body)
				}
			}
		})
	}
}

// BenchmarkOIDCRefresh is one client refresh-token grant (rotation, new
// access and ID tokens) through the handlers on SQLite.
func BenchmarkOIDCRefresh(b *testing.B) {
	e := testserver.New(b, testserver.Options{RateLimits: "off"})
	_, a := testauthn.SignUp(b, e, "bench@example.com")
	s := testauthn.SignIn(b, e, a, "")
	id, basic := benchClient(b, e, "RS256")
	verifier := sesame.NewToken()
	f := started(b, e.Do(b, "GET", authorizeURL(id, rpRedirect, func(q url.Values) {
		q.Set("code_challenge", s256(verifier))
		q.Set("scope", "openid offline_access")
	}), nil))
	to, _ := e.Do(b, "POST", "/api/oauth2/requests/"+f.requestID+"/accept", map[string]bool{"consent": true}, testserver.Bearer(s.Access), f.cookie()).JSON(b)["redirect_to"].(string)
	u, _ := url.Parse(to)
	r := e.Do(b, "POST", "/oauth2/token", url.Values{"grant_type": {"authorization_code"}, "code": {u.Query().Get("code")},
		"redirect_uri": {rpRedirect}, "code_verifier": {verifier}}.Encode(), formType, basic)
	refresh, _ := r.JSON(b)["refresh_token"].(string)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		r := e.Do(b, "POST", "/oauth2/token", url.Values{"grant_type": {"refresh_token"}, "refresh_token": {refresh}}.Encode(), formType, basic)
		if r.Status != http.StatusOK {
			b.Fatalf("refresh: %d %s", r.Status, r.Body)
		}
		refresh, _ = r.JSON(b)["refresh_token"].(string)
	}
}
