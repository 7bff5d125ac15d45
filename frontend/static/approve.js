// approve.js: the page an approval email links to (/approve#t=…). It
// shows which app asks and the message exactly as the server holds it
// (text, never HTML; never read from the link), then approves with a
// passkey whose WebAuthn challenge the server derived from this request
// and message, or denies (SECURITY rule 61). The token rides in the
// fragment, which never reaches a server log or a Referer; loading the
// page spends nothing.

import { setup, render, current } from "/static/i18n.js";
import { request, APIError } from "/static/api.js";
import { $, busy, say, fail, clearMessages, strong, showStep } from "/static/ui.js";
import * as passkeys from "/static/webauthn.js";

setup();
const token = new URLSearchParams(location.hash.slice(1)).get("t") || "";
history.replaceState(null, "", location.pathname);
// Another link opened in this tab changes only the fragment: start over.
addEventListener("hashchange", () => location.reload());
let app = ""; // the asking app's name

// broken says, in the heading and under it, why this request cannot be
// answered (any more).
function broken(e) {
  $("request").hidden = true;
  render($("approve-heading"), "approve.brokenHeading");
  const code = e instanceof APIError ? e.code : "";
  const decision = e instanceof APIError ? e.problem.decision : "";
  if (!token || code === "bad_request") fail({ key: "approve.incomplete" });
  else if (code === "not_found") fail({ key: "approve.notFound" });
  else if (code === "expired") fail({ key: "approve.expired" });
  else if (code === "used") fail({ key: decision === "denied" ? "approve.alreadyDenied" : "approve.alreadyApproved" });
  else fail(e);
  document.title = $("approve-heading").textContent + " · Sesame";
}

// gone reports whether e says the request can no longer be answered.
function gone(e) {
  return e instanceof APIError && ["not_found", "expired", "used"].includes(e.code);
}

function time(iso) {
  return new Intl.DateTimeFormat(current(), { timeStyle: "short" }).format(new Date(iso));
}

async function load() {
  if (!token) {
    broken(null);
    return;
  }
  say("approve.checking");
  try {
    const r = await request("POST", "/api/approvals/link", { token });
    say(null);
    app = r.client.name || r.client.id;
    render($("approve-app"), "approve.asks", { app: strong(app) });
    $("approve-message").textContent = r.binding_message;
    render($("approve-expires"), "approve.expires", { time: time(r.expires_at) });
    render($("approve-check"), "approve.check", { app });
    $("request").hidden = false;
    $("approve-button").focus();
  } catch (e) {
    say(null);
    broken(e);
  }
}

// done shows the last step: approved or denied, and that the page may go.
function done(approved) {
  render($("done-heading"), approved ? "approve.doneHeading" : "approve.deniedHeading");
  render($("done-text"), approved ? "approve.approvedText" : "approve.deniedText", { app: strong(app) });
  document.title = $("done-heading").textContent + " · Sesame";
  showStep("step-done");
}

$("approve-button").addEventListener("click", () => busy($("approve-button"), async () => {
  clearMessages();
  try {
    await passkeys.approve(
      () => request("POST", "/api/approvals/link/begin", { token }),
      (body) => request("POST", "/api/approvals/link/approve", { token, ...body }));
    done(true);
  } catch (e) {
    if (gone(e)) broken(e);
    else if (e instanceof APIError && e.code === "bad_request") fail({ key: "approve.noPasskey" });
    else if (e instanceof APIError && e.code === "step_up_required") fail({ key: "approve.stepUp" });
    else fail(e);
  }
}, "approve.approving"));

$("deny-button").addEventListener("click", () => busy($("deny-button"), async () => {
  clearMessages();
  try {
    await request("POST", "/api/approvals/link/deny", { token });
    done(false);
  } catch (e) {
    if (gone(e)) broken(e);
    else fail(e);
  }
}, "approve.denying"));

load();
