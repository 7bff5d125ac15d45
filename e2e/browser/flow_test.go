package browser_test

import (
	"regexp"
	"testing"

	"github.com/chromedp/chromedp"
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
	b.startEmail(email)
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
