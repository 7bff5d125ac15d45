// signin.js: the sign-in (and sign-up) page. Steps: the email field, which
// also offers passkeys in its autofill; then an emailed link and code, a
// password followed by a second factor, or a security key; after a
// sign-in by email, the offer of a passkey; and, for someone already
// signed in, who they are and where to go next. On /signin?request=ID an
// app asks for the sign-in: handover.js takes over at start and after it.
// Each step is an entry in the browser's history, and the code step
// survives a reload (flowstate.js).

import { setup, render, current } from "/static/i18n.js";
import { request, refresh, signOut, currentUser, APIError, PageError } from "/static/api.js";
import { $, busy, isBusy, say, fail, clearMessages, showStep, strong, codeField, validCode, countdown, clock } from "/static/ui.js";
import { fieldError, clearField, watch, note } from "/static/messages.js";
import * as passkeys from "/static/webauthn.js";
import { afterEmailSignIn } from "/static/offer.js";
import * as handover from "/static/handover.js";
import * as flow from "/static/flowstate.js";
import * as notes from "/static/notes.js";
import * as secondFactor from "/static/secondfactor.js";

setup();

const home = "/account";
const resendWait = 30; // seconds before a new code can be asked for

let email = "";
let flowID = null;
let mfaToken = null;
let stopResend = null;

function signedIn() {
  say("signin.signedIn");
  if (handover.active()) { handover.signedIn(); return; }
  notes.leave("signin.signedIn");
  location.assign(home);
}

// clearAll takes away every message on the page.
function clearAll() {
  clearMessages();
  for (const f of [$("email"), $("code"), $("password")]) clearField(f);
  note("passkey-error", null);
  note("code-resend-note", null);
}

// --- Step 1: the email address ------------------------------------------

function looksLikeEmail(v) { return /^[^\s@]+@[^\s@]+$/.test(v.trim()); }

watch($("email"));

function readEmail() {
  const v = $("email").value.trim();
  if (!v) throw new PageError("err.email_empty");
  if (!looksLikeEmail(v) || !$("email").checkValidity()) throw new PageError("err.email_invalid");
  return v;
}

// emailFirst reports an address that is missing or wrong at its field.
function emailFirst(e) { fieldError($("email"), e).focus(); }

// showEmailStep shows the first step. The flow stays stored: Forward, or
// Continue with the same address, comes back to its code.
function showEmailStep(autofill = true) {
  if (stopResend) stopResend();
  stopResend = null;
  flowID = null;
  mfaToken = null;
  $("code").value = "";
  $("password").value = "";
  $("mfa-code").value = "";
  showStep("step-email", "email");
  if (autofill) startConditional();
}

// backToEmail goes back to the first step: through the browser's
// history when this page put a step there, so Back and Forward agree.
function backToEmail() {
  if (flow.step() !== "email") history.back();
  else showEmailStep();
}

// firstStep shows the step this history entry stands for: after a
// reload on the code step, the code step with the same flow.
// The passkey autofill starts with it unless autofill is false.
function firstStep(autofill = true) {
  const f = flow.step() === "code" ? flow.load() : null;
  if (f) { showCode(f); return; }
  if (flow.step() !== "email") flow.replace("email");
  showEmailStep(autofill);
}

// Back and Forward move between the steps.
flow.onMove((step) => {
  clearAll();
  if (step === "code") {
    const f = flow.load();
    if (f) { stopConditional().then(() => showCode(f)); return; }
  } else if (step === "password" && email) {
    stopConditional().then(showPassword);
    return;
  }
  showEmailStep();
});

// --- Already signed in -------------------------------------------------------

// showSignedIn says who is signed in and offers the way on.
async function showSignedIn() {
  await stopConditional();
  if (stopResend) stopResend();
  flow.clear();
  flow.replace("email");
  clearAll();
  const user = currentUser();
  render($("signedin-as"), "signedin.as", { email: strong(user ? user.email : "") });
  showStep("step-signedin");
}

$("signedin-continue").addEventListener("click", () => {
  const pending = handover.pendingForLink();
  location.assign(pending ? handover.resumeURL(pending) : home);
});

$("signedin-signout").addEventListener("click", () => busy($("signedin-signout"), async () => {
  clearAll();
  try {
    await signOut();
  } catch (e) {
    fail(e);
    return;
  }
  showEmailStep();
  say("signedin.signedOut");
}));

// --- Passkeys -----------------------------------------------------------------

// Passkeys in the autofill: a conditional get() waits, unseen, until the
// user picks a passkey in the email field's suggestions. It is aborted
// before any other WebAuthn request, which the browser runs one at a time.
// <html data-autofill> tells where that request is: "starting",
// "listening" (the browser offers passkeys), "off" (settled or aborted).
let conditional = null;
let generation = 0; // bumped by every start and stop
const conditionalOK = passkeys.conditionalAvailable();

function autofillState(state) { document.documentElement.dataset.autofill = state; }

async function startConditional() {
  if (conditional) return;
  const gen = ++generation;
  autofillState("starting");
  const available = await conditionalOK;
  if (gen !== generation || conditional) return; // stopped or started again meanwhile
  if (!available) { autofillState("off"); return; }
  const ac = new AbortController();
  let waiting = false;
  const onWait = () => { waiting = true; autofillState("listening"); };
  const run = passkeys.signIn({ mediation: "conditional", signal: ac.signal, onWait })
    .then(signedIn, (e) => {
      // Only a passkey the user picked and the server refused is worth a
      // word; the rest (no passkey, aborted, a busy server before anything
      // was shown) leaves the page as it is.
      if (!ac.signal.aborted && waiting && e instanceof APIError) note("passkey-error", e);
    }).finally(() => {
      if (conditional && conditional.ac === ac) conditional = null;
      if (!conditional) autofillState("off");
    });
  conditional = { ac, run };
}

async function stopConditional() {
  generation++;
  const c = conditional;
  conditional = null;
  if (c) {
    c.ac.abort();
    await c.run;
  }
  autofillState("off");
}

async function passkeyButton(button, email, where) {
  if (isBusy(button)) return;
  clearAll();
  await stopConditional();
  const ok = await busy(button, async () => {
    try {
      await passkeys.signIn(email ? { email } : {});
      return true;
    } catch (e) {
      where(e);
      return false;
    }
  }, "common.waitingPasskey");
  if (ok) signedIn(); else startConditional();
}

$("passkey-button").addEventListener("click", () =>
  passkeyButton($("passkey-button"), "", (e) => note("passkey-error", e)));

$("use-key").addEventListener("click", () => {
  clearAll();
  try { email = readEmail(); } catch (e) { emailFirst(e); return; }
  passkeyButton($("use-key"), email, (e) => note("passkey-error", e));
});

// --- Step 2a: link and code by email -----------------------------------

// startEmail asks for a link and code for email and keeps the new flow.
async function startEmail() {
  // The mail is written in the page's language.
  const r = await request("POST", "/api/email/start", { email, locale: current() });
  flowID = r.flow_id;
  const now = Date.now();
  flow.save({ flowID, email, until: now + (r.expires_in || 900) * 1000, resendAt: now + resendWait * 1000 });
}

function holdResend(button, seconds) {
  if (stopResend) stopResend();
  stopResend = seconds > 0 ? countdown(button, seconds) : null;
}

// showCode shows the code step of flow f (see flowstate.js).
function showCode(f) {
  email = f.email;
  flowID = f.flowID;
  $("email").value = email;
  render($("code-sent"), "code.sent", { email: strong(email) });
  $("code-resend").classList.add("secondary");
  $("code-verify").classList.remove("secondary");
  showStep("step-code", "code");
  holdResend($("code-resend"), (f.resendAt - Date.now()) / 1000);
}

// sendLimited says that no more codes can be sent for a while (429): at
// the field on the first step; on the code step, that the last code
// still works.
function sendLimit(e, first) {
  const vars = { t: clock(e.retryAfter || 60) };
  if (first) emailFirst({ key: "err.send_limit_first", vars });
  else note("code-resend-note", { key: "code.sendLimit", vars });
}

$("email-form").addEventListener("submit", async (ev) => {
  ev.preventDefault();
  clearAll();
  try { email = readEmail(); } catch (e) { emailFirst(e); return; }
  // The same address again (after Back) while its code still works: the
  // code step comes back, and no send is spent.
  const kept = flow.load();
  if (kept && kept.email === email) {
    await stopConditional();
    flow.enter("code");
    showCode(kept);
    return;
  }
  await busy($("email-send"), async () => {
    try {
      await startEmail();
    } catch (e) {
      if (e instanceof APIError && e.code === "rate_limited") sendLimit(e, true);
      else emailFirst(e);
      return;
    }
    await stopConditional();
    flow.enter("code");
    showCode(flow.load() || { flowID, email, until: Infinity, resendAt: Date.now() + resendWait * 1000 });
  }, "common.sending");
});

watch($("code"));
codeField($("code"), $("code-form"));

// codeFailed says what happened to a code that did not sign in, and
// points at the way on.
async function codeFailed(e) {
  const f = flow.load();
  if (e instanceof APIError && e.code === "invalid_code" && e.problem.attempts_left > 0) {
    fieldError($("code"), { key: "err.invalid_code_left", vars: { n: e.problem.attempts_left } }).select();
    return;
  }
  if (e instanceof APIError && e.code === "used") {
    // Used: maybe by its link, in another tab of this browser.
    try {
      await refresh();
      await showSignedIn();
      return;
    } catch { /* not signed in here */ }
  }
  const dead = e instanceof APIError && ["invalid_code", "expired", "used"].includes(e.code);
  if (!dead) { fieldError($("code"), e).select(); return; }
  const key = e.code === "used" ? "err.code_used"
    : e.code === "expired" && (!f || f.until <= Date.now()) ? "err.code_expired" : "err.code_tries";
  fieldError($("code"), { key });
  // The way on is a new code: the button works at once, and leads.
  if (stopResend) stopResend();
  stopResend = null;
  $("code-resend").classList.remove("secondary");
  $("code-verify").classList.add("secondary");
  $("code-resend").focus();
}

$("code-form").addEventListener("submit", async (ev) => {
  ev.preventDefault();
  clearAll();
  const code = validCode($("code"));
  if (!code) { fieldError($("code"), new PageError("err.code_format")).focus(); return; }
  await busy($("code-verify"), async () => {
    try {
      const session = await request("POST", "/api/email/verify", { flow_id: flowID, code });
      flow.clear();
      flow.replace("done");
      say("signin.signedIn");
      await afterEmailSignIn(session);
    } catch (e) {
      await codeFailed(e);
    }
  }, "common.checking");
});

$("code-resend").addEventListener("click", async () => {
  if (isBusy($("code-resend"))) return;
  clearAll();
  const wait = await busy($("code-resend"), async () => {
    try {
      await startEmail();
      $("code").value = "";
      $("code-resend").classList.add("secondary");
      $("code-verify").classList.remove("secondary");
      note("code-resend-note", { key: "code.resent" });
      return resendWait;
    } catch (e) {
      if (e instanceof APIError && e.code === "rate_limited") sendLimit(e, false);
      else note("code-resend-note", e);
      const f = flow.load();
      if (f && e.retryAfter) flow.save({ ...f, resendAt: Date.now() + e.retryAfter * 1000 });
      return e.retryAfter || 0;
    }
  }, "common.sending");
  if (wait) holdResend($("code-resend"), wait);
  $("code").focus();
});

$("code-restart").addEventListener("click", () => {
  clearAll();
  flow.clear();
  backToEmail();
});

// --- Step 2b: password, then the second factor ----------------------------

$("use-password").addEventListener("click", async () => {
  clearAll();
  try { email = readEmail(); } catch (e) { emailFirst(e); return; }
  await stopConditional();
  flow.enter("password");
  showPassword();
});

function showPassword() {
  $("password-username").value = email;
  render($("password-for"), "password.for", { email: strong(email) });
  showStep("step-password", "password");
}

$("password-show").addEventListener("change", () => {
  $("password").type = $("password-show").checked ? "text" : "password";
});

$("password-back").addEventListener("click", () => { clearAll(); backToEmail(); });

// A password that does not work may be no password at all: the way on
// is a code by email, for the same address, from this step.
$("password-email").addEventListener("click", () => busy($("password-email"), async () => {
  clearAll();
  const kept = flow.load();
  if (!(kept && kept.email === email)) {
    try {
      await startEmail();
    } catch (e) {
      if (e instanceof APIError && e.code === "rate_limited") fieldError($("password"), { key: "err.send_limit_first", vars: { t: clock(e.retryAfter || 60) } });
      else fail(e);
      return;
    }
  }
  $("password").value = "";
  flow.replace("code");
  showCode(flow.load());
}, "common.sending"));

watch($("password"));

$("password-form").addEventListener("submit", async (ev) => {
  ev.preventDefault();
  clearAll();
  const password = $("password").value;
  if (!password) { fieldError($("password"), new PageError("err.password_empty")).focus(); return; }
  await busy($("password-submit"), async () => {
    try {
      // The SCRAM client loads only when someone uses a password.
      const scram = await import("/static/scram.js");
      const r = await scram.login(email, password);
      mfaToken = r.mfa_token;
      $("password").value = "";
      showMFA(r.mfa_methods || ["email_otp"]);
    } catch (e) {
      const key = e && e.code === "invalid_credentials" ? { key: "err.password_wrong" } : e;
      fieldError($("password"), key).select();
    }
  }, "common.checking");
});

function showMFA(methods) {
  const passkey = methods.includes("webauthn") && passkeys.supported();
  $("mfa-email").hidden = !methods.includes("email_otp");
  $("mfa-passkey").hidden = !passkey;
  // A passkey, when the account has one, is the quicker way: offer it first.
  $("mfa-passkey").classList.toggle("secondary", !passkey);
  $("mfa-email").classList.toggle("secondary", passkey);
  if (passkey) $("mfa-choices").prepend($("mfa-passkey"));
  $("mfa-choices").hidden = false;
  $("mfa-code-form").hidden = true;
  secondFactor.offer(methods); // an authenticator app, a recovery code
  showStep("step-mfa");
}

secondFactor.init({ token: () => mfaToken, signedIn });

async function sendMFACode() {
  await request("POST", "/api/mfa/email/send", { mfa_token: mfaToken });
}

$("mfa-email").addEventListener("click", () => busy($("mfa-email"), async () => {
  clearMessages();
  try {
    await sendMFACode();
  } catch (e) {
    fail(e);
    return;
  }
  $("mfa-choices").hidden = true;
  $("mfa-code-form").hidden = false;
  $("mfa-code").focus();
  holdResend($("mfa-resend"), resendWait);
}, "common.sending"));

codeField($("mfa-code"), $("mfa-code-form"));

$("mfa-code-form").addEventListener("submit", async (ev) => {
  ev.preventDefault();
  clearMessages();
  const code = validCode($("mfa-code"));
  if (!code) { fail(new PageError("err.code_format")); $("mfa-code").focus(); return; }
  await busy($("mfa-verify"), async () => {
    try {
      await request("POST", "/api/mfa/email/verify", { mfa_token: mfaToken, code });
      signedIn();
    } catch (e) {
      fail(e);
      $("mfa-code").select();
    }
  }, "common.checking");
});

$("mfa-resend").addEventListener("click", async () => {
  if (isBusy($("mfa-resend"))) return;
  clearMessages();
  const wait = await busy($("mfa-resend"), async () => {
    try {
      await sendMFACode();
      $("mfa-code").value = "";
      say("code.resent");
      return resendWait;
    } catch (e) {
      fail(e);
      return e.retryAfter || 0;
    }
  }, "common.sending");
  if (wait) holdResend($("mfa-resend"), wait);
  $("mfa-code").focus();
});

$("mfa-passkey").addEventListener("click", () => busy($("mfa-passkey"), async () => {
  clearMessages();
  try {
    await passkeys.secondFactor(mfaToken);
    signedIn();
  } catch (e) {
    fail(e);
  }
}, "common.waitingPasskey"));

$("mfa-restart").addEventListener("click", () => { clearMessages(); backToEmail(); });

// Signing in to an app starts with the app's request; the page shows
// its sign-in only when the person has no session to pass through with.
if (handover.active()) handover.begin(firstStep);
else start();

// start shows the first step at once; if this browser is signed in, it
// says so instead, and if a session ended here, why.
// The autofill request waits for the answer: a passkey it took at once
// would sign in again someone who is signed in already.
async function start() {
  autofillState("starting");
  firstStep(false);
  try {
    await refresh();
    await showSignedIn();
    return;
  } catch { /* not signed in */ }
  if (!$("step-email").hidden) startConditional();
  const left = notes.take();
  if (left) say(left);
  else if (notes.sessionLost()) say("signedout.ended");
}
