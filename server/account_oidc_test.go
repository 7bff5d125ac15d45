package server_test

import (
	"context"
	"net/http"
	"testing"

	"golang.org/x/oauth2"

	"github.com/sesame-auth/sesame/internal/testauthn"
	"github.com/sesame-auth/sesame/internal/testserver"
	"github.com/sesame-auth/sesame/oidc"
)

// TestOIDCNameClaim: with scope profile the ID token and userinfo carry
// the display name set by PATCH /api/me; without a name, no name claim.
func TestOIDCNameClaim(t *testing.T) {
	e := testserver.New(t, listening)
	s, _ := testauthn.SignUp(t, e, "nami@example.com")
	rp := newRP(t, e, oidc.NewClient{Trusted: true})
	rp.cfg.Scopes = append(rp.cfg.Scopes, "profile")
	claims := func() map[string]any {
		f, code := codeFor(t, rp, s.Access, nil)
		tok := rp.exchange(t, f, code)
		var c map[string]any
		if err := tok.idToken.Claims(&c); err != nil {
			t.Fatal(err)
		}
		info, err := rp.provider.UserInfo(context.Background(), oauth2.StaticTokenSource(tok.Token))
		if err != nil {
			t.Fatal(err)
		}
		var ic map[string]any
		if err := info.Claims(&ic); err != nil {
			t.Fatal(err)
		}
		if c["name"] != ic["name"] {
			t.Errorf("ID token name %v, userinfo name %v", c["name"], ic["name"])
		}
		return c
	}
	if c := claims(); c["name"] != nil {
		t.Fatalf("name claim %v before a name was set", c["name"])
	}
	if r := e.Do(t, "PATCH", "/api/me", map[string]string{"name": "Nami Ōno"}, testserver.Bearer(s.Access)); r.Status != http.StatusOK {
		t.Fatalf("PATCH /api/me = %d %s", r.Status, r.Body)
	}
	if c := claims(); c["name"] != "Nami Ōno" {
		t.Fatalf("name claim = %v; want Nami Ōno", c["name"])
	}
}

// TestDeleteAccountLogsAppsOut: deleting an account ends the apps' tokens
// and sends each a Back-Channel Logout token for the session first.
func TestDeleteAccountLogsAppsOut(t *testing.T) {
	e := testserver.New(t, listening)
	s, _ := testauthn.SignUp(t, e, "dora@example.com")
	bc := newBackchannelRP(t, 0)
	rp := newRP(t, e, oidc.NewClient{Trusted: true, BackchannelLogoutURI: bc.srv.URL})
	f, code := codeFor(t, rp, s.Access, nil)
	tok := rp.exchange(t, f, code)
	if r := e.Do(t, "DELETE", "/api/me", nil, testserver.Bearer(s.Access)); r.Status != http.StatusNoContent {
		t.Fatalf("DELETE /api/me = %d %s", r.Status, r.Body)
	}
	if c := bc.receive(t, rp); c.Sid != sessionID(t, s.Access) {
		t.Errorf("logout token sid %q; want %q", c.Sid, sessionID(t, s.Access))
	}
	if _, err := rp.provider.UserInfo(context.Background(), oauth2.StaticTokenSource(tok.Token)); err == nil {
		t.Error("the app's access token outlived the account")
	}
}
