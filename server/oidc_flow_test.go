package server_test

import (
	"context"
	"net/http"
	"slices"
	"strings"
	"testing"

	gooidc "github.com/coreos/go-oidc/v3/oidc"
	"golang.org/x/oauth2"

	"github.com/sesame-auth/sesame/internal/testauthn"
	"github.com/sesame-auth/sesame/internal/testserver"
	"github.com/sesame-auth/sesame/oidc"
)

// TestOIDCCodeFlow is the whole happy path with a real relying party:
// authorize, the page's accept with a passkey session, the code exchange
// with PKCE through x/oauth2, the ID token verified by go-oidc from the
// JWKS (RS256 and ES256 clients), nonce, claims and userinfo.
func TestOIDCCodeFlow(t *testing.T) {
	engines(t, listening, func(t *testing.T, e *testserver.Env) {
		_, a := testauthn.SignUp(t, e, "ada@example.com")
		s := testauthn.SignIn(t, e, a, "")
		for _, alg := range []string{"RS256", "ES256"} {
			t.Run(alg, func(t *testing.T) {
				rp := newRP(t, e, oidc.NewClient{Name: "App " + alg, IDTokenAlg: alg})
				f := rp.authorize(t, nil)
				info := e.Do(t, "GET", "/api/oauth2/requests/"+f.requestID, nil, f.cookie())
				m := info.JSON(t)
				if info.Status != http.StatusOK || m["client"].(map[string]any)["name"] != "App "+alg {
					t.Fatalf("request info = %d %s", info.Status, info.Body)
				}
				// First time: consent is asked for, then given.
				r := accept(t, e, f, s.Access, false)
				assertProblem(t, r, http.StatusForbidden, "consent_required")
				if scopes, _ := r.JSON(t)["scopes"].([]any); len(scopes) != 2 {
					t.Errorf("consent_required scopes = %v; want openid email", r.JSON(t)["scopes"])
				}
				q := rp.acceptOK(t, f, s.Access)
				tok := rp.exchange(t, f, q.Get("code"))
				var claims struct {
					Email         string   `json:"email"`
					EmailVerified bool     `json:"email_verified"`
					AZP           string   `json:"azp"`
					AMR           []string `json:"amr"`
					SID           string   `json:"sid"`
					AuthTime      int64    `json:"auth_time"`
				}
				if err := tok.idToken.Claims(&claims); err != nil {
					t.Fatal(err)
				}
				if tok.idToken.Subject != s.UserID || claims.Email != "ada@example.com" || !claims.EmailVerified ||
					claims.AZP != rp.client.ID || !slices.Contains(claims.AMR, "hwk") || claims.SID == "" || claims.AuthTime == 0 {
					t.Errorf("ID token claims: sub %q %+v", tok.idToken.Subject, claims)
				}
				if exp := tok.idToken.Expiry.Sub(tok.idToken.IssuedAt); exp > oidc.IDTokenTTL {
					t.Errorf("ID token lives %v; want at most 10 minutes", exp)
				}
				if tok.RefreshToken != "" {
					t.Errorf("a refresh token without offline_access")
				}
				ui, err := rp.provider.UserInfo(context.Background(), rp.cfg.TokenSource(context.Background(), tok.Token))
				if err != nil {
					t.Fatalf("userinfo: %v", err)
				}
				if ui.Subject != s.UserID || ui.Email != "ada@example.com" {
					t.Errorf("userinfo = %+v", ui)
				}
				// The second time the consent stands: no question.
				f2 := rp.authorize(t, nil)
				q2 := rp.landing(t, accept(t, e, f2, s.Access, false), f2)
				rp.exchange(t, f2, q2.Get("code"))
			})
		}
	})
}

var _ = gooidc.ScopeOpenID

// TestOIDCAuditAndMetrics: authorize, consent, code redemption, refresh,
// withdrawal and back-channel delivery are counted in /metrics, and those
// of a person are in their activity.
func TestOIDCAuditAndMetrics(t *testing.T) {
	e := testserver.New(t, listening)
	_, a := testauthn.SignUp(t, e, "pat@example.com")
	s := testauthn.SignIn(t, e, a, "")
	rp := newRP(t, e, oidc.NewClient{})
	f := rp.authorize(t, nil, oauth2.SetAuthURLParam("scope", "openid offline_access"))
	q := rp.acceptOK(t, f, s.Access)
	tok := rp.exchange(t, f, q.Get("code"))
	if _, err := rp.cfg.TokenSource(context.Background(), &oauth2.Token{RefreshToken: tok.RefreshToken}).Token(); err != nil {
		t.Fatalf("refresh: %v", err)
	}
	if r := e.Do(t, "DELETE", "/api/me/apps/"+rp.client.ID, nil, testserver.Bearer(s.Access)); r.Status != http.StatusNoContent {
		t.Fatalf("withdraw = %d", r.Status)
	}
	metrics := string(e.Do(t, "GET", "/metrics", nil).Body)
	for _, ev := range []string{oidc.EventAuthorize, oidc.EventConsentGiven, oidc.EventCodeRedeemed, oidc.EventTokenRefreshed, oidc.EventConsentWithdrawn} {
		if !strings.Contains(metrics, `sesame_oidc_events_total{event="`+ev+`",result="success"} `) {
			t.Errorf("/metrics lacks %s", ev)
		}
	}
	activity := string(e.Do(t, "GET", "/api/me/activity", nil, testserver.Bearer(s.Access)).Body)
	for _, ev := range []string{oidc.EventConsentGiven, oidc.EventCodeRedeemed, oidc.EventConsentWithdrawn} {
		if !strings.Contains(activity, `"`+ev+`"`) {
			t.Errorf("activity lacks %s: %s", ev, activity)
		}
	}
}
