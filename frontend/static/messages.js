// messages.js: each message next to its cause. An error about a field
// sits under it, in the element named by the field's id + "-error": the
// field's aria-describedby names that element and aria-invalid marks the
// field, and the message goes as soon as the person types. An error or a
// confirmation about an action sits next to its button.

import { render, clear } from "/static/i18n.js";
import { friendly } from "/static/api.js";

const slot = (field) => document.getElementById(field.id + "-error");

// fieldError shows e (an error, or {key, vars}) under field and marks it
// invalid; it returns field, for a focus().
export function fieldError(field, e) {
  const el = slot(field);
  if (e && e.key && !(e instanceof Error)) render(el, e.key, e.vars);
  else el.textContent = friendly(e);
  field.setAttribute("aria-invalid", "true");
  return field;
}

// clearField takes field's message away.
export function clearField(field) {
  const el = slot(field);
  if (el) clear(el);
  field.removeAttribute("aria-invalid");
}

// watch clears field's message as the person types.
export function watch(field) {
  field.addEventListener("input", () => clearField(field));
}

// note puts a message (an error or {key, vars}) in the element id next
// to an action; null empties it.
export function note(id, e) {
  const el = document.getElementById(id);
  if (!e) clear(el);
  else if (e.key && !(e instanceof Error)) render(el, e.key, e.vars);
  else el.textContent = friendly(e);
}
