package browser_test

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/sesame-auth/sesame/examples/oidc-app/relyingparty"
	"github.com/sesame-auth/sesame/internal/testserver"
	"github.com/sesame-auth/sesame/oidc"
)

// testApp is an app that signs its users in with Sesame: the example
// relying party (golang.org/x/oauth2 and go-oidc) on a port of 127.0.0.1,
// another site than Sesame's localhost, registered as a client.
type testApp struct {
	*relyingparty.App
	name, url string
}

type appOptions struct {
	scopes     []string
	authParams map[string]string
}

func startApp(t *testing.T, env *testserver.Env, name string, opts appOptions) *testApp {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	base := "http://" + ln.Addr().String()
	ctx := context.Background()
	client, secret, err := env.App.OIDC.Register(ctx, oidc.NewClient{
		Name:                   name,
		RedirectURIs:           []string{base + relyingparty.CallbackPath},
		PostLogoutRedirectURIs: []string{base + relyingparty.SignedOutPath},
		BackchannelLogoutURI:   base + relyingparty.BackchannelLogoutPath,
	})
	if err != nil {
		t.Fatalf("register %s: %v", name, err)
	}
	app, err := relyingparty.New(ctx, relyingparty.Config{
		Issuer: env.PublicURL, ClientID: client.ID, ClientSecret: secret, BaseURL: base, Name: name,
		Scopes: opts.scopes, AuthParams: opts.authParams,
		Logger: slog.New(slog.NewTextHandler(testWriter{t, name}, nil)),
	})
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: app.Handler(), ReadHeaderTimeout: 5 * time.Second}
	go func() { _ = srv.Serve(ln) }()
	t.Cleanup(func() { _ = srv.Close() })
	return &testApp{App: app, name: name, url: base}
}

// testWriter sends an app's log lines to the test's log.
type testWriter struct {
	t    *testing.T
	name string
}

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Logf("%s: %s", w.name, strings.TrimSpace(string(p)))
	return len(p), nil
}

// visit opens url (any origin) and waits for its <main>.
func (b *tab) visit(url string) {
	b.t.Helper()
	b.do("open "+url, chromedp.Navigate(url), chromedp.WaitVisible(chromedp.CSS("main")))
}

// waitApp waits until the tab shows app's page at path.
func (b *tab) waitApp(app *testApp, path string) {
	b.t.Helper()
	b.wait(app.name+" "+path, fmt.Sprintf(`location.origin === %q && location.pathname === %q && document.readyState === "complete"`, app.url, path))
}

// claim reads a verified claim off the app's page (its JSON text).
func (b *tab) claim(name string) string {
	b.t.Helper()
	return eval[string](b, fmt.Sprintf(`(document.querySelector('td[data-claim=%q]') || {}).textContent || ""`, name))
}

// waitLogout waits until app has received a back-channel logout token.
func waitLogout(t *testing.T, app *testApp) relyingparty.Logout {
	t.Helper()
	deadline := time.Now().Add(stepTimeout)
	for {
		if l := app.Logouts(); len(l) > 0 {
			return l[len(l)-1]
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s got no back-channel logout", app.name)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// TestSignInToAppsWithSesame is issue 10's story in a browser: a person
// with a passkey clicks "Sign in with Sesame" on one app, signs in with the
// passkey, allows, and lands back on the app with its verified claims; a
// second app (asking in Japanese) passes them through with only a
// consent; signing out from the first app asks, ends the Sesame session,
// and the second app gets its back-channel logout.
func TestSignInToAppsWithSesame(t *testing.T) {
	env := newEnv(t)
	b := openTab(t, env, "ann", tabOptions{Authenticator: true})
	const email = "ann@example.com"
	grafana := startApp(t, env, "Grafana", appOptions{})
	gitea := startApp(t, env, "Gitea", appOptions{authParams: map[string]string{"ui_locales": "ja"}})

	b.signUp(email, true)
	b.addPasskeyFromOffer(email)
	creds := b.signOutHidingPasskeys()

	// Grafana sends the person to Sesame, which names it.
	b.visit(grafana.url)
	b.shot("app")
	b.click("#sign-in")
	b.waitPage("/signin")
	b.waitText("#signin-heading", "Sign in to Grafana with Sesame")
	b.wait("the autofill request to settle", `document.documentElement.dataset.autofill === "off"`)
	if got := eval[string](b, `document.title`); got != "Sign in to Grafana · Sesame" {
		t.Errorf("title %q", got)
	}
	b.shot("handover-signin")
	b.restoreCredentials(creds)
	b.click("#passkey-button")

	// First time: what Grafana gets, in plain words.
	b.waitVisible("#step-consent")
	b.waitText("#consent-heading", "Allow Grafana to use your Sesame account?")
	b.waitText("#consent-as", email)
	if got := b.text("#consent-scopes"); !strings.Contains(got, "Your email address") || !strings.Contains(got, "Your name") {
		t.Errorf("consent lists %q", got)
	}
	b.shot("consent")
	b.click("#consent-allow")
	b.waitApp(grafana, "/")
	b.waitText("#signed-in", email)
	if got := b.claim("email_verified"); got != "true" {
		t.Errorf("email_verified = %s", got)
	}
	if got := b.claim("amr"); !strings.Contains(got, `"hwk"`) {
		t.Errorf("amr = %s; want a device-bound passkey (hwk)", got)
	}
	if b.claim("sid") == "" || b.claim("nonce") == "" {
		t.Error("the ID token lacks sid or nonce")
	}
	b.shot("app-signed-in")

	// Gitea: already signed in to Sesame, so only its consent, in the
	// language it asked for.
	b.visit(gitea.url)
	b.click("#sign-in")
	b.waitVisible("#step-consent")
	b.waitText("#consent-heading", "Gitea に Sesame アカウントの使用を許可しますか？")
	if got := eval[string](b, `document.documentElement.lang`); got != "ja" {
		t.Errorf("page language %q; want ja (ui_locales)", got)
	}
	b.shot("consent-ja")
	b.click("#consent-allow")
	b.waitApp(gitea, "/")
	b.waitText("#signed-in", email)
	giteaSID := strings.Trim(b.claim("sid"), `"`)

	// Both apps are on the account page.
	b.open("/account")
	b.waitAccount(email)
	b.wait("two apps listed", `document.querySelectorAll("#apps li").length === 2`)
	if got := b.text("#apps"); !strings.Contains(got, "Grafana") || !strings.Contains(got, "your email address") || !strings.Contains(got, "Remove access") {
		t.Errorf("apps read %q", got)
	}
	b.shot("account-apps")

	// Signing out from Grafana ends the Sesame session after asking.
	b.visit(grafana.url)
	b.click("#sign-out")
	b.waitPage("/signout")
	b.waitVisible("#step-ask")
	b.waitText("#signout-app", "Grafana asks you to sign out")
	b.waitText("#signout-as", email)
	b.shot("signout")
	b.click("#signout-yes")
	b.waitApp(grafana, relyingparty.SignedOutPath)
	b.waitText("#message", "You are signed out of Grafana.")
	b.shot("app-signed-out")

	l := waitLogout(t, gitea)
	if l.SID != giteaSID || l.Typ != "logout+jwt" || l.Ended != 1 {
		t.Errorf("Gitea's logout: sid %q typ %q ended %d; want sid %q, logout+jwt, 1 session", l.SID, l.Typ, l.Ended, giteaSID)
	}
	b.visit(gitea.url)
	b.waitVisible("#sign-in")

	// Sesame's session is gone: the account page sends to sign-in.
	creds = b.stashCredentials()
	b.open("/account")
	b.waitPage("/signin")
	b.restoreCredentials(creds)
}

// TestAppSignInByEmailLink signs in to an app in Japanese by the emailed
// link, opened in a new tab as a mail app does: the link's page says it
// will go back to the app, the new tab completes the sign-in with the
// consent, and the first tab says it is done elsewhere.
func TestAppSignInByEmailLink(t *testing.T) {
	t.Parallel() // no authenticator
	env := newEnv(t)
	opts := tabOptions{Language: "ja-JP,ja"}
	first := openTab(t, env, "ken", opts)
	const email = "ken@example.com"
	grafana := startApp(t, env, "Grafana", appOptions{authParams: map[string]string{"login_hint": email}})

	first.visit(grafana.url)
	first.click("#sign-in")
	first.waitPage("/signin")
	first.waitText("#signin-heading", "Sesame で Grafana にサインイン")
	if got := eval[string](first, `document.querySelector("#email").value`); got != email {
		t.Errorf("email field %q; want the login_hint %q", got, email)
	}
	first.shot("handover-signin-ja")
	first.click("#email-send")
	first.waitVisible("#step-code")
	_, link := signInMail(t, env, email)

	second := first.sibling("ken-mail", opts)
	second.open(link)
	second.waitVisible("#confirm")
	second.waitText("#link-app", "そのあと Grafana に戻ります。")
	second.shot("link-ja")
	second.click("#confirm-button")
	second.waitVisible("#step-consent")
	second.waitText("#consent-heading", "Grafana に Sesame アカウントの使用を許可しますか？")
	second.shot("consent-ja")
	second.click("#consent-allow")
	second.waitApp(grafana, "/")
	second.waitText("#signed-in", email)

	first.waitVisible("#step-elsewhere")
	first.waitText("#elsewhere-text", "別のタブで Grafana へのサインインが完了しました")
	first.shot("elsewhere-ja")

	second.click("#sign-out")
	second.waitPage("/signout")
	second.waitText("#signout-app", "Grafana がサインアウトを求めています")
	second.shot("signout-ja")
	second.click("#signout-yes")
	second.waitApp(grafana, relyingparty.SignedOutPath)
}

// TestAppsRemoveAccess signs in to an app by the emailed code, removes
// the app's access on the account page, is asked again next time and
// denies; then signs out on Sesame's own sign-out page.
func TestAppsRemoveAccess(t *testing.T) {
	t.Parallel() // no authenticator
	env := newEnv(t)
	b := openTab(t, env, "lee", tabOptions{})
	const email = "lee@example.com"
	wiki := startApp(t, env, "Team wiki", appOptions{scopes: []string{"openid", "email", "offline_access"}})

	b.visit(wiki.url)
	b.click("#sign-in")
	b.waitText("#signin-heading", "Sign in to Team wiki with Sesame")
	b.startEmail(email)
	b.paste("#code", mailedCode(t, env, email))
	b.waitVisible("#step-consent")
	if got := b.text("#consent-scopes"); !strings.Contains(got, "Staying signed in while you're away") {
		t.Errorf("consent lists %q; want offline_access in words", got)
	}
	b.click("#consent-allow")
	b.waitApp(wiki, "/")
	b.waitText("#tokens", "Refresh token: yes")

	b.open("/account")
	b.waitAccount(email)
	b.waitText("#apps .item-name", "Team wiki")
	b.click("#apps li button.danger")
	b.waitVisible("#confirm")
	b.waitText("#confirm-text", "“Team wiki”")
	b.shot("confirm-remove-app")
	b.click("#confirm-yes")
	b.waitText("#apps-note", "Access removed.")
	b.waitVisible("#no-apps")

	// The app keeps its own session; its next sign-in asks again.
	b.visit(wiki.url + "/login")
	b.waitVisible("#step-consent")
	b.click("#consent-deny")
	b.waitApp(wiki, relyingparty.CallbackPath)
	b.waitText("#detail", "access_denied")

	// Sesame's own sign-out page, no app involved: it asks, then says so.
	b.open("/signout")
	b.waitVisible("#step-ask")
	b.waitText("#signout-as", email)
	b.click("#signout-yes")
	b.waitVisible("#step-done")
	b.waitText("#done-heading", "You are signed out")
}

// TestAppHandOverEdges: an app asking with prompt=none never shows a page
// and, without a Sesame session, hears login_required at once; a request
// id that is unknown or spent gets a plain page with a way on, and so does
// a live one opened in another browser, while the browser that started it
// can still answer the app; the plain sign-out page says so when nobody is
// signed in.
func TestAppHandOverEdges(t *testing.T) {
	t.Parallel() // no authenticator
	env := newEnv(t)
	b := openTab(t, env, "max", tabOptions{})
	app := startApp(t, env, "Dashboard", appOptions{authParams: map[string]string{"prompt": "none"}})

	b.visit(app.url)
	b.click("#sign-in")
	b.waitApp(app, relyingparty.CallbackPath)
	b.waitText("#detail", "login_required")

	b.open("/signin?request=no-such-request")
	b.waitVisible("#step-gone")
	b.waitText("#gone-heading", "This sign-in has expired")
	b.shot("gone")

	// A live request opened in another browser (the link passed on): that
	// browser lacks the request's cookie, so it is told to start again at
	// the app; the browser the app sent here still completes it.
	wiki := startApp(t, env, "Wiki", appOptions{})
	b.visit(wiki.url)
	b.click("#sign-in")
	b.waitText("#signin-heading", "Sign in to Wiki with Sesame")
	handover := eval[string](b, `location.pathname + location.search`)
	other := openTab(t, env, "elsewhere", tabOptions{})
	other.open(handover)
	other.waitVisible("#step-gone")
	other.waitText("#gone-heading", "This sign-in started in another browser")
	other.shot("other-browser")
	b.click("#handover-cancel")
	b.waitApp(wiki, relyingparty.CallbackPath)
	b.waitText("#detail", "access_denied")

	b.open("/signout")
	b.waitVisible("#step-done")
	b.waitText("#done-heading", "You are signed out")
}

// TestAppStepUpAndReauth: an app that demands a phishing-resistant
// sign-in (acr_values=phr) gets one even after an email sign-in: the page
// explains and asks for the passkey. Then an app asking with prompt=login
// makes the person confirm it is them, though already signed in.
func TestAppStepUpAndReauth(t *testing.T) {
	env := newEnv(t)
	b := openTab(t, env, "noa", tabOptions{Authenticator: true})
	const email = "noa@example.com"
	bank := startApp(t, env, "Payroll", appOptions{authParams: map[string]string{"acr_values": "phr"}})
	admin := startApp(t, env, "Admin console", appOptions{authParams: map[string]string{"prompt": "login"}})

	b.signUp(email, true)
	b.addPasskeyFromOffer(email)
	creds := b.signOutHidingPasskeys()

	b.visit(bank.url)
	b.click("#sign-in")
	b.waitText("#signin-heading", "Sign in to Payroll with Sesame")
	b.wait("the autofill request to settle", `document.documentElement.dataset.autofill === "off"`)
	b.startEmail(email)
	b.paste("#code", mailedCode(t, env, email))
	b.waitVisible("#step-stepup")
	b.waitText("#stepup-heading", "Payroll asks for a passkey")
	b.waitText("#stepup-text", "can't be phished")
	b.shot("stepup")
	b.restoreCredentials(creds)
	b.click("#stepup-passkey")
	b.waitVisible("#step-consent")
	b.click("#consent-allow")
	b.waitApp(bank, "/")
	if got := b.claim("acr"); got != `"phr"` {
		t.Errorf("acr = %s; want \"phr\"", got)
	}
	if got := b.claim("amr"); !strings.Contains(got, `"hwk"`) {
		t.Errorf("amr = %s; want the passkey's hwk", got)
	}

	env.Clock.Advance(time.Minute) // prompt=login wants a sign-in after the request
	creds = b.stashCredentials()
	b.visit(admin.url)
	b.click("#sign-in")
	b.waitText("#signin-heading", "Confirm it's you")
	b.waitText("#signin-intro", "Admin console asks you to sign in again")
	if got := eval[string](b, `document.querySelector("#email").value`); got != email {
		t.Errorf("email field %q; want the signed-in address", got)
	}
	b.wait("the autofill request to settle", `document.documentElement.dataset.autofill === "off"`)
	b.shot("reauth")
	b.restoreCredentials(creds)
	b.click("#use-key")
	b.waitVisible("#step-consent")
	b.click("#consent-allow")
	b.waitApp(admin, "/")
	b.waitText("#signed-in", email)
}

// TestAppSignInWithRecoveryCode: a person who lost passkey and mailbox
// signs in to an app with a recovery code; the page offers a passkey and
// the way on to the app, not only to the account page.
func TestAppSignInWithRecoveryCode(t *testing.T) {
	t.Parallel() // no authenticator
	env := newEnv(t)
	b := openTab(t, env, "ola", tabOptions{})
	const email = "ola@example.com"
	app := startApp(t, env, "Grafana", appOptions{})

	b.signUp(email, false)
	b.click("#codes-make")
	b.waitVisible("#codes-new")
	code := eval[string](b, `document.querySelector("#codes-list li").textContent`)
	b.click("#codes-done")
	b.click("#sign-out")
	b.waitPage("/signin")

	b.visit(app.url)
	b.click("#sign-in")
	b.waitText("#signin-heading", "Sign in to Grafana with Sesame")
	b.click("#use-recovery")
	b.waitVisible("#step-recovery")
	b.typeInto("#recovery-email", email)
	b.typeInto("#recovery-code", code)
	b.click("#recovery-submit")
	b.waitVisible("#step-recovered")
	b.waitText("#recovered-app", "Continue to Grafana")
	b.shot("recovered")
	b.click("#recovered-app")
	b.waitVisible("#step-consent")
	b.click("#consent-allow")
	b.waitApp(app, "/")
	b.waitText("#signed-in", email)
}

// TestAppStepUpDeviceBound: an app that accepts only a device-bound
// passkey (acr_values=phrh) is not satisfied by a synced one; the page
// says why in plain words, and Cancel answers the app access_denied.
func TestAppStepUpDeviceBound(t *testing.T) {
	env := newEnv(t)
	b := openTab(t, env, "pia", tabOptions{Authenticator: true, Synced: true})
	const email = "pia@example.com"
	vault := startApp(t, env, "Vault", appOptions{authParams: map[string]string{"acr_values": "phrh"}})

	b.signUp(email, true)
	b.addPasskeyFromOffer(email)
	b.waitText("#passkeys", "Synced")

	b.visit(vault.url)
	b.click("#sign-in")
	b.waitVisible("#step-stepup")
	b.waitText("#stepup-text", "not one synced to your other devices")
	b.click("#stepup-passkey")
	b.waitText("#error", "That passkey is synced to other devices")
	b.shot("stepup-phrh-refused")
	b.click("#stepup-cancel")
	b.waitApp(vault, relyingparty.CallbackPath)
	b.waitText("#detail", "access_denied")
}
