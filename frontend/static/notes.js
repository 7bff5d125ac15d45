// notes.js: what a page says after the move to the next one. A
// confirmation ("Signed in.", "Passkey added.") is left in this tab's
// sessionStorage for the next page to show once; and a mark in
// localStorage remembers that this browser had a session, so a refresh
// that is refused (401) can be told apart from a visit by someone who
// never signed in: "You were signed out because …".

const flashKey = "sesame.flash";
const hadKey = "sesame.hadSession";

// leave keeps key (a text key of i18n.js) for the next page.
export function leave(key) {
  try { sessionStorage.setItem(flashKey, key); } catch { /* storage blocked */ }
}

// take returns the key left for this page, once, or null.
export function take() {
  try {
    const key = sessionStorage.getItem(flashKey);
    sessionStorage.removeItem(flashKey);
    return key;
  } catch {
    return null;
  }
}

// hadSession records whether this browser holds a session (api.js calls
// it on every session answer and at sign-out).
export function hadSession(yes) {
  try {
    if (yes) localStorage.setItem(hadKey, "1"); else localStorage.removeItem(hadKey);
  } catch { /* storage blocked */ }
}

// sessionLost reports, once, whether a session this browser held has
// ended without a sign-out here (ended on another device, or run out).
export function sessionLost() {
  try {
    const had = localStorage.getItem(hadKey) !== null;
    localStorage.removeItem(hadKey);
    return had;
  } catch {
    return false;
  }
}
