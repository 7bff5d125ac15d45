// link.js: the magic link's confirm page. The token rides in the fragment,
// which never reaches a server log or a Referer; loading the page spends
// nothing, only the button's POST does (SECURITY rules 14 and 16).

import { setup, render } from "/static/i18n.js";
import { request, APIError } from "/static/api.js";
import { $, busy, say, fail, clearMessages, strong } from "/static/ui.js";
import { afterEmailSignIn } from "/static/offer.js";
import { pendingForLink } from "/static/handover.js";

setup();
const token = new URLSearchParams(location.hash.slice(1)).get("t") || "";
history.replaceState(null, "", location.pathname);

// broken says, in the heading and under it, why this link cannot sign
// in, and points to the sign-in page.
function broken(e) {
  render($("link-heading"), "link.brokenHeading");
  const code = e instanceof APIError ? e.code : "";
  if (code === "bad_request" || code === "" && e.key === "link.incomplete") fail({ key: "link.cut" });
  else if (code === "expired") fail({ key: "link.expired" });
  else if (code === "used") fail({ key: "link.used" });
  else fail(e);
  $("link-back").classList.add("button");
  document.title = $("link-heading").textContent + " · Sesame";
}

async function load() {
  if (!token) {
    broken({ key: "link.incomplete" });
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
    broken(e);
  }
}

$("confirm-button").addEventListener("click", () => busy($("confirm-button"), async () => {
  clearMessages();
  try {
    const session = await request("POST", "/api/email/link", { token });
    say("signin.signedIn");
    await afterEmailSignIn(session);
  } catch (e) {
    if (e instanceof APIError && ["expired", "used", "bad_request"].includes(e.code)) {
      $("confirm").hidden = true;
      broken(e);
    } else fail(e);
  }
}, "common.signingIn"));

load();
