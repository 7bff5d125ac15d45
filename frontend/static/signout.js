// signout.js: the sign-out page. An app's RP-initiated logout
// (/oauth2/end_session) lands here as /signout?logout=ID: the page asks
// the person, ends the Sesame session, then completes the logout, which
// names where to go back to (the app's post_logout_redirect_uri) or
// nothing ("You are signed out"). Without a logout id it is a plain
// sign-out page. Nobody signed in is not asked anything.

import { setup, render, t } from "/static/i18n.js";
import { request, refresh, signOut, APIError } from "/static/api.js";
import { $, busy, fail, clearMessages, showStep, strong } from "/static/ui.js";

setup();

const logoutID = new URLSearchParams(location.search).get("logout") || "";
let logout = null; // {client} of a logout an app asked for, while it is valid

async function start() {
  if (logoutID) {
    try {
      logout = await request("GET", "/api/oauth2/logout/" + encodeURIComponent(logoutID));
    } catch (e) {
      if (!(e instanceof APIError && (e.status === 404 || e.status === 410))) fail(e);
      else render($("signout-app"), "signout.expired");
      $("signout-app").hidden = false;
    }
  }
  let session = null;
  try {
    session = await refresh();
  } catch { /* not signed in */ }
  document.body.classList.add("ready");
  if (!session) {
    await finish();
    return;
  }
  if (logout && logout.client) {
    render($("signout-app"), "signout.fromApp", { app: strong(logout.client.name || logout.client.id) });
    $("signout-app").hidden = false;
  }
  render($("signout-as"), "account.signedInAs", { email: strong(session.user.email) });
  showStep("step-ask");
}

// finish completes the app's logout, if there is one, and goes back to
// the app or says the person is signed out.
async function finish() {
  let to = null;
  if (logout) {
    try {
      const r = await request("POST", "/api/oauth2/logout/" + encodeURIComponent(logoutID) + "/complete");
      to = r && r.redirect_to;
    } catch (e) {
      if (!(e instanceof APIError && (e.status === 404 || e.status === 410))) fail(e);
    }
  }
  if (to) {
    const app = logout.client ? logout.client.name || logout.client.id : null;
    render($("leaving-heading"), "signout.returning", { app: app || t("signout.anApp") });
    showStep("step-leaving");
    location.replace(to);
    return;
  }
  showStep("step-done");
}

$("signout-yes").addEventListener("click", () => busy($("signout-yes"), async () => {
  clearMessages();
  try {
    await signOut();
  } catch (e) {
    fail(e);
    return;
  }
  await finish();
}));

$("signout-no").addEventListener("click", () => location.assign("/account"));

start();
