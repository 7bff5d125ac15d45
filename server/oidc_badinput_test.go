package server_test

import (
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/sesame-auth/sesame/internal/testauthn"
	"github.com/sesame-auth/sesame/internal/testserver"
	"github.com/sesame-auth/sesame/oidc"
)

// noRedirects is a client that shows redirects instead of following them.
var noRedirects = &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}

// TestOIDCBadInput is the bad-input list beyond the tables of
// TestOIDCAuthorizeErrorsRedirectWithIss and TestOIDCTokenBadBodies: a
// malformed or oversized query string at authorize and end_session, an
// oversized or odd request id, and bodies the request API cannot read.
// Each is answered with a 4xx (an HTML page for the browser endpoints, a
// problem for the API), never a 5xx and never a hand-over, and the request
// under way is still completed afterwards.
func TestOIDCBadInput(t *testing.T) {
	e := testserver.New(t, listening)
	_, a := testauthn.SignUp(t, e, "val@example.com")
	s := testauthn.SignIn(t, e, a, "")
	rp := newRP(t, e, oidc.NewClient{Trusted: true})
	f := rp.authorize(t, nil)

	t.Run("malformed query strings", func(t *testing.T) {
		good := strings.TrimPrefix(authorizeURL(rp.client.ID, rpRedirect, nil), "/oauth2/authorize?")
		for name, path := range map[string]string{
			"authorize, bad escape":   "/oauth2/authorize?" + good + "&x=%zz",
			"authorize, bad escape 2": "/oauth2/authorize?client_id=%G1&" + good,
			"authorize, semicolon":    "/oauth2/authorize?" + good + ";x=1",
			"end_session, bad escape": "/oauth2/end_session?client_id=" + rp.client.ID + "&state=%",
		} {
			t.Run(name, func(t *testing.T) { assertErrorPage(t, e.Do(t, "GET", path, nil)) })
		}
	})

	t.Run("oversized query strings", func(t *testing.T) {
		for name, path := range map[string]string{
			"authorize 3 KB parameter": authorizeURL(rp.client.ID, rpRedirect, func(q url.Values) { q["login_hint"] = []string{strings.Repeat("a", 3000)} }),
			"authorize 64 KB":          authorizeURL(rp.client.ID, rpRedirect, func(q url.Values) { q["x"] = []string{strings.Repeat("a", 64<<10)} }),
			"end_session 64 KB":        "/oauth2/end_session?state=" + strings.Repeat("s", 64<<10),
		} {
			t.Run(name, func(t *testing.T) {
				res, err := noRedirects.Get(e.BaseURL + path)
				if err != nil {
					t.Fatal(err)
				}
				io.Copy(io.Discard, res.Body)
				res.Body.Close()
				loc := res.Header.Get("Location")
				if res.StatusCode >= 500 || strings.HasPrefix(loc, "/signin") || strings.HasPrefix(loc, "/signout") {
					t.Fatalf("= %d Location %q; want a 4xx or an error redirect to the app, never a 5xx or a hand-over", res.StatusCode, loc)
				}
			})
		}
	})

	t.Run("request ids", func(t *testing.T) {
		for _, id := range []string{strings.Repeat("x", 65), strings.Repeat("x", 4000), "%00", "..%2F..%2Fme", f.requestID + "x"} {
			r := e.Do(t, "GET", "/api/oauth2/requests/"+id, nil, f.cookie())
			if r.Status != http.StatusNotFound && r.Status != http.StatusForbidden {
				t.Errorf("GET request %q = %d %s; want 404 (or 403 without its cookie)", id, r.Status, r.Body)
			}
		}
	})

	t.Run("bodies the request API cannot read", func(t *testing.T) {
		auth := []testserver.Header{testserver.Bearer(s.Access), testserver.H("Origin", e.PublicURL), f.cookie()}
		for name, body := range map[string]struct {
			ctype, body string
		}{
			"malformed JSON": {"application/json", `{"consent": tru`},
			"form body":      {"application/x-www-form-urlencoded", "consent=true"},
			"wrong types":    {"application/json", `{"consent": "yes", "error": 5}`},
			"JSON array":     {"application/json", `[true]`},
		} {
			t.Run(name, func(t *testing.T) {
				h := append([]testserver.Header{testserver.H("Content-Type", body.ctype)}, auth...)
				assertProblem(t, e.Do(t, "POST", "/api/oauth2/requests/"+f.requestID+"/accept", body.body, h...), http.StatusBadRequest, "bad_request")
				assertProblem(t, e.Do(t, "POST", "/api/oauth2/requests/"+f.requestID+"/deny", body.body, h...), http.StatusBadRequest, "bad_request")
			})
		}
	})

	// Nothing changed: the request completes and its code redeems.
	rp.exchange(t, f, rp.acceptOK(t, f, s.Access).Get("code"))
}
