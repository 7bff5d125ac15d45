package server_test

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"strings"
	"testing"

	"golang.org/x/oauth2"

	"github.com/sesame-auth/sesame/internal/testauthn"
	"github.com/sesame-auth/sesame/internal/testserver"
	"github.com/sesame-auth/sesame/oidc"
)

// browser is a cookie jar speaking to the server over its socket, as a
// real browser does: it keeps the cookies Sesame sets and sends each only
// where its Path and SameSite allow.
type browser struct {
	e      *testserver.Env
	client *http.Client
}

func newBrowser(e *testserver.Env) *browser {
	jar, _ := cookiejar.New(nil)
	return &browser{e: e, client: &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error {
		return http.ErrUseLastResponse
	}}}
}

// do sends method path with an optional JSON body and Bearer token and
// returns the status and the decoded JSON answer (nil when none).
func (b *browser) do(t *testing.T, method, path, access string, body any) (int, map[string]any, *http.Response) {
	t.Helper()
	var r io.Reader
	if body != nil {
		buf, _ := json.Marshal(body)
		r = strings.NewReader(string(buf))
	}
	req, err := http.NewRequest(method, b.e.BaseURL+path, r)
	if err != nil {
		t.Fatal(err)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if access != "" {
		req.Header.Set("Authorization", "Bearer "+access)
	}
	req.Header.Set("Origin", b.e.PublicURL)
	res, err := b.client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	raw, _ := io.ReadAll(res.Body)
	var m map[string]any
	_ = json.Unmarshal(raw, &m)
	return res.StatusCode, m, res
}

// start follows an app's link to /oauth2/authorize and returns the
// request id the browser was sent on with.
func (b *browser) start(t *testing.T, rp *relyingParty) string {
	t.Helper()
	u, _ := url.Parse(rp.cfg.AuthCodeURL("s1", oauth2.S256ChallengeOption(strings.Repeat("v", 43))))
	st, _, res := b.do(t, "GET", u.RequestURI(), "", nil)
	loc := res.Header.Get("Location")
	if st != http.StatusSeeOther || !strings.HasPrefix(loc, "/signin?request=") {
		t.Fatalf("authorize = %d %q", st, loc)
	}
	return strings.TrimPrefix(loc, "/signin?request=")
}

// TestOIDCRequestOfAnotherBrowser: an authorization request belongs to
// the browser the app sent to Sesame. The cookie binding it is HttpOnly,
// SameSite=Strict, scoped to the request's own API path and lives as long as
// the request. Another browser holding the id (no cookie, its own
// request's cookie, a made-up one) can neither read, accept nor deny it,
// and changes nothing: the request then completes in its own browser. One
// browser completes two requests under way at once (two tabs, two apps).
func TestOIDCRequestOfAnotherBrowser(t *testing.T) {
	e := testserver.New(t, listening)
	_, a := testauthn.SignUp(t, e, "ivy@example.com")
	s := testauthn.SignIn(t, e, a, "")
	grafana := newRP(t, e, oidc.NewClient{Name: "Grafana", Trusted: true})
	gitea := newRP(t, e, oidc.NewClient{Name: "Gitea", Trusted: true})

	// The cookie itself.
	r := e.Do(t, "GET", authorizeURL(grafana.client.ID, rpRedirect, nil), nil)
	f := started(t, r)
	var ck *http.Cookie
	for _, c := range (&http.Response{Header: r.Header}).Cookies() {
		if c.Name == requestCookie {
			ck = c
		}
	}
	if ck == nil || ck.Path != "/api/oauth2/requests/"+f.requestID || !ck.HttpOnly || ck.SameSite != http.SameSiteStrictMode ||
		ck.MaxAge != int(oidc.RequestTTL.Seconds()) {
		t.Fatalf("request cookie = %+v; want HttpOnly, SameSite=Strict, Path /api/oauth2/requests/ID, Max-Age %v", ck, oidc.RequestTTL)
	}

	mine, theirs := newBrowser(e), newBrowser(e)
	id := mine.start(t, grafana)
	theirID := theirs.start(t, grafana)
	_, _, r2 := theirs.do(t, "GET", "/api/oauth2/requests/"+theirID, "", nil)
	theirCookie := ""
	for _, c := range theirs.client.Jar.Cookies(r2.Request.URL) {
		theirCookie = c.Value
	}
	if theirCookie == "" {
		t.Fatal("the other browser holds no cookie for its own request")
	}
	reqPath := "/api/oauth2/requests/" + id
	for name, cookie := range map[string]string{"no cookie": "", "another request's cookie": theirCookie, "a made-up cookie": strings.Repeat("A", 43)} {
		t.Run(name, func(t *testing.T) {
			var h []testserver.Header
			if cookie != "" {
				h = append(h, testserver.Cookie(requestCookie, cookie))
			}
			assertProblem(t, e.Do(t, "GET", reqPath, nil, h...), http.StatusForbidden, "other_browser")
			assertProblem(t, e.Do(t, "POST", reqPath+"/accept", map[string]bool{"consent": true},
				append(h, testserver.Bearer(s.Access), testserver.H("Origin", e.PublicURL))...), http.StatusForbidden, "other_browser")
			assertProblem(t, e.Do(t, "POST", reqPath+"/deny", nil, h...), http.StatusForbidden, "other_browser")
		})
	}
	// The other browser, with its own jar, is refused the same way.
	if st, m, _ := theirs.do(t, "POST", reqPath+"/accept", s.Access, map[string]bool{"consent": true}); st != http.StatusForbidden || m["code"] != "other_browser" {
		t.Fatalf("accept from another browser = %d %v; want 403 other_browser", st, m)
	}

	// Nothing changed: the request completes in its own browser, and
	// meanwhile a second request of the same browser, another app's in
	// another tab, stays good too.
	second := mine.start(t, gitea)
	for _, req := range []struct {
		id string
		rp *relyingParty
	}{{id, grafana}, {second, gitea}} {
		st, m, _ := mine.do(t, "GET", "/api/oauth2/requests/"+req.id, "", nil)
		if st != http.StatusOK || m["client"].(map[string]any)["name"] != req.rp.client.Name {
			t.Fatalf("request info in its own browser = %d %v", st, m)
		}
		st, m, _ = mine.do(t, "POST", "/api/oauth2/requests/"+req.id+"/accept", s.Access, map[string]bool{"consent": true})
		to, _ := m["redirect_to"].(string)
		if st != http.StatusOK || !strings.HasPrefix(to, rpRedirect+"?code=") {
			t.Fatalf("accept in its own browser = %d %v", st, m)
		}
	}
	// The other browser's own request is its to deny.
	if st, m, _ := theirs.do(t, "POST", "/api/oauth2/requests/"+theirID+"/deny", "", nil); st != http.StatusOK || !strings.Contains(m["redirect_to"].(string), "error=access_denied") {
		t.Fatalf("deny in its own browser = %d %v", st, m)
	}
}
