package browser_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/pquerna/otp"
	"github.com/pquerna/otp/hotp"
)

// appCode is what an authenticator app shows for secret at t: HOTP (RFC
// 4226) on the 30-second step counter, computed here, not by the server.
func appCode(t *testing.T, secret string, at time.Time) string {
	t.Helper()
	code, err := hotp.GenerateCodeCustom(secret, uint64(at.Unix()/30), hotp.ValidateOpts{Digits: otp.DigitsSix, Algorithm: otp.AlgorithmSHA1})
	if err != nil {
		t.Fatal(err)
	}
	return code
}

// TestAccountLifecycle walks an account's whole life in Chromium: make
// recovery codes, sign out, sign in with address and recovery code and be
// asked to add a passkey; set up an authenticator app from the QR page
// (the secret read from the page) and sign in with password and app code;
// change the email address; delete the account.
func TestAccountLifecycle(t *testing.T) {
	t.Parallel() // no authenticator: runs beside the other such tests
	env := newEnv(t)
	b := openTab(t, env, "rhea", tabOptions{})
	const email, newEmail = "rhea@example.com", "rhea.new@example.com"
	const password = "correct horse battery"

	b.signUp(email, false)
	b.waitText("#codes-state", "You have no recovery codes.")
	b.click("#codes-make")
	b.waitVisible("#codes-new")
	codes := eval[[]string](b, `[...document.querySelectorAll("#codes-list li")].map((li) => li.textContent)`)
	if len(codes) != 10 {
		t.Fatalf("the page shows %d codes: %v", len(codes), codes)
	}
	b.shot("recovery-codes")
	b.click("#codes-done")
	b.waitText("#codes-state", "Recovery codes left: 10.")

	b.click("#sign-out")
	b.waitPage("/signin")
	b.click("#use-recovery")
	b.waitVisible("#step-recovery")
	b.typeInto("#recovery-email", email)
	b.typeInto("#recovery-code", "zzzzz-zzzzz")
	b.click("#recovery-submit")
	b.waitText("#recovery-code-error", "do not match")
	eval[any](b, `document.querySelector("#recovery-code").value = ""`)
	b.typeInto("#recovery-code", strings.ToUpper(codes[0]))
	b.click("#recovery-submit")
	b.waitVisible("#step-recovered")
	b.waitText("#recovered-heading", "Add a passkey now")
	b.waitText("#recovered-left", "Recovery codes left: 9.")
	b.waitVisible("#recovered-add")
	b.shot("asked-to-add-a-passkey")
	b.click("#recovered-account")
	b.waitAccount(email)
	b.waitText("#codes-state", "Recovery codes left: 9.")
	b.waitText("#activity", "A recovery code was used")

	// A password, then an authenticator app set up from the QR page.
	b.click("#password-edit")
	b.typeInto("#new-password", password)
	b.typeInto("#new-password-again", password)
	b.click("#password-save")
	b.waitText("#password-state", "You have a password.")
	b.click("#totp-setup")
	b.waitVisible("#totp-form")
	b.wait("the QR code", `document.querySelector("#totp-qr").naturalWidth > 0`)
	secret := strings.ReplaceAll(b.text("#totp-secret"), " ", "")
	if len(secret) != 32 {
		t.Fatalf("secret on the page = %q", secret)
	}
	b.shot("authenticator-app-qr")
	b.paste("#totp-code", appCode(t, secret, env.Clock.Now()))
	b.waitText("#totp-state", "An authenticator app is set up.")

	b.click("#sign-out")
	b.waitPage("/signin")
	b.typeInto("#email", email)
	b.click("#use-password")
	b.typeInto("#password", password)
	b.click("#password-submit")
	b.waitVisible("#step-mfa")
	b.waitVisible("#mfa-recovery")
	b.click("#mfa-totp")
	b.waitVisible("#mfa-otp-form")
	env.Clock.Advance(30 * time.Second) // the enrolment's code is spent: the next one
	b.typeInto("#mfa-otp", appCode(t, secret, env.Clock.Now()))
	b.click("#mfa-otp-verify")
	b.waitAccount(email)
	b.waitText("#sessions .item", "password")

	// A new email address, confirmed by the code sent to it.
	b.click("#email-edit")
	b.typeInto("#new-email", "rhea@[127.0.0.1]")
	b.click("#email-send-code")
	b.waitText("#new-email-error", "valid email address")
	eval[any](b, `document.querySelector("#new-email").value = ""`)
	b.typeInto("#new-email", newEmail)
	b.click("#email-send-code")
	b.waitVisible("#email-code-part")
	b.paste("#email-code", mailedCode(t, env, newEmail))
	b.waitText("#email-state", newEmail)
	b.shot("email-changed")

	// Deleting the account, after the confirm dialog says what goes.
	b.click("#delete-account")
	b.waitVisible("#confirm")
	b.waitText("#confirm-text", "recovery codes")
	b.click("#confirm-yes")
	b.waitPage("/signin")
	b.waitText("#status", "Your account was deleted.")
	if _, err := env.App.DB.UserByEmail(context.Background(), newEmail); err == nil {
		t.Fatal("the account is still there")
	}
}

// TestAccountLifecycleJapanese: the recovery-code sign-in and the account
// page's new panels speak Japanese, and a recovery code works from there.
func TestAccountLifecycleJapanese(t *testing.T) {
	t.Parallel() // no authenticator: runs beside the other such tests
	env := newEnv(t)
	b := openTab(t, env, "kaito", tabOptions{Language: "ja-JP,ja;q=0.9"})
	const email = "kaito@example.com"

	b.signUp(email, false)
	b.waitText("#totp-heading", "認証アプリ")
	b.waitText("#codes-state", "リカバリーコードはありません。")
	b.click("#codes-make")
	b.waitVisible("#codes-new")
	b.waitText("#codes-new", "安全な場所に保存")
	code := eval[string](b, `document.querySelector("#codes-list li").textContent`)
	b.click("#codes-done")
	b.waitText("#delete-heading", "アカウントを削除")
	b.shot("account-ja")

	b.click("#sign-out")
	b.waitPage("/signin")
	b.waitText("#use-recovery", "リカバリーコードを使う")
	b.click("#use-recovery")
	b.waitText("#recovery-heading", "リカバリーコードでサインイン")
	b.typeInto("#recovery-email", email)
	b.typeInto("#recovery-code", code)
	b.click("#recovery-submit")
	b.waitText("#recovered-heading", "今すぐパスキーを追加しましょう")
	b.waitText("#recovered-left", "残りのリカバリーコード: 9")
	b.shot("recovered-ja")
}
