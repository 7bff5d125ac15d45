// offer.js: after a sign-in by email, offer a passkey on this device at
// once, when the device can make one and the account has none yet.

import { authed } from "/static/api.js";
import { $, busy, fail, say, clearMessages, showStep } from "/static/ui.js";
import * as passkeys from "/static/webauthn.js";

const home = "/account";
const skipKey = (userID) => "sesame.passkeyOffer.skipped." + userID;

function skipped(userID) {
  try { return localStorage.getItem(skipKey(userID)) !== null; } catch { return false; }
}

// afterEmailSignIn continues a sign-in by email (session is its answer):
// to the passkey offer, or on to the account page.
export async function afterEmailSignIn(session) {
  const userID = session.user.id;
  try {
    if (skipped(userID) || !(await passkeys.platformAvailable())) return location.assign(home);
    const me = await authed("GET", "/api/me");
    if (me.credentials.length > 0) return location.assign(home);
  } catch {
    return location.assign(home);
  }
  clearMessages();
  showStep("step-offer");
  $("offer-add").onclick = () => busy($("offer-add"), async () => {
    clearMessages();
    try {
      await passkeys.register("platform");
      say("offer.added");
      location.assign(home);
    } catch (e) {
      fail(e);
    }
  }, "common.waitingPasskey");
  $("offer-skip").onclick = () => {
    try { localStorage.setItem(skipKey(userID), new Date().toISOString()); } catch { /* storage blocked */ }
    location.assign(home);
  };
}
