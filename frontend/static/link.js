import { request, busy, show } from "/static/api.js";

const $ = (id) => document.getElementById(id);
// The token rides in the fragment, which never reaches a server log or a
// Referer. Only the button's POST spends it.
const token = new URLSearchParams(location.hash.slice(1)).get("t") || "";
history.replaceState(null, "", location.pathname);

async function load() {
  if (!token) { show("status", ""); show("error", "This link is incomplete. Copy the whole link from the email."); return; }
  try {
    const info = await request("POST", "/api/email/link/info", { token });
    $("masked-email").textContent = info.email;
    show("status", "");
    $("confirm").hidden = false;
    $("confirm-button").focus();
  } catch (e) { show("status", ""); show("error", e.friendly); }
}

$("confirm-button").addEventListener("click", async () => {
  show("error", "");
  await busy($("confirm-button"), async () => {
    try {
      await request("POST", "/api/email/link", { token });
      show("status", "Signed in.");
      location.assign("/account");
    } catch (e) { show("error", e.friendly); }
  });
});

load();
