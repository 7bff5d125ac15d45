package browser_test

import (
	"strings"
	"testing"
	"time"
)

// TestPasswordWithEmailCode sets a password on the account page (SCRAM
// keys made in the browser), signs out, and signs in with the password
// and then the emailed second-factor code; finally removes the password.
func TestPasswordWithEmailCode(t *testing.T) {
	t.Parallel() // no authenticator: runs beside the other such tests
	env := newEnv(t)
	b := openTab(t, env, "frank", tabOptions{})
	const email = "frank@example.com"
	const password = "correct horse battery"

	b.signUp(email, false)
	b.click("#password-edit")
	b.waitVisible("#password-form")
	b.typeInto("#new-password", "short")
	b.typeInto("#new-password-again", "short")
	b.click("#password-save")
	b.waitText("#password-error", "Use at least 8 characters.")
	b.shot("password-too-short")

	eval[any](b, `document.querySelector("#new-password").value = document.querySelector("#new-password-again").value = ""`)
	b.typeInto("#new-password", password)
	b.typeInto("#new-password-again", password)
	b.click("#password-save")
	b.waitText("#password-note", "Password saved.")
	b.waitText("#password-state", "You have a password.")
	b.shot("password-saved")

	b.click("#sign-out")
	b.waitPage("/signin")
	b.typeInto("#email", email)
	b.click("#use-password")
	b.waitVisible("#step-password")
	b.typeInto("#password", "wrong password")
	b.click("#password-submit")
	b.waitText("#password-error", "That password is not right, or this address has no password.")
	b.shot("password-wrong")

	eval[any](b, `document.querySelector("#password").value = ""`)
	b.typeInto("#password", password)
	b.click("#password-submit")
	b.waitVisible("#step-mfa")
	b.shot("second-factor")
	b.click("#mfa-email")
	b.waitVisible("#mfa-code-form")
	b.shot("second-factor-code")
	b.paste("#mfa-code", mailedCode(t, env, email))
	b.waitAccount(email)
	b.waitText("#sessions .item", "Signed in now with a password and a second step")
	b.shot("account")

	b.click("#password-remove")
	b.waitVisible("#confirm")
	b.click("#confirm-yes")
	b.waitText("#password-note", "Password removed.")
	b.waitText("#password-state", "You have no password")
}

// TestReauth adds a passkey more than ten minutes after signing in: the
// server answers reauth_required, the page asks for an emailed code, signs
// in afresh (ending the old session) and retries.
func TestReauth(t *testing.T) {
	env := newEnv(t)
	b := openTab(t, env, "grace", tabOptions{Authenticator: true})
	const email = "grace@example.com"

	b.signUp(email, true)
	b.click("#offer-skip")
	b.waitAccount(email)

	env.Clock.Advance(11 * time.Minute)
	b.click("#add-passkey")
	b.waitVisible("#reauth")
	b.shot("reauth")
	b.click("#reauth-email")
	b.waitVisible("#reauth-code-form")
	code := mailedCode(t, env, email)
	b.paste("#reauth-code", code)
	b.waitText("#passkeys-note", "Passkey added.")
	b.wait("one passkey", `document.querySelectorAll("#passkeys li").length === 1`)
	b.wait("one session", `document.querySelectorAll("#sessions li").length === 1`)
	b.shot("passkey-added")

	// Later still, removing it asks again; this time the passkey confirms.
	env.Clock.Advance(11 * time.Minute)
	b.click("#passkeys li button.danger")
	b.click("#confirm-yes")
	b.waitVisible("#reauth-passkey")
	b.shot("reauth-passkey")
	b.click("#reauth-passkey")
	b.waitText("#passkeys-note", "Passkey removed.")
	b.waitText("#sessions .item", "Signed in now with a passkey")
}

// TestSignOutEverywhere signs one user in on two browsers, ends the
// second's session from the first, and then signs out everywhere.
func TestSignOutEverywhere(t *testing.T) {
	t.Parallel() // no authenticator: runs beside the other such tests
	env := newEnv(t)
	const email = "heidi@example.com"
	desk := openTab(t, env, "desk", tabOptions{})
	desk.signUp(email, false)
	phone := openTab(t, env, "phone", tabOptions{})
	phone.signUp(email, false)

	desk.open("/account")
	desk.wait("two sessions", `document.querySelectorAll("#sessions li").length === 2`)
	desk.shot("two-sessions")
	desk.click("#sessions li button.danger") // End: only the other session has one
	desk.waitText("#sessions-note", "That session has ended.")
	desk.wait("one session", `document.querySelectorAll("#sessions li").length === 1`)
	phone.open("/account")
	phone.waitPage("/signin")
	phone.waitText("#status", "You were signed out on this device: your session was ended from another device")
	phone.shot("session-ended")

	phone.signUp(email, false)
	desk.click("#sign-out-all")
	desk.waitVisible("#confirm")
	desk.shot("confirm-sign-out-everywhere")
	desk.click("#confirm-yes")
	desk.waitPage("/signin")
	desk.waitText("#status", "You're signed out on every device.")
	desk.shot("signed-out")
	phone.open("/account")
	phone.waitPage("/signin")
	phone.waitText("#status", "You were signed out on this device")
	if got := phone.pageText(); !strings.Contains(got, "Sign in to Sesame") {
		t.Errorf("phone shows %q after sign-out everywhere", got)
	}
}

// TestJapanese serves the pages in Japanese to a browser that asks for
// it, and switches to English with the language switch, which sticks.
func TestJapanese(t *testing.T) {
	t.Parallel() // no authenticator: runs beside the other such tests
	env := newEnv(t)
	b := openTab(t, env, "hana", tabOptions{Language: "ja-JP,ja;q=0.9"})
	const email = "hana@example.com"

	b.open("/signin")
	b.waitText("h1", "Sesame にサインイン")
	b.typeInto("#email", email)
	b.waitVisible("#methods")
	b.shot("signin")
	b.click("#email-send")
	b.waitText("#code-sent", "にリンクと6桁のコードを送信しました")
	b.shot("code")
	code := mailedCode(t, env, email)
	b.paste("#code", code)
	b.waitAccount(email)
	b.waitText("#sessions", "このデバイス")
	b.shot("account")

	b.do("switch to English", chromedpSelect("#lang", "en"))
	b.waitText("#account-heading", "Your account")
	b.open("/signin") // signed in: the page says so, in the language chosen
	b.waitText("#signedin-heading", "You're signed in")
	if lang := eval[string](b, `document.documentElement.lang`); lang != "en" {
		t.Errorf("<html lang> = %q after choosing English", lang)
	}
}

// TestPasswordWithPasskey confirms a password sign-in with a passkey as
// the second factor.
func TestPasswordWithPasskey(t *testing.T) {
	env := newEnv(t)
	b := openTab(t, env, "ivan", tabOptions{Authenticator: true})
	const email = "ivan@example.com"
	const password = "open sesame seeds"

	b.signUp(email, true)
	b.addPasskeyFromOffer(email)
	b.click("#password-edit")
	b.typeInto("#new-password", password)
	b.typeInto("#new-password-again", password)
	b.click("#password-save")
	b.waitText("#password-note", "Password saved.")

	creds := b.signOutHidingPasskeys()
	b.restoreCredentials(creds)
	b.typeInto("#email", email)
	b.click("#use-password")
	b.typeInto("#password", password)
	b.click("#password-submit")
	b.waitVisible("#mfa-passkey")
	b.shot("second-factor")
	b.click("#mfa-passkey")
	b.waitAccount(email)
	b.waitText("#sessions .item", "Signed in now with a password and a second step")
}
