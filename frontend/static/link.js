// link.js: the magic link's confirm page. The token rides in the fragment,
// which never reaches a server log or a Referer; loading the page spends
// nothing, only the button's POST does (SECURITY rules 14 and 16).

import { setup, render } from "/static/i18n.js";
import { request } from "/static/api.js";
import { $, busy, say, fail, clearMessages, strong } from "/static/ui.js";
import { afterEmailSignIn } from "/static/offer.js";
import { pendingForLink } from "/static/handover.js";

setup();
const token = new URLSearchParams(location.hash.slice(1)).get("t") || "";
history.replaceState(null, "", location.pathname);

async function load() {
  if (!token) {
    fail({ key: "link.incomplete" });
    return;
  }
  say("link.checking");
  try {
    const info = await request("POST", "/api/email/link/info", { token });
    say(null);
    render($("signing-in-as"), "link.signingInAs", { email: strong(info.email) });
    const pending = pendingForLink(); // an app this browser is signing in to
    if (pending) {
      render($("link-app"), "link.forApp", { app: pending.app });
      $("link-app").hidden = false;
    }
    $("confirm").hidden = false;
    $("confirm-button").focus();
  } catch (e) {
    say(null);
    fail(e);
  }
}

$("confirm-button").addEventListener("click", () => busy($("confirm-button"), async () => {
  clearMessages();
  try {
    const session = await request("POST", "/api/email/link", { token });
    say("signin.signedIn");
    await afterEmailSignIn(session);
  } catch (e) {
    fail(e);
  }
}, "common.signingIn"));

load();
