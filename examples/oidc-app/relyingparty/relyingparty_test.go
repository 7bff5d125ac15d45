package relyingparty_test

import (
	"context"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/sesame-auth/sesame/examples/oidc-app/relyingparty"
	"github.com/sesame-auth/sesame/internal/testserver"
	"github.com/sesame-auth/sesame/oidc"
)

// started is the example app against a real Sesame, with a browser-like
// HTTP client (a cookie jar) that stops where Sesame's /signin page would
// take over.
type started struct {
	e       *testserver.Env
	app     *relyingparty.App
	base    string
	browser *http.Client
}

func start(t *testing.T, scopes ...string) started {
	t.Helper()
	e := testserver.New(t, testserver.Options{Listen: true})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	base := "http://" + ln.Addr().String()
	ctx := context.Background()
	client, secret, err := e.App.OIDC.Register(ctx, oidc.NewClient{
		Name:                   "Example app",
		RedirectURIs:           []string{base + relyingparty.CallbackPath},
		PostLogoutRedirectURIs: []string{base + relyingparty.SignedOutPath},
		BackchannelLogoutURI:   base + relyingparty.BackchannelLogoutPath,
	})
	if err != nil {
		t.Fatal(err)
	}
	app, err := relyingparty.New(ctx, relyingparty.Config{
		Issuer: e.PublicURL, ClientID: client.ID, ClientSecret: secret, BaseURL: base, Scopes: scopes,
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil)),
	})
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: app.Handler(), ReadHeaderTimeout: 5 * time.Second}
	go func() { _ = srv.Serve(ln) }()
	t.Cleanup(func() { _ = srv.Close() })
	jar, _ := cookiejar.New(nil)
	browser := &http.Client{Jar: jar, Timeout: 10 * time.Second, CheckRedirect: func(r *http.Request, _ []*http.Request) error {
		if r.URL.Path == "/signin" || r.URL.Path == "/signout" || r.URL.Path == "/oauth2/end_session" {
			return http.ErrUseLastResponse
		}
		return nil
	}}
	return started{e: e, app: app, base: base, browser: browser}
}

func (s started) get(t *testing.T, u string) (*http.Response, string) {
	t.Helper()
	res, err := s.browser.Get(u)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return res, string(b)
}

// signIn runs the app's sign-in up to Sesame's hand-over, accepts the
// request as the /signin page does for session, and follows the answer
// back to the app; it returns the app's page.
func (s started) signIn(t *testing.T, session testserver.Session) string {
	t.Helper()
	res, _ := s.get(t, s.base+"/login")
	loc, _ := url.Parse(res.Header.Get("Location"))
	id := loc.Query().Get("request")
	if res.StatusCode != http.StatusSeeOther || loc.Path != "/signin" || id == "" {
		t.Fatalf("login ends at %d %s; want Sesame's /signin?request=ID", res.StatusCode, loc)
	}
	// The page's calls carry the cookie that binds the request to this
	// browser: the one the jar would send to the request's API path.
	api, _ := url.Parse(s.e.BaseURL + "/api/oauth2/requests/" + id + "/accept")
	var binder testserver.Header
	for _, c := range s.browser.Jar.Cookies(api) {
		if c.Name == "sesame_request" {
			binder = testserver.Cookie(c.Name, c.Value)
		}
	}
	r := s.e.Do(t, "POST", "/api/oauth2/requests/"+id+"/accept", map[string]bool{"consent": true}, testserver.Bearer(session.Access), binder)
	to, _ := r.JSON(t)["redirect_to"].(string)
	if r.Status != http.StatusOK || !strings.HasPrefix(to, s.base+relyingparty.CallbackPath+"?") {
		t.Fatalf("accept: %d %s", r.Status, r.Body)
	}
	res, page := s.get(t, to)
	if res.StatusCode != http.StatusOK || res.Request.URL.Path != "/" {
		t.Fatalf("callback ends at %d %s: %s", res.StatusCode, res.Request.URL, page)
	}
	return page
}

// TestExampleApp runs the example app's whole life against Sesame: sign
// in (code, PKCE, ID token, nonce, userinfo), sign out through
// end_session, and a back-channel logout when the Sesame session ends.
func TestExampleApp(t *testing.T) {
	s := start(t, "openid", "email", "offline_access")
	const email = "amy@example.com"
	session := s.e.SignIn(t, email)

	page := s.signIn(t, session)
	for _, want := range []string{"Signed in as " + email, `data-claim="nonce"`, `data-claim="sid"`, "Refresh token: yes", `<span id="userinfo-email">` + email} {
		if !strings.Contains(page, want) {
			t.Errorf("the app's page lacks %q:\n%s", want, page)
		}
	}

	// Sign-out goes to Sesame's end_session with what it needs.
	res, err := s.browser.PostForm(s.base+"/logout", nil)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	loc, _ := url.Parse(res.Header.Get("Location"))
	q := loc.Query()
	if res.StatusCode != http.StatusSeeOther || loc.Path != "/oauth2/end_session" || q.Get("id_token_hint") == "" ||
		q.Get("post_logout_redirect_uri") != s.base+relyingparty.SignedOutPath || q.Get("client_id") == "" || q.Get("state") == "" {
		t.Fatalf("sign-out sends to %d %s", res.StatusCode, loc)
	}
	if n := s.app.SessionCount(); n != 0 {
		t.Fatalf("%d sessions after sign-out", n)
	}

	// Signed in again; then the Sesame session ends elsewhere and the app
	// hears of it.
	s.signIn(t, session)
	if r := s.e.Do(t, "POST", "/api/session/logout", nil, testserver.Bearer(session.Access)); r.Status != http.StatusNoContent {
		t.Fatalf("logout: %d %s", r.Status, r.Body)
	}
	deadline := time.Now().Add(10 * time.Second)
	for len(s.app.Logouts()) == 0 {
		if time.Now().After(deadline) {
			t.Fatal("no back-channel logout within 10 s")
		}
		time.Sleep(20 * time.Millisecond)
	}
	l := s.app.Logouts()[0]
	if l.Typ != "logout+jwt" || l.SID == "" || l.Subject != session.UserID || l.Ended != 1 || s.app.SessionCount() != 0 {
		t.Errorf("logout %+v; sessions left %d", l, s.app.SessionCount())
	}
}

// TestExampleAppRefuses: a callback it did not start, an answer without
// Sesame's iss, and a logout token that is not one change nothing.
func TestExampleAppRefuses(t *testing.T) {
	s := start(t)
	session := s.e.SignIn(t, "bo@example.com")
	s.signIn(t, session)

	for name, u := range map[string]string{
		"no login started": s.base + relyingparty.CallbackPath + "?code=x&state=y&iss=" + url.QueryEscape(s.e.PublicURL),
	} {
		res, page := s.get(t, u)
		if res.StatusCode != http.StatusBadRequest || !strings.Contains(page, "not started here") {
			t.Errorf("%s: %d %s", name, res.StatusCode, page)
		}
	}
	for name, body := range map[string]string{
		"garbage":  "logout_token=not.a.jwt",
		"missing":  "",
		"id token": "logout_token=" + url.QueryEscape(session.Access), // a JWT of Sesame's, but not for this app
	} {
		res, err := http.Post(s.base+relyingparty.BackchannelLogoutPath, "application/x-www-form-urlencoded", strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		if res.StatusCode != http.StatusBadRequest {
			t.Errorf("%s: %d; want 400", name, res.StatusCode)
		}
	}
	if n := s.app.SessionCount(); n != 1 || len(s.app.Logouts()) != 0 {
		t.Errorf("after refusals: %d sessions, %d logouts; want 1 and 0", n, len(s.app.Logouts()))
	}
}
