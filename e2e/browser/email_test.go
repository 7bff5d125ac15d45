package browser_test

import (
	"strings"
	"testing"
)

// TestSignUpByEmailCode signs a new user up with the emailed code: a wrong
// code first (plain words, tries left), then the right one pasted with a
// space in it. A browser that cannot make a passkey goes straight to the
// account page.
func TestSignUpByEmailCode(t *testing.T) {
	t.Parallel() // no authenticator: runs beside the other such tests
	env := newEnv(t)
	b := openTab(t, env, "alice", tabOptions{})
	const email = "alice@example.com"

	b.open("/signin")
	b.shot("signin")
	b.typeInto("#email", email)
	b.waitVisible("#methods")
	b.shot("signin-methods")
	b.click("#email-send")
	b.waitVisible("#step-code")
	b.waitText("#code-sent", email)
	b.shot("code")

	code := mailedCode(t, env, email)
	wrong := "000000"
	if code == wrong {
		wrong = "111111"
	}
	b.typeInto("#code", wrong) // the sixth digit submits
	b.waitText("#code-error", "That code is not right. Tries left: 4.")
	b.shot("wrong-code")

	b.paste("#code", code[:3]+" "+code[3:])
	b.waitAccount(email)
	b.wait("one session, this one", `document.querySelectorAll("#sessions li").length === 1 && document.querySelector("#sessions .badge.current") !== null`)
	if got := b.text("#sessions"); !strings.Contains(got, "Signed in now with an email link or code") {
		t.Errorf("session reads %q; want it signed in by email", got)
	}
	if got := b.text("#no-passkeys"); got != "You have no passkeys yet." {
		t.Errorf("passkeys say %q", got)
	}
	b.shot("account")
}

// TestMagicLink asks for a link in one browser context and opens it in
// another, as on a second device: the confirm page names the (masked)
// address, nothing is spent until its button is pressed, and then the
// code in the first context is dead.
func TestMagicLink(t *testing.T) {
	t.Parallel() // no authenticator: runs beside the other such tests
	env := newEnv(t)
	phone := openTab(t, env, "phone", tabOptions{})
	const email = "bob@example.com"

	phone.open("/signin")
	phone.startEmail(email)
	code, link := signInMail(t, env, email)

	laptop := openTab(t, env, "laptop", tabOptions{})
	laptop.open(link)
	laptop.waitVisible("#confirm")
	laptop.waitText("#signing-in-as", "b***b@example.com")
	if path := eval[string](laptop, `location.href`); strings.Contains(path, "#") {
		t.Errorf("the token stayed in the address bar: %s", path)
	}
	laptop.shot("confirm")
	laptop.open(link) // a second visit (a mail scanner) spends nothing
	laptop.waitVisible("#confirm")
	laptop.click("#confirm-button")
	laptop.waitAccount(email)
	laptop.shot("account")

	phone.typeInto("#code", code)
	phone.waitText("#code-error", "already used")
	phone.shot("code-used")
}
