import { authed, request, busy, show } from "/static/api.js";

const $ = (id) => document.getElementById(id);

async function load() {
  try {
    const me = await authed("GET", "/api/me");
    $("user-email").textContent = me.user.email;
    const list = $("sessions");
    list.replaceChildren();
    for (const s of me.sessions) {
      const li = document.createElement("li");
      li.textContent = `${s.user_agent || "Unknown device"} · last used ${new Date(s.last_used_at).toLocaleString()}` +
        (s.current ? " · this device" : "");
      list.append(li);
    }
    show("status", "");
    $("account").hidden = false;
  } catch (e) {
    if (e.status === 401) { location.assign("/signin"); return; }
    show("status", ""); show("error", e.friendly);
  }
}

$("sign-out").addEventListener("click", () => busy($("sign-out"), async () => {
  try { await request("POST", "/api/session/logout"); location.assign("/signin"); } catch (e) { show("error", e.friendly); }
}));

$("sign-out-all").addEventListener("click", () => busy($("sign-out-all"), async () => {
  try { await authed("POST", "/api/session/logout-all"); location.assign("/signin"); } catch (e) { show("error", e.friendly); }
}));

load();
