package browser_test

import (
	"context"
	"fmt"
	"github.com/sesame-auth/sesame/internal/testkit"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/cdproto/input"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/cdproto/webauthn"
	"github.com/chromedp/chromedp"

	"github.com/sesame-auth/sesame/internal/testserver"
	"github.com/sesame-auth/sesame/internal/testsmtp"
)

// stepTimeout bounds each wait; a stuck ceremony would otherwise wait for
// the browser's own 300 s.
const stepTimeout = 10 * time.Second

// newEnv starts a Sesame on a real port for the browser.
func newEnv(t *testing.T) *testserver.Env {
	t.Helper()
	if browser == nil {
		testkit.Missing(t, "no Chromium at %s", chromiumPath())
	}
	return testserver.New(t, testserver.Options{Listen: true})
}

// tab is one browser context (its own cookies and storage) with one tab,
// at phone width.
type tab struct {
	t    *testing.T
	env  *testserver.Env
	name string
	ctx  context.Context
	auth webauthn.AuthenticatorID
	// synced makes the authenticator's passkeys backup-eligible and
	// backed up, as a phone's synced passkeys are (amr swk, not hwk).
	synced bool

	mu      sync.Mutex
	console []chromedp.ConsoleMessage
}

type tabOptions struct {
	// Language is sent as Accept-Language ("" leaves the browser's en-US).
	Language string
	// Authenticator adds a virtual platform authenticator (WebAuthn UI
	// off: conditional requests settle at once).
	Authenticator bool
	// Synced makes that authenticator's passkeys synced ones.
	Synced bool
}

var shotCount sync.Map // *testing.T → *int

// openTab opens a new browser context for t; name labels its screenshots.
func openTab(t *testing.T, env *testserver.Env, name string, opts tabOptions) *tab {
	t.Helper()
	ctx, cancel := chromedp.NewContext(browser, chromedp.WithNewBrowserContext())
	return setUpTab(t, env, name, ctx, cancel, opts)
}

// sibling opens another tab in b's browser context: the same cookies and
// storage, as a link opened from an email in a new tab has.
func (b *tab) sibling(name string, opts tabOptions) *tab {
	b.t.Helper()
	ctx, cancel := chromedp.NewContext(b.ctx)
	return setUpTab(b.t, b.env, name, ctx, cancel, opts)
}

func setUpTab(t *testing.T, env *testserver.Env, name string, ctx context.Context, cancel context.CancelFunc, opts tabOptions) *tab {
	t.Helper()
	b := &tab{t: t, env: env, name: name, ctx: ctx, synced: opts.Synced}
	t.Cleanup(func() {
		cancel()
		b.checkConsole()
	})
	// The first action opens the tab and ties the tab's life to the context
	// it gets: this one, without a timeout. Steps get their own timeouts.
	if err := chromedp.Do(ctx); err != nil {
		t.Fatalf("%s: open tab: %v", name, err)
	}
	b.do("phone-size viewport", chromedp.EmulateViewport(390, 844, chromedp.EmulateScale(1)))
	console := chromedp.Console(ctx)
	go func() {
		for m, err := range console {
			if err != nil {
				return
			}
			b.mu.Lock()
			b.console = append(b.console, m)
			b.mu.Unlock()
		}
	}()
	if opts.Language != "" {
		b.call("Accept-Language", func(ctx context.Context) error {
			if _, err := chromedp.Call(ctx, network.Enable, network.EnableParams{}); err != nil {
				return err
			}
			if _, err := chromedp.Call(ctx, network.SetExtraHTTPHeaders, network.SetExtraHTTPHeadersParams{
				Headers: network.Headers{"Accept-Language": opts.Language},
			}); err != nil {
				return err
			}
			_, err := chromedp.Call(ctx, emulation.SetLocaleOverride, emulation.SetLocaleOverrideParams{Locale: strings.ReplaceAll(strings.Split(opts.Language, ",")[0], "-", "_")})
			return err
		})
	}
	if opts.Authenticator {
		b.addAuthenticator(false)
	}
	return b
}

// checkConsole fails the test for uncaught exceptions, for errors and
// warnings the pages' scripts logged (a missing translation warns), and
// for what the browser says about security (a CSP violation). Failed
// requests the browser logs (a 401 from refresh, say) are part of the
// flows and pass.
func (b *tab) checkConsole() {
	b.mu.Lock()
	defer b.mu.Unlock()
	for _, m := range b.console {
		if m.IsException() || m.Source == "security" ||
			m.Source == "" && (m.Type == chromedp.ConsoleError || m.Type == chromedp.ConsoleWarning) {
			b.t.Errorf("%s: console %s (%s:%d)", b.name, m, m.URL, m.Line)
		}
	}
}

// step is the context of one step. With SESAME_TRACE set, each step logs
// how long it took.
func (b *tab) step(what string) (context.Context, context.CancelFunc) {
	ctx, cancel := context.WithTimeout(b.ctx, stepTimeout)
	if os.Getenv("SESAME_TRACE") != "" {
		start := time.Now()
		return ctx, func() { b.t.Logf("%s: %s took %v", b.name, what, time.Since(start).Round(time.Millisecond)); cancel() }
	}
	return ctx, cancel
}

// do runs actions as one step with its own timeout.
func (b *tab) do(what string, actions ...chromedp.Action[chromedp.Void]) {
	b.t.Helper()
	ctx, cancel := b.step(what)
	defer cancel()
	if err := chromedp.Do(ctx, actions...); err != nil {
		b.fatalf("%s: %v", what, err)
	}
}

// call runs f as one step with its own timeout.
func (b *tab) call(what string, f func(ctx context.Context) error) {
	b.t.Helper()
	ctx, cancel := b.step(what)
	defer cancel()
	if err := f(ctx); err != nil {
		b.fatalf("%s: %v", what, err)
	}
}

// fatalf saves a screenshot of the failure, then fails the test.
func (b *tab) fatalf(format string, args ...any) {
	b.t.Helper()
	b.shot("FAILED")
	b.t.Fatalf(b.name+": "+format, args...)
}

// open navigates to path on the test server and waits for its <main>.
func (b *tab) open(path string) {
	b.t.Helper()
	b.do("open "+path, chromedp.Navigate(b.env.PublicURL+path), chromedp.WaitVisible(chromedp.CSS("main")))
}

func (b *tab) waitVisible(sel string) {
	b.t.Helper()
	b.do("wait for "+sel, chromedp.WaitVisible(chromedp.CSS(sel)))
}

func (b *tab) waitHidden(sel string) {
	b.t.Helper()
	b.do("wait for "+sel+" to hide", chromedp.WaitNotVisible(chromedp.CSS(sel)))
}

func (b *tab) click(sel string) {
	b.t.Helper()
	b.do("click "+sel, chromedp.WaitVisible(chromedp.CSS(sel)), chromedp.Click(chromedp.CSS(sel)))
}

// typeInto focuses sel and types text as key presses.
func (b *tab) typeInto(sel, text string) {
	b.t.Helper()
	b.do("type into "+sel, chromedp.WaitVisible(chromedp.CSS(sel)), chromedp.SendKeys(chromedp.CSS(sel), text))
}

// paste focuses sel and inserts text at once, as a paste does.
func (b *tab) paste(sel, text string) {
	b.t.Helper()
	b.do("paste into "+sel, chromedp.WaitVisible(chromedp.CSS(sel)), chromedp.Focus(chromedp.CSS(sel)),
		chromedp.Func(func(ctx context.Context, t *chromedp.Target) error {
			_, err := cdp.Call(ctx, t, input.InsertText, input.InsertTextParams{Text: text})
			return err
		}))
}

// key presses a key (no char event) on the focused element.
func (b *tab) key(name string, code int64) {
	b.t.Helper()
	b.call("press "+name, func(ctx context.Context) error {
		for _, typ := range []input.DispatchKeyEventType{input.DispatchKeyEventTypeRawKeyDown, input.DispatchKeyEventTypeKeyUp} {
			if _, err := chromedp.Call(ctx, input.DispatchKeyEvent, input.DispatchKeyEventParams{
				Type: typ, Key: name, Code: name, WindowsVirtualKeyCode: code, NativeVirtualKeyCode: code,
			}); err != nil {
				return err
			}
		}
		return nil
	})
}

func (b *tab) text(sel string) string {
	b.t.Helper()
	ctx, cancel := b.step("text")
	defer cancel()
	s, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS(sel)))
	if err != nil {
		b.fatalf("text of %s: %v", sel, err)
	}
	return strings.TrimSpace(s)
}

// eval evaluates a JavaScript expression in the page.
func eval[T any](b *tab, expr string) T {
	b.t.Helper()
	ctx, cancel := b.step("eval")
	defer cancel()
	v, err := chromedp.Run(ctx, chromedp.Evaluate[T](expr))
	if err != nil {
		b.fatalf("eval %s: %v", expr, err)
	}
	return v
}

// wait polls a JavaScript predicate until it holds, or fails the test.
func (b *tab) wait(what, predicate string) {
	b.t.Helper()
	if err := b.poll(predicate, stepTimeout); err != nil {
		b.fatalf("wait for %s: %v; page says %q", what, err, b.pageText())
	}
}

// poll evaluates a JavaScript predicate until it holds or d passes. It
// survives navigations (chromedp.Poll does not): an evaluation that fails
// while a page loads is tried again.
func (b *tab) poll(predicate string, d time.Duration) error {
	ctx, cancel := context.WithTimeout(b.ctx, d)
	defer cancel()
	var last error
	for {
		ok, err := chromedp.Run(ctx, chromedp.Evaluate[bool](`!!(`+predicate+`)`))
		if err == nil && ok {
			return nil
		}
		if err != nil {
			last = err
		}
		select {
		case <-ctx.Done():
			if last != nil {
				return fmt.Errorf("%w (last error: %v)", ctx.Err(), last)
			}
			return ctx.Err()
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// waitText waits until sel's text contains want.
func (b *tab) waitText(sel, want string) {
	b.t.Helper()
	b.wait(fmt.Sprintf("%s to say %q", sel, want),
		fmt.Sprintf(`(() => { const e = document.querySelector(%q); return !!e && e.offsetParent !== null && e.textContent.includes(%q); })()`, sel, want))
}

// waitPage waits until the tab shows path, its script done loading.
func (b *tab) waitPage(path string) {
	b.t.Helper()
	b.wait("page "+path, fmt.Sprintf(`location.pathname === %q && document.readyState === "complete"`, path))
}

// waitAccount waits for the account page, loaded, for email.
func (b *tab) waitAccount(email string) {
	b.t.Helper()
	b.waitPage("/account")
	b.waitVisible("#account")
	b.waitText("#signed-in-as", email)
}

func (b *tab) pageText() string {
	ctx, cancel := context.WithTimeout(b.ctx, 2*time.Second)
	defer cancel()
	s, err := chromedp.Run(ctx, chromedp.Evaluate[string](`location.pathname + ": " + (document.body ? document.body.innerText : "")`))
	if err != nil {
		return "(" + err.Error() + ")"
	}
	return strings.Join(strings.Fields(s), " ")
}

// shot saves a full-page screenshot as NN-tab-label.png in the test's
// artifact directory.
func (b *tab) shot(label string) {
	b.t.Helper()
	ctx, cancel := b.step("screenshot " + label)
	defer cancel()
	// Let transitions and focus rings settle.
	_ = chromedp.Do(ctx, chromedp.Sleep(50*time.Millisecond))
	png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
	if err != nil {
		b.t.Logf("screenshot %s: %v", label, err)
		return
	}
	dir := b.t.ArtifactDir()
	n, _ := shotCount.LoadOrStore(b.t, new(int))
	*n.(*int)++
	if *n.(*int) == 1 {
		b.t.Logf("screenshots in %s", dir)
	}
	name := fmt.Sprintf("%02d-%s-%s.png", *n.(*int), b.name, label)
	if err := os.WriteFile(filepath.Join(dir, name), png, 0o644); err != nil {
		b.t.Errorf("save screenshot: %v", err)
	}
}

// --- WebAuthn ------------------------------------------------------------

// addAuthenticator adds the virtual platform authenticator: CTAP 2.1 over
// the internal transport, resident keys, user verification that succeeds,
// presence simulated. With ui the browser's WebAuthn UI runs, which the
// autofill picker needs; without it conditional requests settle at once.
func (b *tab) addAuthenticator(ui bool) {
	b.t.Helper()
	b.call("add authenticator", func(ctx context.Context) error {
		if _, err := chromedp.Call(ctx, webauthn.Enable, webauthn.EnableParams{EnableUI: &ui}); err != nil {
			return err
		}
		res, err := chromedp.Call(ctx, webauthn.AddVirtualAuthenticator, webauthn.AddVirtualAuthenticatorParams{
			Options: &webauthn.VirtualAuthenticatorOptions{
				Protocol:                    webauthn.AuthenticatorProtocolCtap2,
				Ctap2version:                webauthn.Ctap2versionCtap21,
				Transport:                   webauthn.AuthenticatorTransportInternal,
				HasResidentKey:              true,
				HasUserVerification:         true,
				IsUserVerified:              true,
				AutomaticPresenceSimulation: true, // no omitempty: false would be sent
				HasCmtgKey:                  true, // else addCredential fails on Chromium 156
				DefaultBackupEligibility:    b.synced,
				DefaultBackupState:          b.synced,
			},
		})
		b.auth = res.AuthenticatorID
		return err
	})
}

// removeAuthenticator removes the virtual authenticator and turns the
// WebAuthn domain off.
func (b *tab) removeAuthenticator() {
	b.t.Helper()
	b.call("remove authenticator", func(ctx context.Context) error {
		if _, err := chromedp.Call(ctx, webauthn.RemoveVirtualAuthenticator, webauthn.RemoveVirtualAuthenticatorParams{AuthenticatorID: b.auth}); err != nil {
			return err
		}
		_, err := chromedp.Call(ctx, webauthn.Disable, cdp.Empty{})
		return err
	})
	b.auth = ""
}

// credentials returns the passkeys in the virtual authenticator.
func (b *tab) credentials() []*webauthn.Credential {
	b.t.Helper()
	var creds []*webauthn.Credential
	b.call("get credentials", func(ctx context.Context) error {
		res, err := chromedp.Call(ctx, webauthn.GetCredentials, webauthn.GetCredentialsParams{AuthenticatorID: b.auth})
		creds = res.Credentials
		return err
	})
	return creds
}

// stashCredentials empties the authenticator and returns what it held.
// With the WebAuthn UI off, a page's conditional request settles at once
// when a passkey is there: a test that wants to press the passkey button
// hides the passkeys while the sign-in page loads.
func (b *tab) stashCredentials() []*webauthn.Credential {
	b.t.Helper()
	creds := b.credentials()
	b.call("clear credentials", func(ctx context.Context) error {
		_, err := chromedp.Call(ctx, webauthn.ClearCredentials, webauthn.ClearCredentialsParams{AuthenticatorID: b.auth})
		return err
	})
	return creds
}

// restoreCredentials puts credentials into the authenticator.
func (b *tab) restoreCredentials(creds []*webauthn.Credential) {
	b.t.Helper()
	b.call("add credentials", func(ctx context.Context) error {
		for _, c := range creds {
			c := *c
			c.CmtgKeys, c.ActiveCmtgKeyIndex = nil, nil // Chromium 156 refuses the index it reported
			if _, err := chromedp.Call(ctx, webauthn.AddCredential, webauthn.AddCredentialParams{AuthenticatorID: b.auth, Credential: &c}); err != nil {
				return err
			}
		}
		return nil
	})
}

// --- Flows ---------------------------------------------------------------

// mailedCode waits for the next message to email that carries a code, and
// returns the code; notices (a password was set, …) are skipped.
func mailedCode(t *testing.T, env *testserver.Env, email string) string {
	t.Helper()
	for {
		m := env.SMTP.Wait(t, email)
		if c := testsmtp.ExtractCode(m.Text); c != "" {
			return c
		}
		t.Logf("mail to %s: %q (no code)", email, m.Subject)
	}
}

// signInMail waits for the next sign-in message to email and returns its
// code and the path of its link.
func signInMail(t *testing.T, env *testserver.Env, email string) (code, link string) {
	t.Helper()
	for {
		m := env.SMTP.Wait(t, email)
		code, token := testsmtp.ExtractCode(m.Text), testsmtp.ExtractLinkToken(m.Text)
		if code != "" && token != "" {
			return code, "/auth/link#t=" + token
		}
		t.Logf("mail to %s: %q (no code and link)", email, m.Subject)
	}
}

// startEmail types email on the sign-in page and asks for a link and code.
func (b *tab) startEmail(email string) {
	b.t.Helper()
	b.typeInto("#email", email)
	b.waitVisible("#methods")
	b.click("#email-send")
	b.waitVisible("#step-code")
	b.waitText("#code-sent", email)
}

// signUp signs email up (or in) by the emailed code and waits for what
// follows: the passkey offer when offer is set, else the account page.
func (b *tab) signUp(email string, offer bool) {
	b.t.Helper()
	b.open("/signin")
	b.startEmail(email)
	b.paste("#code", mailedCode(b.t, b.env, email))
	if offer {
		b.waitVisible("#step-offer")
		return
	}
	b.waitAccount(email)
}

// addPasskeyFromOffer accepts the passkey offer and waits for the account
// page to list the passkey.
func (b *tab) addPasskeyFromOffer(email string) {
	b.t.Helper()
	b.click("#offer-add")
	b.waitAccount(email)
	b.wait("a passkey listed", `document.querySelectorAll("#passkeys li").length === 1`)
}

// waitCredentials waits until the virtual authenticator holds n passkeys.
func (b *tab) waitCredentials(n int) {
	b.t.Helper()
	deadline := time.Now().Add(stepTimeout)
	for {
		got := len(b.credentials())
		if got == n {
			return
		}
		if time.Now().After(deadline) {
			b.fatalf("the authenticator holds %d passkeys; want %d", got, n)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// pickPasskeyFromAutofill picks the first passkey in the email field's
// autofill (WebAuthn UI on): click the field, wait for the picker, then
// ArrowDown and Enter. Shorter waits fail; under load the picker can be
// late, so the gesture is tried again, up to three times.
func (b *tab) pickPasskeyFromAutofill() {
	b.t.Helper()
	for try := 1; ; try++ {
		b.click("#email")
		b.sleep(time.Second)
		b.key("ArrowDown", 40)
		b.sleep(300 * time.Millisecond)
		b.key("Enter", 13)
		if b.poll(`location.pathname !== "/signin"`, 3*time.Second) == nil || try == 3 {
			return
		}
		b.t.Logf("%s: autofill pick %d did not sign in; again", b.name, try)
		b.key("Escape", 27)
		b.do("blur", chromedp.Evaluate[chromedp.Void](`document.activeElement.blur()`))
	}
}

// sleep waits d in the browser's time (a step of its own).
func (b *tab) sleep(d time.Duration) {
	b.t.Helper()
	b.do("sleep", chromedp.Sleep(d))
}

// signOutHidingPasskeys signs out from the account page and waits for the
// sign-in page with the authenticator's passkeys hidden until its autofill
// request has settled; restoreCredentials brings them back. (With the
// WebAuthn UI off, an autofill request takes a passkey at once.)
func (b *tab) signOutHidingPasskeys() []*webauthn.Credential {
	b.t.Helper()
	creds := b.stashCredentials()
	b.click("#sign-out")
	b.waitPage("/signin")
	b.wait("the autofill request to settle", `document.documentElement.dataset.autofill === "off"`)
	return creds
}

// chromedpSelect picks value in the <select> sel, as a user does.
func chromedpSelect(sel, value string) chromedp.Action[chromedp.Void] {
	return chromedp.Steps(chromedp.SetValue(chromedp.CSS(sel), value),
		chromedp.Evaluate[chromedp.Void](fmt.Sprintf(`document.querySelector(%q).dispatchEvent(new Event("change"))`, sel)))
}
