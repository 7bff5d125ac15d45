package browser_test

import (
	"strings"
	"testing"
)

// TestPasskey signs up by email, takes the offer of a passkey, signs out,
// and signs in again twice: with the "Sign in with a passkey" button
// (discoverable) and with "Use a security key" after typing the address
// (email first).
func TestPasskey(t *testing.T) {
	env := newEnv(t)
	b := openTab(t, env, "carol", tabOptions{Authenticator: true})
	const email = "carol@example.com"

	b.signUp(email, true)
	b.shot("offer")
	b.addPasskeyFromOffer(email)
	if got := b.text("#passkeys"); !strings.Contains(got, "Kept on one device") || !strings.Contains(got, "not used yet") {
		t.Errorf("passkey reads %q; want a passkey kept on one device, not used yet", got)
	}
	b.shot("account-with-passkey")

	creds := b.signOutHidingPasskeys()
	b.shot("signed-out")
	b.restoreCredentials(creds)

	b.click("#passkey-button")
	b.waitAccount(email)
	b.waitText("#sessions .item", "Signed in now with a passkey")
	b.wait("the passkey used", `document.querySelector("#passkeys li").textContent.includes("last used")`)
	b.shot("account-after-passkey")

	creds = b.signOutHidingPasskeys()
	b.restoreCredentials(creds)
	b.typeInto("#email", email)
	b.click("#use-key")
	b.waitAccount(email)
	b.waitText("#sessions .item", "Signed in now with a passkey")
}

// TestPasskeyAutofill signs in through the email field's autofill
// (conditional mediation) with the browser's WebAuthn UI on: click the
// field, pick the passkey with ArrowDown and Enter.
func TestPasskeyAutofill(t *testing.T) {
	env := newEnv(t)
	b := openTab(t, env, "dave", tabOptions{Authenticator: true})
	const email = "dave@example.com"

	b.signUp(email, true)
	b.addPasskeyFromOffer(email)
	creds := b.signOutHidingPasskeys()

	// A modal create() hangs with the UI on, so the passkey made above
	// moves into an authenticator of a UI-on WebAuthn domain.
	b.removeAuthenticator()
	b.addAuthenticator(true)
	b.restoreCredentials(creds)
	b.open("/signin")
	b.wait("the autofill request", `document.documentElement.dataset.autofill === "listening"`)
	b.shot("signin")
	b.pickPasskeyFromAutofill()
	b.waitAccount(email)
	b.waitText("#sessions .item", "Signed in now with a passkey")
	b.shot("account")
}

// TestRenameAndRemovePasskey renames a passkey and removes it; the page
// tells the browser's passkey manager the passkey is gone.
func TestRenameAndRemovePasskey(t *testing.T) {
	env := newEnv(t)
	b := openTab(t, env, "erin", tabOptions{Authenticator: true})
	const email = "erin@example.com"

	b.signUp(email, true)
	b.addPasskeyFromOffer(email)

	b.click("#passkeys li button.link") // Rename
	b.waitVisible("#passkeys form.rename")
	b.shot("rename")
	eval[any](b, `document.querySelector("#passkeys form.rename input").value = ""`)
	b.click("#passkeys form.rename button[type=submit]")
	b.wait("the message at the name field", `(() => { const i = document.querySelector("#passkeys form.rename input"); const m = document.getElementById(i.getAttribute("aria-describedby")); return i.getAttribute("aria-invalid") === "true" && m.textContent === "Enter a name." && m.offsetParent !== null; })()`)
	b.shot("rename-empty")
	b.typeInto("#passkeys form.rename input", "Work laptop")
	b.wait("the message to go", `!document.querySelector("#passkeys form.rename input").hasAttribute("aria-invalid")`)
	b.click("#passkeys form.rename button[type=submit]")
	b.waitText("#passkeys-note", "Passkey renamed.")
	b.waitText("#passkeys .item-name", "Work laptop")
	b.shot("renamed")

	b.click("#passkeys li button.danger") // Remove
	b.waitVisible("#confirm")
	b.waitText("#confirm-text", "“Work laptop”")
	b.shot("confirm-remove")
	b.click("#confirm-yes")
	b.waitText("#passkeys-note", "Passkey removed.")
	b.waitVisible("#no-passkeys")
	b.shot("removed")
	b.waitCredentials(0) // PublicKeyCredential.signalUnknownCredential

	// The account's activity says all of it in plain words. (The test
	// server's clock stands still, so their order is not checked.)
	b.waitText("#activity", "Passkey removed")
	got := b.text("#activity")
	for _, want := range []string{"Passkey renamed", "Passkey added", "Signed in with an email code", "Account created", "Chrome on Linux"} {
		if !strings.Contains(got, want) {
			t.Errorf("activity reads %q; want %q in it", got, want)
		}
	}
	b.shot("activity")
}
