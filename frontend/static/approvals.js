// approvals.js: the account page's requests waiting for the person's
// approval (GET /api/approvals; API.md "Approvals"), checked when the page
// opens and every 30 seconds while it is open. Each shows the app and its
// message as text, with Approve (a passkey whose challenge the server bound
// to the request and message) and Deny.

import { t, render, current } from "/static/i18n.js";
import { authed, APIError } from "/static/api.js";
import { $, busy } from "/static/ui.js";
import { note } from "/static/messages.js";
import * as passkeys from "/static/webauthn.js";

const every = 30_000;
let list = null; // null: not loaded, or the server lists none
let acting = false; // an approval under way: the list is not redrawn

async function fetchList() {
  try {
    list = await authed("GET", "/api/approvals");
  } catch {
    list = null;
  }
}

// load fetches the list (account.js awaits it with the rest).
export const load = fetchList;

const ids = () => (list || []).map((a) => a.id).join(" ");

// watch checks again every 30 seconds and redraws when the list changed
// (a redraw would take the focus from a button).
export function watch() {
  setInterval(async () => {
    if (acting) return;
    const before = ids();
    await fetchList();
    if (!acting && ids() !== before) draw();
  }, every);
}

function time(iso) {
  return new Intl.DateTimeFormat(current(), { timeStyle: "short" }).format(new Date(iso));
}

function el(tag, props = {}, ...children) {
  const e = Object.assign(document.createElement(tag), props);
  e.append(...children);
  return e;
}

// draw shows the pending requests; the panel hides when there are none.
export function draw() {
  const items = list || [];
  const said = $("approvals-note");
  $("approvals-panel").hidden = items.length === 0 && !(said && said.textContent);
  $("approvals").replaceChildren(...items.map(item));
}

// said puts the outcome of the last action (a key, or an error) at the
// top of the panel.
function said(what) {
  let n = $("approvals-note");
  if (!n) {
    n = el("p", { className: "note", id: "approvals-note" });
    n.setAttribute("role", "status");
    $("approvals-heading").after(n);
  }
  note("approvals-note", typeof what === "string" ? { key: what } : what);
}

function item(a) {
  const app = a.client.name || a.client.id;
  const approve = el("button", { type: "button", className: "small" }, t("approve.approve"));
  approve.setAttribute("aria-label", t("approvals.approveLabel", { app }));
  const deny = el("button", { type: "button", className: "link danger" }, t("approve.deny"));
  deny.setAttribute("aria-label", t("approvals.denyLabel", { app }));
  const error = el("p", { className: "field-error", id: "approval-" + a.id + "-error" });
  error.setAttribute("role", "alert");
  const msg = el("p", { className: "message" });
  msg.textContent = a.binding_message; // text, never HTML
  const expires = el("p", { className: "meta" });
  render(expires, "approvals.expires", { time: time(a.expires_at) });
  const li = el("li", { className: "item" },
    el("div", { className: "item-main" }, el("span", { className: "item-name" }, app)),
    msg, expires, error, el("div", { className: "item-actions" }, approve, deny));
  li.dataset.id = a.id;
  const path = "/api/approvals/" + encodeURIComponent(a.id);
  approve.addEventListener("click", () => act(approve, "approve.approving", error, () => passkeys.approve(
    () => authed("POST", path + "/begin", {}),
    (body) => authed("POST", path + "/approve", body)), "approvals.approved"));
  deny.addEventListener("click", () => act(deny, "approve.denying", error,
    () => authed("POST", path + "/deny", {}), "approvals.denied"));
  return li;
}

// act runs one decision behind button. Done, or the request gone
// meanwhile (answered elsewhere, expired), the panel says so and the list
// is checked again; any other failure is said under the request.
async function act(button, label, error, fn, doneKey) {
  note(error.id, null);
  said(null);
  acting = true;
  let changed = false;
  try {
    await busy(button, async () => {
      try {
        await fn();
        said(doneKey);
      } catch (e) {
        if (!(e instanceof APIError && ["not_found", "expired", "used"].includes(e.code))) {
          note(error.id, e instanceof APIError && e.code === "bad_request" ? { key: "approve.noPasskey" }
            : e instanceof APIError && e.code === "step_up_required" ? { key: "approve.stepUp" } : e);
          return;
        }
        said(e);
      }
      await fetchList();
      changed = true;
    }, label);
  } finally {
    acting = false;
  }
  if (!changed) return;
  draw();
  $("approvals-heading").focus();
}
