package browser_test

import (
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/sesame-auth/sesame/internal/testkit"
	"github.com/sesame-auth/sesame/internal/testserver"
)

// TestTourAccessible walks every page and step a person meets — the first
// screen, each mistake, the code, the passkey offer, the account page and
// its dialogs, the signed-in sign-in page, the password and its second
// step, the emailed link's pages, the sign-out page, and the first screen
// in Japanese — and at each runs axe-core in light and dark colours
// (failing on serious or critical violations) and saves screenshots at
// 390 px (light and dark) and 1280 px.
func TestTourAccessible(t *testing.T) {
	env := newEnv(t)
	b := openTab(t, env, "tour", tabOptions{Authenticator: true})
	const email = "tova@example.com"
	const password = "open sesame seeds"

	b.open("/signin")
	b.waitVisible("#email-send")
	b.look("signin")
	b.click("#email-send")
	b.waitText("#email-error", "Enter your email address.")
	b.look("signin-email-error")

	b.typeInto("#email", email)
	b.click("#email-send")
	b.waitVisible("#step-code")
	code := mailedCode(t, env, email)
	b.look("code")
	wrong := "000000"
	if code == wrong {
		wrong = "111111"
	}
	b.paste("#code", wrong)
	b.waitText("#code-error", "Tries left: 4.")
	b.look("code-wrong")
	b.paste("#code", code)
	b.waitVisible("#step-offer")
	b.waitText("#offer-as", "You're signed in as "+email) // the "you're in" moment, before the offer
	b.look("offer")

	b.addPasskeyFromOffer(email)
	b.look("account")
	b.click("#password-edit")
	b.typeInto("#new-password", password)
	b.typeInto("#new-password-again", password)
	b.click("#password-save")
	b.waitText("#password-state", "You have a password.")
	b.look("account-password")
	b.click("#passkeys li button.danger")
	b.waitVisible("#confirm")
	b.look("confirm-remove-passkey")
	b.click("#confirm-no")
	b.click("#sign-out-all")
	b.waitVisible("#confirm")
	b.look("confirm-sign-out-everywhere")
	b.click("#confirm-no")

	b.open("/signin")
	b.waitVisible("#step-signedin")
	b.look("signed-in")
	b.open("/signout")
	b.waitVisible("#step-ask")
	b.look("signout")

	// Signed out, with the passkey hidden so the autofill request does not
	// sign in again at once.
	creds := b.stashCredentials()
	b.open("/signin")
	b.click("#signedin-signout")
	b.waitText("#status", "You're signed out.")
	b.look("signed-out")
	b.restoreCredentials(creds)

	b.typeInto("#email", email)
	b.click("#use-password")
	b.waitVisible("#step-password")
	b.look("password")
	b.typeInto("#password", "not my password")
	b.click("#password-submit")
	b.waitText("#password-error", "That password is not right")
	b.look("password-wrong")
	eval[any](b, `document.querySelector("#password").value = ""`)
	b.typeInto("#password", password)
	b.click("#password-submit")
	b.waitVisible("#step-mfa")
	b.look("mfa")
	b.click("#mfa-email")
	b.waitVisible("#mfa-code-form")
	b.look("mfa-code")
	b.paste("#mfa-code", mailedCode(t, env, email))
	b.waitAccount(email)

	// The emailed link, opened elsewhere: whole, cut off, and without its token.
	other := openTab(t, env, "link", tabOptions{})
	_, _, token := env.StartEmail(t, "lotte@example.com")
	other.open("/auth/link#t=" + token)
	other.waitVisible("#confirm")
	other.look("link")
	other.do("leave", chromedp.Navigate("about:blank")) // else only the fragment changes
	other.open("/auth/link#t=" + token[:len(token)/2])
	other.waitText("#link-heading", "This link doesn't work")
	other.waitText("#error", "This link is not complete: your mail app may have cut it off.")
	other.look("link-cut")
	other.open("/auth/link")
	other.waitText("#error", "This link is not complete")
	other.look("link-incomplete")

	// An app's sign-in request that is gone (expired, or never was).
	other.open("/signin?request=no-such-request")
	other.waitVisible("#step-gone")
	other.look("app-request-gone")

	ja := openTab(t, env, "ja", tabOptions{Language: "ja-JP,ja;q=0.9"})
	ja.open("/signin")
	ja.waitText("h1", "Sesame にサインイン")
	ja.look("signin-ja")
	ja.typeInto("#email", "jun@example.com")
	ja.click("#email-send")
	ja.waitVisible("#step-code")
	ja.look("code-ja")
}

// TestOutboxFitsAPhone opens the development outbox at phone width: its
// long sign-in link wraps instead of widening the page.
func TestOutboxFitsAPhone(t *testing.T) {
	t.Parallel() // no authenticator: runs beside the other such tests
	if browser == nil {
		testkit.Missing(t, "no Chromium at %s", chromiumPath())
	}
	env := testserver.New(t, testserver.Options{Listen: true, Outbox: true})
	b := openTab(t, env, "outbox", tabOptions{})
	b.open("/signin")
	b.typeInto("#email", "otto@example.com")
	b.click("#email-send")
	b.waitVisible("#step-code")
	b.open("/dev/outbox")
	b.waitText("main", "/auth/link#t=")
	if w := eval[float64](b, `document.documentElement.scrollWidth`); w > 390 {
		t.Errorf("the outbox is %v px wide at a 390 px viewport", w)
	}
	b.look("outbox")
}
