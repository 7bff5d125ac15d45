// account.js: the account page: passkeys, password, the apps that sign
// in with Sesame, sessions, sign-out.
// Adding or removing a way to sign in needs a sign-in from the last ten
// minutes; when the server answers reauth_required the page asks the user
// to confirm with a passkey or an emailed code, then retries.

import { setup, t, render, clear, current, onChange } from "/static/i18n.js";
import { authed, request, signOut, setAccessToken, APIError, PageError } from "/static/api.js";
import { $, busy, say, fail, clearMessages, strong, codeField, validCode, countdown } from "/static/ui.js";
import * as passkeys from "/static/webauthn.js";
import { scopeList } from "/static/scopes.js";
import * as notes from "/static/notes.js";
import * as activity from "/static/activity.js";
import { fieldError, watch } from "/static/messages.js";
import * as lifecycle from "/static/lifecycle.js";
import * as approvals from "/static/approvals.js";

setup();

let me = null;
let apps = null; // null: this server lists no apps

async function load() {
  const listed = authed("GET", "/api/me/apps").catch(() => null);
  const events = activity.load();
  const waiting = approvals.load();
  me = await authed("GET", "/api/me");
  apps = await listed;
  await events;
  await waiting;
}

async function start() {
  say("account.loading");
  try {
    await load();
  } catch (e) {
    if (e.status === 401) {
      // A session this browser held was ended elsewhere, or ran out: the
      // sign-in page says so.
      if (notes.sessionLost()) notes.leave("signedout.ended");
      location.replace("/signin");
      return;
    }
    say(null);
    fail(e);
    return;
  }
  say(notes.take());
  draw();
  $("account").hidden = false;
  signal();
  approvals.watch();
}

function draw() {
  render($("signed-in-as"), "account.signedInAs", { email: strong(me.user.email) });
  drawPasskeys();
  drawPassword();
  drawApps();
  drawSessions();
  activity.draw({ when: ago, device });
  approvals.draw();
  lifecycle.draw(me); // authenticator app, recovery codes, name, email, deletion
}

onChange(() => { if (me) draw(); });

// signal tells the person's passkey manager which passkeys this account
// still accepts and the name it goes by (WebAuthn L3 signals), after every
// load: a passkey removed on another device, or a new address, reaches it.
function signal() {
  if (!me.webauthn_user_id) return;
  passkeys.accepted(me.webauthn_user_id, me.credentials.map((c) => c.id));
  passkeys.userDetails(me.webauthn_user_id, me.user.email);
}

// confirmNear says key in a note at the top of section (the one that
// held the button), where the person's eyes and focus are; it is emptied
// before the next action.
function confirmNear(section, key) {
  if (!section) { say(key); return; }
  const heading = section.querySelector("h2");
  let note = section.querySelector(":scope > .note");
  if (!note) {
    note = el("p", { class: "note", role: "status", id: heading.id.replace(/-heading$/, "") + "-note" });
    heading.after(note);
  }
  render(note, key);
}

function clearNotes() {
  for (const n of document.querySelectorAll("section > .note")) clear(n);
}

// --- Words for dates, devices and methods ---------------------------------

function date(iso) {
  return new Intl.DateTimeFormat(current(), { dateStyle: "medium" }).format(new Date(iso));
}

function ago(iso) {
  const rtf = new Intl.RelativeTimeFormat(current(), { numeric: "auto" });
  // Never "in 2 minutes": a server clock ahead of this one means "now".
  const s = Math.min(0, Math.round((new Date(iso).getTime() - Date.now()) / 1000));
  const abs = Math.abs(s);
  if (abs < 60) return rtf.format(0, "second");
  if (abs < 3600) return rtf.format(Math.round(s / 60), "minute");
  if (abs < 86400) return rtf.format(Math.round(s / 3600), "hour");
  if (abs < 30 * 86400) return rtf.format(Math.round(s / 86400), "day");
  return date(iso);
}

// device names a session's device from its User-Agent: "Chrome on macOS".
function device(ua) {
  if (!ua) return t("sessions.unknownDevice");
  const browser = /Edg\//.test(ua) ? "Edge" : /OPR\//.test(ua) ? "Opera" : /Firefox\/|FxiOS/.test(ua) ? "Firefox"
    : /(Chrome|CriOS|Chromium)\//.test(ua) ? "Chrome" : /Safari\//.test(ua) ? "Safari" : null;
  const os = /iPhone|iPad|iPod/.test(ua) ? "iOS" : /Android/.test(ua) ? "Android" : /Windows/.test(ua) ? "Windows"
    : /CrOS/.test(ua) ? "ChromeOS" : /Mac OS X|Macintosh/.test(ua) ? "macOS" : /Linux/.test(ua) ? "Linux" : null;
  if (browser && os) return t("device", { browser, os });
  return browser || os || ua.split(/[\s/(]/)[0] || t("sessions.unknownDevice");
}

function method(amr = []) {
  if (amr.includes("pwd")) return t("method.password");
  if (amr.includes("hwk") || amr.includes("swk")) return t("method.passkey");
  if (amr.includes("otp")) return t("method.email");
  return t("method.other");
}

function el(tag, props = {}, ...children) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(props)) {
    if (k === "class") e.className = v;
    else if (k in e && typeof v !== "string") e[k] = v;
    else e.setAttribute(k, v);
  }
  e.append(...children);
  return e;
}

// --- Asking before what cannot be undone ---------------------------------

// confirmAction asks text under a title (yes, by default) and resolves
// to whether the person pressed yes.
function confirmAction(text, yes, title = yes) {
  const dlg = $("confirm");
  $("confirm-title").textContent = title;
  $("confirm-text").textContent = text;
  $("confirm-yes").textContent = yes;
  return new Promise((resolve) => {
    $("confirm-yes").onclick = () => dlg.close("yes");
    $("confirm-no").onclick = () => dlg.close("no");
    dlg.onclose = () => resolve(dlg.returnValue === "yes");
    dlg.returnValue = "";
    dlg.showModal();
    $("confirm-no").focus();
  });
}

// --- Confirming it is you (reauth_required) -------------------------------

const cancelled = new PageError("err.reauth_required");

// withReauth runs fn; if the server wants a recent sign-in, it asks for
// one and runs fn again.
async function withReauth(fn) {
  try {
    return await fn();
  } catch (e) {
    if (!(e instanceof APIError && e.code === "reauth_required")) throw e;
    await reauth();
    return fn();
  }
}

codeField($("reauth-code"), $("reauth-code-form"));

// reauth signs the user in afresh, which moves the session's auth_time to
// now: a new session replaces this one, which is then ended.
function reauth() {
  const dlg = $("reauth");
  const previous = (me.sessions.find((s) => s.current) || {}).id;
  let flow = null, done = false, stopResend = null;
  clear($("reauth-error"));
  $("reauth-passkey").hidden = me.credentials.length === 0 || !passkeys.supported();
  $("reauth-choices").hidden = false;
  $("reauth-code-form").hidden = true;
  $("reauth-code").value = "";

  return new Promise((resolve, reject) => {
    const finish = async (session) => {
      if (session.user.id !== me.user.id) throw new PageError("reauth.wrongUser");
      if (previous) await authed("DELETE", "/api/me/sessions/" + encodeURIComponent(previous)).catch(() => {});
      done = true;
      dlg.close();
      resolve();
    };
    const sendCode = async () => {
      const r = await request("POST", "/api/email/start", { email: me.user.email });
      flow = r.flow_id;
    };
    const holdResend = () => {
      if (stopResend) stopResend();
      stopResend = countdown($("reauth-resend"), 30);
    };
    $("reauth-passkey").onclick = () => busy($("reauth-passkey"), async () => {
      clear($("reauth-error"));
      try {
        await finish(await passkeys.signIn({ email: me.user.email }));
      } catch (e) { fail(e, "reauth-error"); }
    }, "common.waitingPasskey");
    $("reauth-email").onclick = () => busy($("reauth-email"), async () => {
      clear($("reauth-error"));
      try {
        await sendCode();
      } catch (e) { fail(e, "reauth-error"); return; }
      render($("reauth-sent"), "reauth.sent", { email: strong(me.user.email) });
      $("reauth-choices").hidden = true;
      $("reauth-code-form").hidden = false;
      $("reauth-code").focus();
      holdResend();
    }, "common.sending");
    $("reauth-resend").onclick = async () => {
      const sent = await busy($("reauth-resend"), async () => {
        clear($("reauth-error"));
        try { await sendCode(); return true; } catch (e) { fail(e, "reauth-error"); return false; }
      }, "common.sending");
      if (sent) holdResend();
      $("reauth-code").focus();
    };
    $("reauth-code-form").onsubmit = (ev) => {
      ev.preventDefault();
      clear($("reauth-error"));
      const code = validCode($("reauth-code"));
      if (!code) { fail(new PageError("err.code_format"), "reauth-error"); return; }
      busy($("reauth-verify"), async () => {
        try {
          await finish(await request("POST", "/api/email/verify", { flow_id: flow, code }));
        } catch (e) { fail(e, "reauth-error"); $("reauth-code").select(); }
      }, "common.checking");
    };
    $("reauth-cancel").onclick = () => dlg.close();
    dlg.onclose = () => {
      if (stopResend) stopResend();
      if (!done) reject(cancelled);
    };
    dlg.showModal();
  });
}

// act runs an account change behind button: working state, reauth when
// needed, then the page reloads the account and says what happened next
// to it. A failure about a field (the rename's) is said at field.
async function act(button, label, fn, doneKey, field) {
  clearMessages();
  clearNotes();
  const section = button.closest("section"); // the button may be drawn anew
  await busy(button, async () => {
    try {
      await withReauth(fn);
      await load();
      draw();
      signal();
      if (doneKey) confirmNear(section, doneKey);
    } catch (e) {
      if (e.status === 401) { // signed out elsewhere: the sign-in page says so
        if (notes.sessionLost()) notes.leave("signedout.ended");
        location.assign("/signin");
        return;
      }
      if (field && field.isConnected) fieldError(field, e).focus();
      else fail(e);
    }
  }, label);
}

// --- Passkeys --------------------------------------------------------------

function drawPasskeys() {
  const list = $("passkeys");
  list.replaceChildren(...me.credentials.map(passkeyItem));
  $("no-passkeys").hidden = me.credentials.length > 0;
}

function passkeyItem(c) {
  // The server's name for a passkey of an unknown provider reads in the
  // page's language.
  const name = !c.name || c.name === "Passkey" ? t("passkeys.defaultName") : c.name;
  const used = c.last_used_at ? t("passkeys.lastUsed", { when: ago(c.last_used_at) }) : t("passkeys.neverUsed");
  const renameBtn = el("button", { type: "button", class: "link", "aria-label": t("passkeys.renameLabel", { name }) }, t("passkeys.rename"));
  const removeBtn = el("button", { type: "button", class: "link danger", "aria-label": t("passkeys.removeLabel", { name }) }, t("passkeys.remove"));
  const inputID = "rename-" + c.id;
  const input = el("input", { id: inputID, type: "text", maxlength: "64", autocomplete: "off", required: "", "aria-describedby": inputID + "-error" });
  watch(input);
  const save = el("button", { type: "submit" }, t("passkeys.save"));
  const cancel = el("button", { type: "button", class: "link" }, t("common.cancel"));
  const form = el("form", { class: "rename", novalidate: "", hidden: "" },
    el("label", { for: inputID }, t("passkeys.name")), input,
    el("p", { id: inputID + "-error", class: "field-error", role: "alert" }),
    el("div", { class: "row" }, save, cancel));
  const item = el("li", { class: "item", "data-id": c.id },
    el("div", { class: "item-main" },
      el("span", { class: "item-name" }, name),
      el("span", { class: "badge" + (c.backup_eligible ? " synced" : "") }, t(c.backup_eligible ? "passkeys.synced" : "passkeys.deviceBound"))),
    el("p", { class: "meta" }, t("passkeys.created", { date: date(c.created_at) }) + " · " + used),
    el("div", { class: "item-actions" }, renameBtn, removeBtn),
    form);

  renameBtn.addEventListener("click", () => {
    clearMessages();
    input.value = c.name;
    form.hidden = false;
    input.focus();
    input.select();
  });
  cancel.addEventListener("click", () => { form.hidden = true; renameBtn.focus(); });
  form.addEventListener("submit", async (ev) => {
    ev.preventDefault();
    clearMessages();
    const newName = input.value.trim();
    if (!newName) { fieldError(input, new PageError("err.name_empty")).focus(); return; }
    await act(save, "common.saving", () => authed("PATCH", "/api/me/credentials/" + encodeURIComponent(c.id), { name: newName }), "passkeys.renamed", input);
    focusItem(c.id, "button");
  });
  removeBtn.addEventListener("click", async () => {
    if (!(await confirmAction(t("passkeys.confirmRemove", { name }), t("passkeys.remove"), t("passkeys.confirmRemoveTitle")))) return;
    await act(removeBtn, "common.removing", async () => {
      await authed("DELETE", "/api/me/credentials/" + encodeURIComponent(c.id));
      await passkeys.forget(c.id);
    }, "passkeys.removed");
    $("passkeys-heading").focus();
  });
  return item;
}

function focusItem(id, selector) {
  const item = [...$("passkeys").children].find((li) => li.dataset.id === id);
  const target = item && item.querySelector(selector);
  if (target) target.focus();
}

$("add-passkey").addEventListener("click", () => act($("add-passkey"), "common.waitingPasskey", () => passkeys.register(null), "passkeys.added"));
$("add-key").addEventListener("click", () => act($("add-key"), "common.waitingPasskey", () => passkeys.register("cross-platform"), "passkeys.added"));
if (!passkeys.supported()) {
  $("add-passkey").hidden = true;
  $("add-key").hidden = true;
}

// --- Password ----------------------------------------------------------------

function drawPassword() {
  render($("password-state"), me.has_password ? "pw.has" : "pw.none");
  render($("password-edit"), me.has_password ? "pw.change" : "pw.set");
  $("password-remove").hidden = !me.has_password;
}

function closePasswordForm() {
  $("password-form").hidden = true;
  $("password-actions").hidden = false;
  $("new-password").value = "";
  $("new-password-again").value = "";
  clear($("password-error"));
}

$("password-edit").addEventListener("click", () => {
  clearMessages();
  $("password-username").value = me.user.email;
  $("password-actions").hidden = true;
  $("password-form").hidden = false;
  $("new-password").focus();
});

$("password-cancel").addEventListener("click", () => { closePasswordForm(); $("password-edit").focus(); });

$("new-password-show").addEventListener("change", () => {
  const type = $("new-password-show").checked ? "text" : "password";
  $("new-password").type = type;
  $("new-password-again").type = type;
});

// The browser enforces the password rules, since the server never sees
// the password (SECURITY rule 27): 8 to 128 characters after Unicode NFC.
function checkPassword() {
  const pw = $("new-password").value.normalize("NFC");
  const length = [...pw].length;
  if (length < 8) throw new PageError("err.password_short");
  if (length > 128) throw new PageError("err.password_long");
  if (pw !== $("new-password-again").value.normalize("NFC")) throw new PageError("err.password_mismatch");
  return pw;
}

$("password-form").addEventListener("submit", async (ev) => {
  ev.preventDefault();
  clear($("password-error"));
  let pw;
  try { pw = checkPassword(); } catch (e) { fail(e, "password-error"); $("new-password").focus(); return; }
  await act($("password-save"), "common.saving", async () => {
    const scram = await import("/static/scram.js");
    const begin = await authed("POST", "/api/password/set/begin");
    const keys = await scram.deriveKeys(pw, begin.salt, begin.iterations);
    await authed("POST", "/api/password/set/finish", { set_id: begin.set_id, ...keys });
    closePasswordForm();
  }, "pw.saved");
  if ($("password-form").hidden) $("password-heading").focus();
});

$("password-remove").addEventListener("click", async () => {
  if (!(await confirmAction(t("pw.confirmRemove"), t("pw.remove"), t("pw.confirmRemoveTitle")))) return;
  await act($("password-remove"), "common.removing", () => authed("DELETE", "/api/password"), "pw.removed");
  $("password-heading").focus();
});

// --- Apps that sign in with Sesame --------------------------------------------

function drawApps() {
  $("apps-panel").hidden = !Array.isArray(apps);
  if (!Array.isArray(apps)) return;
  const list = [...apps].sort((a, b) => new Date(b.last_used_at || b.approved_at) - new Date(a.last_used_at || a.approved_at));
  $("apps").replaceChildren(...list.map((a) => {
    const name = a.name || a.client_id;
    const used = a.last_used_at ? t("apps.lastUsed", { when: ago(a.last_used_at) }) : t("apps.neverUsed");
    const remove = el("button", { type: "button", class: "link danger", "aria-label": t("apps.removeLabel", { name }) }, t("apps.remove"));
    remove.addEventListener("click", async () => {
      if (!(await confirmAction(t("apps.confirmRemove", { name }), t("apps.remove")))) return;
      await act(remove, "common.removing", () => authed("DELETE", "/api/me/apps/" + encodeURIComponent(a.client_id)), "apps.removed");
      $("apps-heading").focus();
    });
    return el("li", { class: "item", "data-id": a.client_id },
      el("div", { class: "item-main" }, el("span", { class: "item-name" }, name)),
      el("p", { class: "meta" }, t("apps.sees", { list: scopeList(a.scopes) })),
      el("p", { class: "meta" }, t("apps.allowed", { date: date(a.approved_at) }) + " · " + used),
      el("div", { class: "item-actions" }, remove));
  }));
  $("no-apps").hidden = list.length > 0;
}

// --- Sessions ------------------------------------------------------------------

function drawSessions() {
  const sessions = [...me.sessions].sort((a, b) => (b.current - a.current) || (new Date(b.last_used_at) - new Date(a.last_used_at)));
  $("sessions").replaceChildren(...sessions.map((s) => {
    const name = device(s.user_agent);
    const main = el("div", { class: "item-main" }, el("span", { class: "item-name" }, name));
    if (s.current) main.append(el("span", { class: "badge current" }, t("sessions.thisDevice")));
    // Two "Chrome on Linux" are told apart by when and how each signed in.
    const meta = [t("sessions.signedInWhen", { when: ago(s.created_at), method: method(s.amr) }), t("sessions.lastActive", { when: ago(s.last_used_at) })];
    if (s.ip) meta.push(s.ip);
    const item = el("li", { class: "item", "data-id": s.id }, main, el("p", { class: "meta" }, meta.join(" · ")));
    if (!s.current) {
      const end = el("button", { type: "button", class: "link danger", "aria-label": t("sessions.endLabel", { device: name, when: ago(s.created_at) }) }, t("sessions.end"));
      end.addEventListener("click", async () => {
        await act(end, "common.working", () => authed("DELETE", "/api/me/sessions/" + encodeURIComponent(s.id)), "sessions.ended");
        $("sessions-heading").focus();
      });
      item.append(el("div", { class: "item-actions" }, end));
    }
    return item;
  }));
}

$("sign-out").addEventListener("click", () => busy($("sign-out"), async () => {
  clearMessages();
  try {
    await signOut();
    notes.leave("signedin.signedOut");
    location.assign("/signin");
  } catch (e) {
    fail(e);
  }
}));

$("sign-out-all").addEventListener("click", async () => {
  if (!(await confirmAction(t("sessions.confirmAll"), t("sessions.signOutAll"), t("sessions.confirmAllTitle")))) return;
  await busy($("sign-out-all"), async () => {
    clearMessages();
    try {
      await authed("POST", "/api/session/logout-all");
      setAccessToken(null);
      notes.hadSession(false);
      notes.leave("signedout.everywhere");
      location.assign("/signin");
    } catch (e) {
      fail(e);
    }
  });
});

lifecycle.init({ me: () => me, act, confirmAction, withReauth });

start();
