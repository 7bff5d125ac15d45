// offer.js: after a sign-in by email, offer a passkey on this device at
// once, when the device can make one and the account has none yet; then
// go on: to the app that asked for the sign-in, else the account page.

import { authed } from "/static/api.js";
import { $, busy, fail, say, clearMessages, showStep, strong } from "/static/ui.js";
import { render } from "/static/i18n.js";
import * as passkeys from "/static/webauthn.js";
import * as handover from "/static/handover.js";
import { leave } from "/static/notes.js";

const home = "/account";

// onward leaves for what comes after the sign-in: the app this page signs
// in to, the app a sign-in in another tab was for (the emailed link), or
// the account page, where done (a text key) is said again.
function onward(done = "signin.signedIn") {
  if (handover.active()) return handover.signedIn();
  const pending = handover.pendingForLink();
  if (!pending) leave(done);
  return location.assign(pending ? handover.resumeURL(pending) : home);
}
const skipKey = (userID) => "sesame.passkeyOffer.skipped." + userID;

function skipped(userID) {
  try { return localStorage.getItem(skipKey(userID)) !== null; } catch { return false; }
}

// afterEmailSignIn continues a sign-in by email (session is its answer):
// to the passkey offer, or on to the account page.
export async function afterEmailSignIn(session) {
  const userID = session.user.id;
  try {
    if (skipped(userID) || !(await passkeys.platformAvailable())) return onward();
    const me = await authed("GET", "/api/me");
    if (me.credentials.length > 0) return onward();
  } catch {
    return onward();
  }
  clearMessages();
  // The "you're in" moment comes first; the offer is a next step.
  render($("offer-as"), "signedin.as", { email: strong(session.user.email) });
  showStep("step-offer");
  $("offer-add").onclick = () => busy($("offer-add"), async () => {
    clearMessages();
    try {
      await passkeys.register("platform");
      say("offer.added");
      onward("offer.added");
    } catch (e) {
      fail(e);
    }
  }, "common.waitingPasskey");
  $("offer-skip").onclick = () => {
    try { localStorage.setItem(skipKey(userID), new Date().toISOString()); } catch { /* storage blocked */ }
    onward();
  };
}
