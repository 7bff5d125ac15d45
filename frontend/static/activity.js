// activity.js: the account's recent security events (GET
// /api/me/activity) in plain words: who signed in, how, from which
// device; what was added or removed. Newest first; ten at a time.

import { t, has } from "/static/i18n.js";
import { authed } from "/static/api.js";

const shown = 10;
let events = null; // null: not loaded (or the server has no activity)
let all = false;

// load fetches the events; a failure leaves the panel hidden.
export async function load() {
  try {
    events = (await authed("GET", "/api/me/activity")).events || [];
  } catch {
    events = null;
  }
}

function method(m) {
  return has("activity.method." + m) ? t("activity.method." + m) : t("activity.method.other");
}

// words puts one event into a sentence.
function words(e) {
  const failed = e.result && e.result !== "success";
  const key = "activity." + e.event + (failed ? ".failed" : "");
  if (has(key)) return t(key, { method: method(e.method) });
  return t(failed ? "activity.other.failed" : "activity.other");
}

// draw shows the events in the panel; when and device put a time and a
// User-Agent into words (account.js has them).
export function draw({ when, device }) {
  const panel = document.getElementById("activity-panel");
  panel.hidden = events === null;
  if (events === null) return;
  const list = all ? events : events.slice(0, shown);
  document.getElementById("activity").replaceChildren(...list.map((e) => {
    const li = document.createElement("li");
    li.className = "item" + (e.result && e.result !== "success" ? " failed" : "");
    const what = document.createElement("span");
    what.className = "item-name";
    what.textContent = words(e);
    const meta = document.createElement("p");
    meta.className = "meta";
    // Events no browser caused (an app's request, the sweeper, the
    // administrator) name no device.
    meta.textContent = [when(e.at), e.user_agent || e.ip ? device(e.user_agent) : "", e.ip].filter(Boolean).join(" · ");
    li.append(what, meta);
    return li;
  }));
  document.getElementById("no-activity").hidden = events.length > 0;
  const more = document.getElementById("activity-more");
  more.hidden = all || events.length <= shown;
  more.onclick = () => { all = true; draw({ when, device }); };
}
