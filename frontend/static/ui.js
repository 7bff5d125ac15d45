// ui.js: small helpers the pages share: the working state of buttons,
// status and error lines, steps, code fields and countdowns.

import { t, render, clear, restore } from "/static/i18n.js";
import { friendly } from "/static/api.js";

export const $ = (id) => document.getElementById(id);

const working = new WeakSet();

// busy runs fn while button shows that it works (its label becomes the
// text of labelKey, aria-busy is set). A busy button ignores more clicks
// and keeps its focus: aria-disabled, not disabled. It returns fn's
// result, or undefined if the button was already busy.
export async function busy(button, fn, labelKey = "common.working") {
  if (working.has(button)) return undefined;
  working.add(button);
  const text = button.textContent;
  button.setAttribute("aria-busy", "true");
  button.setAttribute("aria-disabled", "true");
  button.textContent = t(labelKey);
  try {
    return await fn();
  } finally {
    working.delete(button);
    button.removeAttribute("aria-busy");
    button.removeAttribute("aria-disabled");
    restore(button, text);
  }
}

// isBusy reports whether busy runs on button (or a countdown holds it).
export function isBusy(button) { return working.has(button); }

// say puts a message in the polite status line (key and vars for render).
export function say(key, vars, id = "status") {
  const el = $(id);
  if (key) render(el, key, vars); else clear(el);
}

// fail shows e in plain words in the assertive error line.
export function fail(e, id = "error") {
  const el = $(id);
  el.textContent = friendly(e);
}

export function clearMessages(...ids) {
  for (const id of ids.length ? ids : ["status", "error"]) clear($(id));
}

// showStep shows the section id, hides its sibling steps and moves focus
// to its heading so screen readers announce it.
export function showStep(id, focus) {
  for (const s of document.querySelectorAll(".step")) s.hidden = s.id !== id;
  const target = focus ? $(focus) : $(id).querySelector("h1, h2");
  if (target) target.focus();
}

// strong returns a <strong> holding text, for render.
export function strong(text) {
  const b = document.createElement("strong");
  b.textContent = text;
  return b;
}

// codeField keeps input to six digits, so a pasted "123 456" or "Your
// code: 123456" works, and submits form when the sixth digit arrives.
export function codeField(input, form) {
  input.addEventListener("input", () => {
    const digits = input.value.replace(/\D/g, "").slice(0, 6);
    if (digits !== input.value) input.value = digits;
    if (digits.length === 6) form.requestSubmit();
  });
}

// validCode returns the field's six digits, or null.
export function validCode(input) {
  const code = input.value.replace(/\D/g, "");
  return code.length === 6 ? code : null;
}

// clock writes seconds as m:ss ("10:31"), the way a countdown reads.
export function clock(seconds) {
  const s = Math.max(0, Math.ceil(seconds));
  return Math.floor(s / 60) + ":" + String(s % 60).padStart(2, "0");
}

// countdown holds button for seconds, its label counting down with the
// text of key ({t}, as m:ss); then the button works again. It returns a
// stop function.
export function countdown(button, seconds, key = "code.resendIn") {
  working.add(button);
  button.setAttribute("aria-disabled", "true");
  const base = button.dataset.i18n;
  let left = Math.max(1, Math.ceil(seconds));
  const tick = () => {
    if (left <= 0) { stop(); return; }
    render(button, key, { t: clock(left) });
    left--;
  };
  const timer = setInterval(tick, 1000);
  tick();
  function stop() {
    clearInterval(timer);
    working.delete(button);
    button.removeAttribute("aria-disabled");
    clear(button);
    button.textContent = base ? t(base) : "";
  }
  return stop;
}
