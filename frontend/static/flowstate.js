// flowstate.js: where a sign-in by email stands, kept so that nobody is
// lost. Phones reload a background tab while the person reads their mail;
// asking again would replace the code and use one of the three sends. So
// the flow (its id, the address, when it ends, when a new code may be
// asked for) lives in this tab's sessionStorage, and each step is an entry
// in the browser's history: a reload comes back to the same step, Back
// goes to the previous one.

const storeKey = "sesame.signin.flow";

// save keeps the flow of this tab: {flowID, email, until, resendAt}, the
// times in ms since the epoch.
export function save(flow) {
  try {
    sessionStorage.setItem(storeKey, JSON.stringify(flow));
  } catch { /* storage blocked: a reload then starts over */ }
}

// load returns the tab's flow while it can still be finished, else null.
export function load() {
  try {
    const f = JSON.parse(sessionStorage.getItem(storeKey) || "null");
    if (f && typeof f.flowID === "string" && typeof f.email === "string" &&
        typeof f.until === "number" && f.until > Date.now()) return f;
  } catch { /* storage blocked or garbled */ }
  return null;
}

// clear forgets the flow: it was finished, or the person started over.
export function clear() {
  try { sessionStorage.removeItem(storeKey); } catch { /* storage blocked */ }
}

// step is the step the current history entry stands for ("email" when
// the entry has none).
export function step() {
  const s = history.state;
  return (s && typeof s.step === "string" && s.step) || "email";
}

// enter makes step a new history entry, so Back leaves it for the step
// before; entering the step the entry already is does nothing.
export function enter(name) {
  if (step() === name) return;
  history.pushState({ ...(history.state || {}), step: name }, "", location.href);
}

// replace makes the current history entry stand for step name.
export function replace(name) {
  history.replaceState({ ...(history.state || {}), step: name }, "", location.href);
}

// onMove calls fn with the step of the entry Back or Forward went to.
export function onMove(fn) {
  addEventListener("popstate", () => fn(step()));
}
