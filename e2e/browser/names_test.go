package browser_test

import (
	"context"
	"strings"
	"testing"

	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"

	"github.com/sesame-auth/sesame/internal/testauthn"
)

// spySignals records, in every page the tab opens from now on, each call
// of the WebAuthn L3 signal methods in window.__signals (and passes it on
// to the browser).
func (b *tab) spySignals() {
	b.t.Helper()
	const spy = `(() => {
  const calls = [];
  window.__signals = calls;
  if (typeof PublicKeyCredential !== "function") return;
  for (const name of ["signalUnknownCredential", "signalAllAcceptedCredentials", "signalCurrentUserDetails"]) {
    const orig = PublicKeyCredential[name];
    if (typeof orig !== "function") continue;
    PublicKeyCredential[name] = function (options) {
      calls.push({ name, options: JSON.parse(JSON.stringify(options)) });
      return orig.call(this, options);
    };
  }
})();`
	b.call("spy on the signals", func(ctx context.Context) error {
		_, err := chromedp.Call(ctx, page.AddScriptToEvaluateOnNewDocument, page.AddScriptToEvaluateOnNewDocumentParams{Source: spy})
		return err
	})
}

// TestPasskeyNamesAndSignals: a passkey is named by its provider's AAGUID
// (one registered with 1Password's, beside the browser's own, which the
// community list does not know: "Passkey", in the page's language); the
// account page tells the browser's passkey manager which passkeys it
// accepts and the account's name on load, and that a removed one is
// unknown; the removal's dialog says the other devices get signed out.
func TestPasskeyNamesAndSignals(t *testing.T) {
	env := newEnv(t)
	b := openTab(t, env, "names", tabOptions{Authenticator: true})
	b.spySignals()
	const email = "nadia@example.com"
	b.signUp(email, true)
	b.addPasskeyFromOffer(email)

	s := env.SignIn(t, email)
	a := testauthn.New(env.PublicURL)
	a.AAGUID = [16]byte{0xba, 0xda, 0x55, 0x66, 0xa7, 0xaa, 0x40, 0x1f, 0xbd, 0x96, 0x45, 0x61, 0x9a, 0x55, 0x12, 0x0d} // 1Password
	onePassword := testauthn.Register(t, env, a, s.Access).IDString()

	b.open("/account")
	b.waitAccount(email)
	b.wait("two passkeys", `document.querySelectorAll("#passkeys li").length === 2`)
	names := b.text("#passkeys")
	if !strings.Contains(names, "1Password") || !strings.Contains(names, "Passkey") {
		t.Errorf("passkeys read %q; want one named 1Password and the browser's as Passkey", names)
	}
	if strings.Contains(names, "Device-bound") {
		t.Errorf("passkeys still say Device-bound: %q", names)
	}
	b.wait("the load's signals", `window.__signals.some(c => c.name === "signalAllAcceptedCredentials") && window.__signals.some(c => c.name === "signalCurrentUserDetails")`)
	if got := eval[string](b, `(() => { const c = window.__signals.find(c => c.name === "signalAllAcceptedCredentials").options; return c.rpId + " " + c.allAcceptedCredentialIds.length; })()`); got != "localhost 2" {
		t.Errorf("signalAllAcceptedCredentials: %q; want rpId localhost and both passkeys", got)
	}
	if got := eval[string](b, `(() => { const c = window.__signals.find(c => c.name === "signalCurrentUserDetails").options; return c.name + " " + c.displayName; })()`); got != email+" "+email {
		t.Errorf("signalCurrentUserDetails names %q", got)
	}
	b.look("account-two-passkeys")

	b.click(`#passkeys li[data-id="` + onePassword + `"] button.danger`)
	b.waitVisible("#confirm")
	if got := b.text("#confirm-text"); !strings.Contains(got, "your other devices will be signed out") {
		t.Errorf("the removal dialog says %q; want it to say other devices get signed out", got)
	}
	b.waitText("#confirm-title", "Remove this passkey?")
	b.click("#confirm-yes")
	b.waitText("#passkeys-note", "Passkey removed.")
	b.wait("the removal's signal", `window.__signals.some(c => c.name === "signalUnknownCredential" && c.options.credentialId === `+"`"+onePassword+"`"+`)`)
	b.wait("the accepted list again, with one", `window.__signals.filter(c => c.name === "signalAllAcceptedCredentials").at(-1).options.allAcceptedCredentialIds.length === 1`)

	b.do("switch to Japanese", chromedpSelect("#lang", "ja"))
	b.waitText("#passkeys", "パスキー")
	b.waitText("#passkeys", "1台のデバイスに保存")
	b.look("account-ja")
}
