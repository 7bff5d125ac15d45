// lifecycle.js: the account page's authenticator app, recovery codes,
// name, email address and deletion. account.js draws the page and lends
// its helpers (act: an account change with re-authentication, the
// confirm dialog); this module owns these panels.

import { t, render } from "/static/i18n.js";
import { authed, setAccessToken, PageError } from "/static/api.js";
import { $, busy, fail, clearMessages, strong, codeField, validCode } from "/static/ui.js";
import { fieldError, clearField, watch } from "/static/messages.js";
import * as notes from "/static/notes.js";

let page = null;       // {me, act, confirmAction, withReauth}
let enrolment = null; // an authenticator app being set up
let newCodes = null;  // recovery codes to show this once
let emailFlow = null; // an email change waiting for its code

// init lends the module account.js's state and helpers.
export function init(helpers) {
  page = helpers;
}

// draw shows the panels for me (GET /api/me).
export function draw(me) {
  render($("totp-state"), me.has_totp ? "totp.has" : "totp.none");
  render($("totp-setup"), me.has_totp ? "totp.replace" : "totp.setup");
  $("totp-remove").hidden = !me.has_totp;
  $("totp-form").hidden = !enrolment;
  $("totp-actions").hidden = !!enrolment;
  if (enrolment) {
    $("totp-qr").src = "data:image/svg+xml;base64," + btoa(enrolment.qr_svg);
    $("totp-secret").textContent = enrolment.secret.replace(/(.{4})/g, "$1 ").trim();
  }

  const left = me.recovery_codes_left || 0;
  render($("codes-state"), left > 0 ? "rc.left" : "rc.none", { n: left });
  render($("codes-make"), left > 0 ? "rc.remake" : "rc.make");
  $("codes-new").hidden = !newCodes;
  $("codes-make").hidden = !!newCodes;
  if (newCodes) $("codes-list").replaceChildren(...newCodes.map((c) => Object.assign(document.createElement("li"), { textContent: c })));

  if (document.activeElement !== $("display-name")) $("display-name").value = me.user.name || "";
  render($("email-state"), "profile.email", { email: strong(me.user.email) });
}

// --- Authenticator app -------------------------------------------------------

$("totp-setup").addEventListener("click", () => page.act($("totp-setup"), "common.working", async () => {
  enrolment = await authed("POST", "/api/me/totp/begin");
}).then(() => { if (enrolment) $("totp-code").focus(); }));

codeField($("totp-code"), $("totp-form"));
watch($("totp-code"));

$("totp-form").addEventListener("submit", async (ev) => {
  ev.preventDefault();
  clearField($("totp-code"));
  const code = validCode($("totp-code"));
  if (!code) { fieldError($("totp-code"), new PageError("err.code_format")).focus(); return; }
  const id = enrolment.enrollment_id;
  await page.act($("totp-verify"), "common.checking", async () => {
    await authed("POST", "/api/me/totp/finish", { enrollment_id: id, code });
    enrolment = null;
    $("totp-code").value = "";
  }, "totp.added", $("totp-code"));
  if (!enrolment) $("totp-heading").focus();
});

$("totp-cancel").addEventListener("click", () => {
  enrolment = null;
  $("totp-code").value = "";
  draw(page.me());
  $("totp-setup").focus();
});

$("totp-remove").addEventListener("click", async () => {
  if (!(await page.confirmAction(t("totp.confirmRemove"), t("totp.remove"), t("totp.confirmRemoveTitle")))) return;
  await page.act($("totp-remove"), "common.removing", () => authed("DELETE", "/api/me/totp"), "totp.removed");
  $("totp-heading").focus();
});

// --- Recovery codes ------------------------------------------------------------

$("codes-make").addEventListener("click", async () => {
  if (page.me().recovery_codes_left > 0 &&
      !(await page.confirmAction(t("rc.confirmRemake"), t("rc.remake"), t("rc.confirmRemakeTitle")))) return;
  await page.act($("codes-make"), "common.working", async () => {
    newCodes = (await authed("POST", "/api/me/recovery-codes")).codes;
  }, "rc.made");
  if (newCodes) $("codes-done").focus();
});

$("codes-done").addEventListener("click", () => {
  newCodes = null;
  $("codes-list").replaceChildren();
  draw(page.me());
  $("codes-heading").focus();
});

// --- Name ------------------------------------------------------------------------

watch($("display-name"));

$("name-form").addEventListener("submit", async (ev) => {
  ev.preventDefault();
  clearField($("display-name"));
  const name = $("display-name").value.trim();
  if ([...name].length > 64) { fieldError($("display-name"), new PageError("err.name_long")).focus(); return; }
  await page.act($("name-save"), "common.saving", () => authed("PATCH", "/api/me", { name }), "profile.nameSaved", $("display-name"));
});

// --- Email address --------------------------------------------------------------

watch($("new-email"));
watch($("email-code"));

function closeEmailForm() {
  emailFlow = null;
  $("email-change-form").hidden = true;
  $("email-code-part").hidden = true;
  $("email-edit").hidden = false;
  $("new-email").value = "";
  $("email-code").value = "";
  clearField($("new-email"));
  clearField($("email-code"));
}

$("email-edit").addEventListener("click", () => {
  clearMessages();
  $("email-edit").hidden = true;
  $("email-change-form").hidden = false;
  $("new-email").focus();
});

$("email-cancel").addEventListener("click", () => { closeEmailForm(); $("email-edit").focus(); });

$("email-change-form").addEventListener("submit", async (ev) => {
  ev.preventDefault();
  clearField($("new-email"));
  const email = $("new-email").value.trim();
  if (!/^[^\s@]+@[^\s@]+$/.test(email)) { fieldError($("new-email"), new PageError("err.email_invalid")).focus(); return; }
  await page.act($("email-send-code"), "common.sending", async () => {
    try {
      emailFlow = (await authed("POST", "/api/me/email/start", { email })).flow_id;
    } catch (e) {
      // The server refuses what the page cannot see: an IP literal, the
      // address the account already has.
      throw e.code === "bad_request" ? new PageError("err.email_invalid") : e;
    }
  }, null, $("new-email"));
  if (!emailFlow) return;
  render($("email-sent"), "profile.sent", { email: strong(email) });
  $("email-code-part").hidden = false;
  $("email-code").focus();
});

$("email-code").addEventListener("input", () => {
  const digits = $("email-code").value.replace(/\D/g, "").slice(0, 6);
  if (digits !== $("email-code").value) $("email-code").value = digits;
  if (digits.length === 6) $("email-verify").click();
});

$("email-verify").addEventListener("click", async () => {
  clearField($("email-code"));
  const code = validCode($("email-code"));
  if (!code) { fieldError($("email-code"), new PageError("err.code_format")).focus(); return; }
  const flow = emailFlow;
  let changed = false;
  await page.act($("email-verify"), "common.checking", async () => {
    await authed("POST", "/api/me/email/verify", { flow_id: flow, code });
    changed = true;
  }, "profile.emailChanged", $("email-code"));
  if (changed) { closeEmailForm(); $("profile-heading").focus(); }
});

// --- Deleting the account ----------------------------------------------------------

$("delete-account").addEventListener("click", async () => {
  if (!(await page.confirmAction(t("del.confirm"), t("del.button"), t("del.confirmTitle")))) return;
  clearMessages();
  await busy($("delete-account"), async () => {
    try {
      await page.withReauth(() => authed("DELETE", "/api/me"));
    } catch (e) {
      fail(e);
      return;
    }
    setAccessToken(null);
    notes.hadSession(false);
    notes.leave("del.done");
    location.assign("/signin");
  }, "common.removing");
});
