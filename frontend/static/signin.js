import { request, busy, show } from "/static/api.js";

const $ = (id) => document.getElementById(id);
let flowID = null;

function fail(e) { show("error", e.friendly || String(e)); }

$("email-form").addEventListener("submit", async (ev) => {
  ev.preventDefault();
  show("error", "");
  const email = $("email").value.trim();
  if (!email || !$("email").checkValidity()) { show("error", "Enter a valid email address."); return; }
  await busy($("email-send"), async () => {
    try {
      const r = await request("POST", "/api/email/start", { email });
      flowID = r.flow_id;
      $("sent-to").textContent = email;
      $("email-form").hidden = true;
      $("code-form").hidden = false;
      $("code").focus();
    } catch (e) { fail(e); }
  });
});

$("code").addEventListener("input", () => {
  // Accept pasted codes with spaces or dashes.
  const digits = $("code").value.replace(/\D/g, "").slice(0, 6);
  if (digits !== $("code").value) $("code").value = digits;
});

$("code-form").addEventListener("submit", async (ev) => {
  ev.preventDefault();
  show("error", "");
  await busy($("code-verify"), async () => {
    try {
      await request("POST", "/api/email/verify", { flow_id: flowID, code: $("code").value });
      show("status", "Signed in.");
      location.assign("/account");
    } catch (e) { fail(e); }
  });
});

$("restart").addEventListener("click", () => {
  flowID = null;
  $("code").value = "";
  $("code-form").hidden = true;
  $("email-form").hidden = false;
  $("email").focus();
});
