// scopes.js: what an app gets for each OpenID Connect scope, in plain
// words, for the consent screen and the account page's list of apps.

import { t, current } from "/static/i18n.js";

// The scopes Sesame grants, in the order the pages list them.
const order = ["openid", "email", "profile", "offline_access"];

function sorted(scopes) {
  const rank = (s) => (order.includes(s) ? order.indexOf(s) : order.length);
  return [...new Set(scopes || [])].sort((a, b) => rank(a) - rank(b));
}

// scopeLines returns one sentence per scope ("Your email address"); a
// scope Sesame does not know is shown by its name.
export function scopeLines(scopes) {
  return sorted(scopes).map((s) => (order.includes(s) ? t("scope." + s) : s));
}

// scopeList returns the scopes as one short phrase: "your account ID,
// your email address and your name".
export function scopeList(scopes) {
  const words = sorted(scopes).map((s) => (order.includes(s) ? t("scopeShort." + s) : s));
  try {
    return new Intl.ListFormat(current(), { style: "long", type: "conjunction" }).format(words);
  } catch {
    return words.join(", ");
  }
}
