// handover.js: signing in to another app with Sesame (OpenID Connect).
//
// An app sends the person to /oauth2/authorize, which stores the request
// and hands over to /signin?request=ID. The refresh cookie is
// SameSite=Strict, so only this page's same-origin calls carry it (DESIGN:
// "The browser session stays SameSite=Strict"). This module completes the
// request: it renews the session silently when it can, else lets the
// sign-in page sign the person in any way they like; then it accepts the
// request and goes back to the app, asking for consent, a fresh sign-in
// or a passkey when the server answers that it needs one. prompt=none
// never shows anything a person must act on: the page accepts, or answers
// the app with login_required or consent_required.
//
// A sign-in by email may end in another tab (the emailed link opens a new
// one): the request waits in localStorage for that tab (pendingForLink),
// which then completes it, and this tab hears of it through a
// BroadcastChannel and says so.

import { t, render, setLanguage, onChange } from "/static/i18n.js";
import { request, authed, refresh, signOut, currentUser, APIError, PageError } from "/static/api.js";
import { $, busy, say, fail, clearMessages, showStep, strong } from "/static/ui.js";
import * as passkeys from "/static/webauthn.js";
import { scopeLines } from "/static/scopes.js";

const storeKey = "sesame.handover";
const storeLife = 10 * 60 * 1000; // an authorization request lives 10 minutes
const channelName = "sesame-handover";

let id = "";           // the request this page completes
let req = null;        // its GET /api/oauth2/requests/{id}
let showSignIn = null; // shows the sign-in page's first step (signin.js)
let leaving = false;   // on the way back to the app
let stepUpTried = false;
let allowed = false;   // the person allowed the app on this page
let consentScopes = null;

function requestID() {
  if (location.pathname !== "/signin") return "";
  return new URLSearchParams(location.search).get("request") || "";
}

// active reports whether this page completes an app's request.
export function active() { return requestID() !== ""; }

const appName = () => (req && req.client && (req.client.name || req.client.id)) || t("signout.anApp");
// words reads a space-separated OAuth parameter (prompt, acr_values,
// ui_locales), given as a string or already as a list.
const words = (v) => (Array.isArray(v) ? v : String(v || "").split(/\s+/)).filter(Boolean);
const silent = () => words(req && req.prompt).includes("none");
const path = (action) => "/api/oauth2/requests/" + encodeURIComponent(id) + (action ? "/" + action : "");

// begin starts the hand-over on /signin?request=ID. show puts the
// sign-in page's first step up (and its passkey autofill).
export async function begin(show) {
  id = requestID();
  showSignIn = show;
  listen();
  wire();
  render($("handover-heading"), "common.checking");
  showStep("step-handover");
  document.body.classList.add("ready");
  try {
    req = await request("GET", path());
  } catch (e) {
    stuck(e);
    return;
  }
  useLocale();
  name();
  let session = null;
  try {
    session = await refresh();
  } catch (e) {
    if (e.code === "unavailable") { stuck(e); return; }
  }
  if (session) await accept(false);
  else if (silent()) await deny("login_required");
  else signInStep(false);
}

// signedIn continues after any sign-in this page made.
export async function signedIn() {
  if (leaving) return;
  await accept(false);
}

// --- Stored for the emailed link ---------------------------------------------

function stored() {
  try {
    const p = JSON.parse(localStorage.getItem(storeKey) || "null");
    return p && typeof p.id === "string" && typeof p.until === "number" && p.until > Date.now() ? p : null;
  } catch {
    return null;
  }
}

function remember() {
  try {
    localStorage.setItem(storeKey, JSON.stringify({ id, app: appName(), until: Date.now() + storeLife }));
  } catch { /* storage blocked: the link then ends on the account page */ }
}

function forget() {
  try {
    const p = stored();
    if (!p || p.id === id) localStorage.removeItem(storeKey);
  } catch { /* storage blocked */ }
}

// pendingForLink returns the app sign-in this browser started in the
// last ten minutes and has not finished ({id, app}), or null. The magic
// link's page continues it.
export function pendingForLink() { return stored(); }

// showContinue labels button "Continue to <app>" and shows it, for a
// step that would otherwise leave for the account page.
export function showContinue(button) {
  render(button, "handover.continue", { app: appName() });
  button.hidden = false;
}

// resumeURL is where a pending sign-in continues.
export function resumeURL(p) { return "/signin?request=" + encodeURIComponent(p.id); }

let channel = null;

function listen() {
  try {
    channel = new BroadcastChannel(channelName);
    channel.onmessage = (m) => {
      if (m.data && m.data.id === id && m.data.done && !leaving) elsewhere();
    };
  } catch { /* no BroadcastChannel: the tab just stays */ }
}

// --- The page's words -----------------------------------------------------------

function useLocale() {
  for (const tag of words(req.ui_locales)) {
    if (setLanguage(tag.split("-")[0].toLowerCase(), false)) break;
  }
}

// name puts the app's name where the page speaks of it.
function name() {
  const app = appName();
  for (const el of [$("signin-heading"), $("signin-intro"), document.querySelector("title")]) el.removeAttribute("data-i18n");
  const title = () => { document.title = t("handover.title", { app }); };
  title();
  onChange(title);
  render($("handover-heading"), "handover.checking", { app });
  render($("handover-cancel"), "handover.cancel", { app });
  render($("stepup-cancel"), "handover.cancel", { app });
  render($("elsewhere-text"), "handover.elsewhere", { app });
  $("handover-cancel").hidden = false;
}

onChange(() => { if (consentScopes) drawScopes(); });

// --- Steps ------------------------------------------------------------------------

function signInStep(again) {
  const app = appName();
  leaving = false;
  if (again) {
    render($("signin-heading"), "handover.reauthHeading");
    render($("signin-intro"), "handover.reauthIntro", { app });
  } else {
    render($("signin-heading"), "handover.heading", { app });
    render($("signin-intro"), "handover.intro", { app });
  }
  const user = currentUser();
  const hint = again && user ? user.email : req.login_hint;
  if (hint && !$("email").value) {
    $("email").value = hint;
    $("email").dispatchEvent(new Event("input"));
  }
  remember();
  showSignIn();
}

function consentStep(scopes) {
  const app = appName();
  leaving = false;
  clearMessages();
  render($("consent-heading"), "consent.heading", { app });
  render($("consent-will"), "consent.willSee", { app });
  const user = currentUser();
  $("consent-as").hidden = !user;
  if (user) render($("consent-as"), "consent.as", { email: strong(user.email) });
  consentScopes = scopes && scopes.length ? scopes : req.scopes;
  drawScopes();
  showStep("step-consent");
}

function drawScopes() {
  $("consent-scopes").replaceChildren(...scopeLines(consentScopes).map((line) => {
    const li = document.createElement("li");
    li.textContent = line;
    return li;
  }));
}

function stepUpStep() {
  const app = appName();
  leaving = false;
  clearMessages();
  render($("stepup-heading"), "stepup.heading", { app });
  render($("stepup-text"), words(req.acr_values).includes("phrh") ? "stepup.phrh" : "stepup.phr", { app });
  render($("stepup-none"), "stepup.noneYet", { app });
  $("stepup-passkey").hidden = !passkeys.supported();
  showStep("step-stepup");
  // A second refusal after a passkey: it was not the kind the app wants.
  if (stepUpTried) fail(new PageError("stepup.notEnough", { app }));
}

// gone says the request cannot be completed here: it is spent or
// expired, or it belongs to another browser (the cookie /oauth2/authorize
// set binds it to the browser the app sent here).
function gone(otherBrowser) {
  forget();
  clearMessages();
  render($("gone-heading"), otherBrowser ? "handover.otherBrowserHeading" : "handover.goneHeading");
  render($("gone-text"), otherBrowser ? "handover.otherBrowser" : "handover.gone");
  showStep("step-gone");
}

function elsewhere() {
  forget();
  clearMessages();
  showStep("step-elsewhere");
}

// stuck shows an error the page cannot get past without trying again.
function stuck(e) {
  if (e instanceof APIError && (e.status === 404 || e.status === 410)) { gone(); return; }
  if (e instanceof APIError && e.code === "other_browser") { gone(true); return; }
  showStep("step-handover");
  $("handover-retry").hidden = false;
  fail(e);
}

// --- Accept, deny, go back ----------------------------------------------------

// accept asks the server to complete the request. Once the person has
// allowed the app here, every later try (after a fresh sign-in or a
// passkey the app asks for) carries that consent.
async function accept(consent) {
  allowed = allowed || consent;
  let r;
  try {
    r = await authed("POST", path("accept"), { consent: allowed });
  } catch (e) {
    await refused(e);
    return;
  }
  go(r.redirect_to);
}

async function refused(e) {
  const code = e instanceof APIError ? e.code : "";
  if (code === "expired" || code === "used" || e.status === 404) { gone(); return; }
  if (code === "other_browser") { gone(true); return; }
  if (silent() && e instanceof APIError && e.status < 500 && e.status > 0) {
    await deny(code === "consent_required" ? "consent_required" : "login_required");
    return;
  }
  switch (code) {
    case "consent_required": consentStep(e.problem.scopes); return;
    case "reauth_required": signInStep(true); return;
    case "step_up_required": stepUpStep(); return;
    // The app's id_token_hint names another person: sign in as them.
    case "account_mismatch": signInStep(false); fail(e); return;
    case "unauthorized": signInStep(false); return;
  }
  stuck(e);
}

// deny answers the app without a sign-in: access_denied when the person
// declines, or error for a prompt=none request.
async function deny(error) {
  let r;
  try {
    r = await request("POST", path("deny"), error ? { error } : undefined, { auth: true });
  } catch (e) {
    stuck(e);
    return;
  }
  go(r.redirect_to);
}

function go(url) {
  leaving = true;
  forget();
  if (channel) channel.postMessage({ id, done: true });
  clearMessages();
  render($("handover-heading"), "handover.returning", { app: appName() });
  $("handover-retry").hidden = true;
  showStep("step-handover");
  // replace: Back from the app skips this spent request.
  location.replace(url);
}

// --- Buttons -------------------------------------------------------------------

function wire() {
  $("handover-retry").addEventListener("click", () => location.reload());
  $("handover-cancel").addEventListener("click", () => busy($("handover-cancel"), () => deny()));
  $("stepup-cancel").addEventListener("click", () => busy($("stepup-cancel"), () => deny()));
  $("consent-allow").addEventListener("click", () => busy($("consent-allow"), () => accept(true)));
  $("consent-deny").addEventListener("click", () => busy($("consent-deny"), () => deny()));
  $("consent-switch").addEventListener("click", () => busy($("consent-switch"), async () => {
    try {
      await signOut();
    } catch (e) {
      fail(e);
      return;
    }
    $("email").value = "";
    signInStep(false);
  }));
  $("stepup-passkey").addEventListener("click", () => busy($("stepup-passkey"), async () => {
    clearMessages();
    const user = currentUser();
    try {
      await passkeys.signIn(user ? { email: user.email } : {});
    } catch (e) {
      fail(e);
      return;
    }
    stepUpTried = true;
    say("signin.signedIn");
    await accept(false);
  }, "common.waitingPasskey"));
}
