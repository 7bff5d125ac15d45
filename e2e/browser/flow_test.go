package browser_test

import (
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/sesame-auth/sesame/internal/testsmtp"
)

// TestCodeStepSurvivesReload asks for a code, reloads the page as a phone
// does with a background tab, and finds the same step: the address, the
// resend countdown (m:ss) still running, and the code from the one mail
// still signing in.
func TestCodeStepSurvivesReload(t *testing.T) {
	t.Parallel() // no authenticator: runs beside the other such tests
	env := newEnv(t)
	b := openTab(t, env, "reload", tabOptions{})
	const email = "rita@example.com"

	b.open("/signin")
	b.startEmail(email)
	code := mailedCode(t, env, email)
	if got := b.text("#code-resend"); !regexp.MustCompile(`^Send a new code in 0:[0-3]\d$`).MatchString(got) {
		t.Errorf("resend button reads %q; want a m:ss countdown", got)
	}

	b.do("reload", chromedp.Reload())
	b.waitVisible("#step-code")
	b.waitText("#code-sent", email)
	b.shot("code-after-reload")
	if got := eval[string](b, `document.querySelector("#code-resend").getAttribute("aria-disabled") || ""`); got != "true" {
		t.Errorf("after the reload the resend button is not held (aria-disabled %q)", got)
	}
	if got := eval[string](b, `document.activeElement.id`); got != "code" {
		t.Errorf("after the reload focus is on %q; want the code field", got)
	}

	b.paste("#code", code)
	b.waitAccount(email)
	if n := env.SMTP.Count(); n != 1 {
		t.Errorf("%d mails sent; the reload must not ask for another code", n)
	}
}

// TestBackGoesToThePreviousStep walks the sign-in steps with the
// browser's Back and Forward: Back from the code step shows the address
// step with the address kept, Forward the code step again, and Continue
// with the same address returns to its code without spending a send.
func TestBackGoesToThePreviousStep(t *testing.T) {
	t.Parallel() // no authenticator: runs beside the other such tests
	env := newEnv(t)
	b := openTab(t, env, "back", tabOptions{})
	const email = "bert@example.com"

	b.open("/signin")
	// The password step is a step of its own too.
	b.typeInto("#email", email)
	b.click("#use-password")
	b.waitVisible("#step-password")
	b.do("back from the password", chromedp.NavigateBack())
	b.waitVisible("#step-email")
	b.waitHidden("#step-password")
	if got := eval[string](b, `location.pathname + " " + document.activeElement.id`); got != "/signin email" {
		t.Errorf("after Back from the password step: %q; want /signin with focus on the email field", got)
	}

	b.click("#email-send")
	b.waitVisible("#step-code")
	b.waitText("#code-sent", email)
	code := mailedCode(t, env, email)

	b.do("back", chromedp.NavigateBack())
	b.waitVisible("#step-email")
	b.waitHidden("#step-code")
	if got := eval[string](b, `location.pathname + " " + document.querySelector("#email").value`); got != "/signin "+email {
		t.Errorf("after Back the page is %q; want /signin with the address kept", got)
	}
	b.shot("back-to-email")

	b.do("forward", chromedp.NavigateForward())
	b.waitVisible("#step-code")
	b.waitText("#code-sent", email)

	b.do("back again", chromedp.NavigateBack())
	b.waitVisible("#step-email")
	b.click("#email-send")
	b.waitVisible("#step-code")
	b.waitText("#code-sent", email)
	if n := env.SMTP.Count(); n != 1 {
		t.Errorf("%d mails sent; Continue with the same address must reuse the live code", n)
	}

	// "Use another address" is a step back too, and forgets the code.
	b.click("#code-restart")
	b.waitVisible("#step-email")
	b.do("forward after restart", chromedp.NavigateForward())
	b.waitVisible("#step-email")
	if eval[bool](b, `!document.querySelector("#step-code").hidden`) {
		t.Errorf("Forward after \"Use another address\" shows the forgotten code step")
	}

	b.click("#email-send")
	b.waitVisible("#step-code")
	code = mailedCode(t, env, email)
	b.paste("#code", code)
	b.waitAccount(email)
}

// TestFirstScreen finds one Continue button on first load, before any
// address is typed; puts each mistake under the email field (described by
// it, marked invalid) and takes it away as the person types; and keeps
// the passkey button where it was while the address is typed.
func TestFirstScreen(t *testing.T) {
	t.Parallel() // no authenticator: runs beside the other such tests
	env := newEnv(t)
	b := openTab(t, env, "first", tabOptions{})

	b.open("/signin")
	b.waitVisible("#email-send")
	if got := b.text("#email-send"); got != "Continue" {
		t.Errorf("the first screen's button reads %q; want Continue", got)
	}
	if got := eval[string](b, `document.activeElement.id`); got != "email" {
		t.Errorf("focus on load is on %q; want the email field", got)
	}
	passkeyTop := `Math.round(document.querySelector("#passkey-button").getBoundingClientRect().top)`
	before := eval[float64](b, passkeyTop)
	b.shot("first")

	b.click("#email-send")
	b.waitText("#email-error", "Enter your email address.")
	if got := eval[string](b, `document.querySelector("#email").getAttribute("aria-invalid") + " " + document.querySelector("#email").getAttribute("aria-describedby")`); got != "true email-error" {
		t.Errorf("email field: aria-invalid and aria-describedby = %q", got)
	}
	b.shot("email-empty")
	b.typeInto("#email", "sam@")
	b.wait("the message to go as the person types", `document.querySelector("#email-error").textContent === "" && !document.querySelector("#email").hasAttribute("aria-invalid")`)
	b.click("#email-send")
	b.waitText("#email-error", "Enter a valid email address")
	b.shot("email-invalid")
	b.typeInto("#email", "example.com")
	b.wait("the message to go", `document.querySelector("#email-error").textContent === ""`)
	if after := eval[float64](b, passkeyTop); after != before {
		t.Errorf("the passkey button moved from %v to %v as the address was typed", before, after)
	}
	if got := b.text("#use-password"); got != "I have a password" {
		t.Errorf("the password way reads %q", got)
	}
	b.shot("address-typed")

	// Someone without a password who tries one is pointed to a code.
	b.click("#use-password")
	b.waitVisible("#step-password")
	b.typeInto("#password", "no such password")
	b.click("#password-submit")
	b.waitText("#password-error", "That password is not right, or this address has no password.")
	b.shot("password-none")
	b.click("#password-email")
	b.waitVisible("#step-code")
	b.waitText("#code-sent", "sam@example.com")
	b.paste("#code", mailedCode(t, env, "sam@example.com"))
	b.waitAccount("sam@example.com")
	b.waitText("#status", "Signed in.")
}

// TestSignedInSignInPage opens /signin while signed in: it says who is
// signed in and offers the account page or a sign-out.
func TestSignedInSignInPage(t *testing.T) {
	t.Parallel() // no authenticator: runs beside the other such tests
	env := newEnv(t)
	b := openTab(t, env, "in", tabOptions{})
	const email = "ines@example.com"
	b.signUp(email, false)
	b.waitText("#status", "Signed in.")

	b.open("/signin")
	b.waitVisible("#step-signedin")
	b.waitText("#signedin-as", "You're signed in as "+email)
	b.shot("signed-in")
	b.click("#signedin-continue")
	b.waitAccount(email)

	b.open("/signin")
	b.click("#signedin-signout")
	b.waitVisible("#step-email")
	b.waitText("#status", "You're signed out.")
	b.shot("signed-out")
	b.open("/account")
	b.waitPage("/signin")
	b.waitVisible("#step-email")
	if got := b.text("#status"); got != "" {
		t.Errorf("after a sign-out here the sign-in page says %q", got)
	}
}

// TestFiveWrongCodes types five wrong codes: the fifth says so in plain
// words and frees the "Send a new code" button, whose new code works.
func TestFiveWrongCodes(t *testing.T) {
	t.Parallel() // no authenticator: runs beside the other such tests
	env := newEnv(t)
	b := openTab(t, env, "wrong", tabOptions{})
	const email = "wanda@example.com"

	b.open("/signin")
	b.startEmail(email)
	code := mailedCode(t, env, email)
	wrong := "000000"
	if code == wrong {
		wrong = "111111"
	}
	for left := 4; left >= 1; left-- {
		b.paste("#code", wrong)
		b.waitText("#code-error", "Tries left: "+strconv.Itoa(left)+".")
		b.paste("#code", "1") // typing takes the message away
		b.wait("the message to go", `document.querySelector("#code-error").textContent === ""`)
		eval[any](b, `document.querySelector("#code").value = ""`)
	}
	b.paste("#code", wrong)
	b.waitText("#code-error", "Too many wrong codes: this code no longer works. Send a new code.")
	b.wait("the resend button free and focused", `document.activeElement.id === "code-resend" && !document.querySelector("#code-resend").hasAttribute("aria-disabled")`)
	b.shot("five-wrong")
	b.click("#code-resend")
	b.waitText("#code-resend-note", "We sent a new code.")
	b.shot("new-code")
	b.paste("#code", mailedCode(t, env, email))
	b.waitAccount(email)
}

// TestSendLimit asks for codes until the address's limit (three in 15
// minutes): the page says the last code still works and counts down in
// m:ss to when another may be asked for; the last code signs in.
func TestSendLimit(t *testing.T) {
	t.Parallel() // no authenticator: runs beside the other such tests
	env := newEnv(t)
	b := openTab(t, env, "limit", tabOptions{})
	const email = "lena@example.com"

	b.open("/signin")
	b.startEmail(email)
	mailedCode(t, env, email)
	var last string
	for i := 0; i < 2; i++ {
		// The page holds the button for 30 s; the stored flow says until
		// when, so a reload with that moment past frees it.
		eval[any](b, `(() => { const k = "sesame.signin.flow"; const f = JSON.parse(sessionStorage.getItem(k)); f.resendAt = 0; sessionStorage.setItem(k, JSON.stringify(f)); })()`)
		b.do("reload", chromedp.Reload())
		b.waitVisible("#step-code")
		b.click("#code-resend")
		b.waitText("#code-resend-note", "We sent a new code.")
		last = mailedCode(t, env, email)
	}
	eval[any](b, `(() => { const k = "sesame.signin.flow"; const f = JSON.parse(sessionStorage.getItem(k)); f.resendAt = 0; sessionStorage.setItem(k, JSON.stringify(f)); })()`)
	b.do("reload", chromedp.Reload())
	b.waitVisible("#step-code")
	b.click("#code-resend")
	b.waitText("#code-resend-note", "The last code we sent still works")
	if got := b.text("#code-resend"); !regexp.MustCompile(`^Send a new code in 1?\d:\d\d$`).MatchString(got) {
		t.Errorf("resend button reads %q; want a m:ss countdown", got)
	}
	b.shot("send-limit")
	b.paste("#code", last)
	b.waitAccount(email)
}

// TestJapaneseMail signs up from a Japanese page: the mail is in Japanese,
// asks to finish creating the account, and says how long the code lasts;
// the next sign-in's mail says "sign in".
func TestJapaneseMail(t *testing.T) {
	t.Parallel() // no authenticator: runs beside the other such tests
	env := newEnv(t)
	b := openTab(t, env, "ja-mail", tabOptions{Language: "ja-JP,ja;q=0.9"})
	const email = "kenji@example.com"

	b.open("/signin")
	b.waitText("h1", "Sesame にサインイン")
	// The page hides until translated; the email field still gets focus.
	b.wait("focus on the email field", `document.activeElement.id === "email"`)
	b.typeInto("#email", email)
	b.click("#email-send")
	b.waitVisible("#step-code")
	m := env.SMTP.Wait(t, email)
	if m.Subject != "Sesame アカウントの作成を完了してください" || !strings.Contains(m.Text, "有効期限は15分") {
		t.Errorf("the sign-up mail reads %q:\n%s", m.Subject, m.Text)
	}
	b.paste("#code", testsmtp.ExtractCode(m.Text))
	b.waitAccount(email)

	b.click("#sign-out")
	b.waitPage("/signin")
	b.typeInto("#email", email)
	b.click("#email-send")
	b.waitVisible("#step-code")
	for {
		m = env.SMTP.Wait(t, email)
		if testsmtp.ExtractCode(m.Text) != "" {
			break
		}
	}
	if m.Subject != "Sesame にサインイン" {
		t.Errorf("the sign-in mail's subject is %q", m.Subject)
	}
}
