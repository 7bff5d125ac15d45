// secondfactor.js: the sign-in page's authenticator-app and recovery-code
// ways in. After a password, the second-factor step offers "Use an
// authenticator app" and "Use a recovery code" when the account has them
// (mfa_methods). From the first step, someone who lost both passkey and
// mailbox signs in with address and recovery code, and is then asked to
// add a passkey and make new codes.

import { render } from "/static/i18n.js";
import { request, authed, PageError } from "/static/api.js";
import { $, busy, say, fail, clearMessages, showStep } from "/static/ui.js";
import { fieldError, clearField, watch } from "/static/messages.js";
import * as passkeys from "/static/webauthn.js";
import { leave } from "/static/notes.js";
import * as handover from "/static/handover.js";

let mfaToken = () => null;
let done = () => {};
let kind = null; // "totp" or "recovery" while the code form is shown

// init wires the module: token returns the current MFA-pending token,
// signedIn is what follows a completed sign-in.
export function init({ token, signedIn }) {
  mfaToken = token;
  done = signedIn;
}

// offer shows the ways of the second-factor step this module runs, for
// the methods the password login answered.
export function offer(methods) {
  $("mfa-totp").hidden = !methods.includes("totp");
  $("mfa-recovery").hidden = !methods.includes("recovery_code");
  $("mfa-otp-form").hidden = true;
  kind = null;
}

function ask(which) {
  clearMessages();
  clearField($("mfa-otp"));
  kind = which;
  const totp = which === "totp";
  render($("mfa-otp-label"), totp ? "mfa.totpLabel" : "mfa.recoveryLabel");
  $("mfa-otp").inputMode = totp ? "numeric" : "text";
  $("mfa-otp").autocomplete = totp ? "one-time-code" : "off";
  $("mfa-otp").value = "";
  $("mfa-choices").hidden = true;
  $("mfa-code-form").hidden = true;
  $("mfa-otp-form").hidden = false;
  $("mfa-otp").focus();
}

$("mfa-totp").addEventListener("click", () => ask("totp"));
$("mfa-recovery").addEventListener("click", () => ask("recovery"));
$("mfa-otp-back").addEventListener("click", () => {
  clearMessages();
  clearField($("mfa-otp"));
  $("mfa-otp-form").hidden = true;
  $("mfa-choices").hidden = false;
  kind = null;
});
watch($("mfa-otp"));

// recoveryCode reads a code as typed, or says what is wrong with it.
function recoveryCode(v) {
  const c = v.trim().toLowerCase().replace(/[\s-]/g, "");
  if (!/^[0-9a-z]{10}$/.test(c)) throw new PageError("err.recovery_format");
  return c.slice(0, 5) + "-" + c.slice(5);
}

$("mfa-otp-form").addEventListener("submit", async (ev) => {
  ev.preventDefault();
  clearMessages();
  clearField($("mfa-otp"));
  let code = $("mfa-otp").value.trim();
  try {
    if (kind === "totp") {
      code = code.replace(/\s/g, "");
      if (!/^\d{6}$/.test(code)) throw new PageError("err.code_format");
    } else {
      code = recoveryCode(code);
    }
  } catch (e) { fieldError($("mfa-otp"), e).focus(); return; }
  await busy($("mfa-otp-verify"), async () => {
    try {
      await request("POST", kind === "totp" ? "/api/mfa/totp" : "/api/mfa/recovery", { mfa_token: mfaToken(), code });
    } catch (e) {
      fieldError($("mfa-otp"), e).select(); // a wrong code says the tries left
      return;
    }
    if (kind === "recovery") { await recovered(); return; }
    done();
  }, "common.checking");
});

// --- Address and recovery code ------------------------------------------------

$("use-recovery").addEventListener("click", () => {
  clearMessages();
  $("recovery-email").value = $("email").value.trim();
  $("recovery-code").value = "";
  clearField($("recovery-code"));
  showStep("step-recovery", $("recovery-email").value ? "recovery-code" : "recovery-email");
  ($("recovery-email").value ? $("recovery-code") : $("recovery-email")).focus();
});

$("recovery-back").addEventListener("click", () => {
  clearMessages();
  showStep("step-email", "email");
  $("email").focus();
});

watch($("recovery-code"));

$("recovery-form").addEventListener("submit", async (ev) => {
  ev.preventDefault();
  clearMessages();
  clearField($("recovery-code"));
  const email = $("recovery-email").value.trim();
  let code;
  try {
    if (!/^[^\s@]+@[^\s@]+$/.test(email)) throw new PageError("err.email_invalid");
    code = recoveryCode($("recovery-code").value);
  } catch (e) { fieldError($("recovery-code"), e).focus(); return; }
  await busy($("recovery-submit"), async () => {
    try {
      await request("POST", "/api/recovery/signin", { email, code });
    } catch (e) {
      fieldError($("recovery-code"), e.code === "invalid_credentials" ? new PageError("err.recovery_wrong") : e).select();
      return;
    }
    await recovered();
  }, "common.signingIn");
});

// recovered follows a sign-in by recovery code: the person is asked to
// add a passkey (and told how many codes are left), then goes on to the
// account page to make new codes.
async function recovered() {
  say("signin.signedIn");
  try {
    const me = await authed("GET", "/api/me");
    render($("recovered-left"), "recovered.left", { n: me.recovery_codes_left });
  } catch { /* the count is a courtesy */ }
  $("recovered-add").hidden = !passkeys.supported();
  // Signing in to an app: the person may go on to it; new codes can wait.
  if (handover.active()) handover.showContinue($("recovered-app"));
  showStep("step-recovered");
}

$("recovered-add").addEventListener("click", () => busy($("recovered-add"), async () => {
  clearMessages();
  try {
    await passkeys.register(null);
  } catch (e) {
    fail(e);
    return;
  }
  if (handover.active()) { say("offer.added"); await handover.signedIn(); return; }
  leave("recovered.added");
  location.assign("/account");
}, "common.waitingPasskey"));

$("recovered-app").addEventListener("click", () => busy($("recovered-app"), () => handover.signedIn()));

$("recovered-account").addEventListener("click", () => {
  leave("signin.signedIn");
  location.assign("/account");
});
