// api.js: a small client for Sesame's JSON API. The access token lives in
// this module's memory only; the refresh token is an HttpOnly cookie that
// JavaScript never sees, spent through /api/session/refresh.

import { t } from "/static/i18n.js";
import { hadSession } from "/static/notes.js";

let accessToken = null;
let expiresAt = 0; // ms since the epoch
let refreshing = null;
let user = null; // the user of the latest session answer

// Problem codes the pages put into words; anything else is "internal".
const known = new Set(["bad_request", "unauthorized", "forbidden", "not_found", "conflict", "invalid_code",
  "expired", "used", "invalid_credentials", "ceremony_failed", "rate_limited", "too_large",
  "reauth_required", "other_browser", "internal", "unavailable"]);

// APIError is an RFC 9457 problem the server answered, or a network
// failure (code "unavailable", status 0).
export class APIError extends Error {
  constructor(problem, status, retryAfter = 0) {
    super(problem.detail || problem.title || problem.code || "request failed");
    this.problem = problem;
    this.status = status;
    this.code = problem.code || (status >= 500 ? "internal" : "bad_request");
    this.retryAfter = retryAfter; // seconds, from Retry-After
  }
}

// friendly puts any error a page can meet into plain words: a problem
// from the API, a WebAuthn DOMException, or a page's own check (an Error
// with a key).
export function friendly(e) {
  if (e instanceof APIError) {
    if (e.code === "invalid_code" && typeof e.problem.attempts_left === "number") {
      return t("err.invalid_code_left", { n: e.problem.attempts_left });
    }
    if (e.code === "rate_limited" && e.retryAfter > 0) {
      return e.retryAfter < 120 ? t("err.rate_limited_s", { s: e.retryAfter })
        : t("err.rate_limited_m", { m: Math.ceil(e.retryAfter / 60) });
    }
    return t("err." + (known.has(e.code) ? e.code : "internal"));
  }
  if (e && e.key) return t(e.key, e.vars);
  // scram.js: ScramError carries the server's code, PasswordError a rule.
  if (e instanceof Error && e.constructor.name === "ScramError") {
    if (e.code === "server_signature") return t("err.password_proof");
    return t("err." + (known.has(e.code) ? e.code : "internal"));
  }
  if (e instanceof Error && e.constructor.name === "PasswordError") {
    if (/at least/.test(e.message)) return t("err.password_short");
    if (/at most/.test(e.message)) return t("err.password_long");
    return t("err.password_chars");
  }
  switch (e && e.name) {
    case "NotAllowedError": case "AbortError": return t("err.passkey_cancelled");
    case "InvalidStateError": return t("err.passkey_exists");
    case "SecurityError": case "NotSupportedError": return t("err.passkey_unsupported");
  }
  console.error(e);
  return t("err.internal");
}

// PageError is a check the page makes itself; key names its words.
export class PageError extends Error {
  constructor(key, vars) { super(key); this.key = key; this.vars = vars; }
}

export function setAccessToken(token, expiresIn) {
  accessToken = token;
  if (!token) user = null;
  expiresAt = token ? Date.now() + (expiresIn || 600) * 1000 : 0;
}

export function hasAccessToken() { return accessToken !== null; }

// currentUser is the user ({id, email}) of the session this page holds,
// or null.
export function currentUser() { return accessToken ? user : null; }

// request sends one JSON request. A session in the answer (any completed
// sign-in) becomes the current access token.
export async function request(method, path, body, { auth = false } = {}) {
  const headers = { "Accept": "application/json" };
  if (body !== undefined) headers["Content-Type"] = "application/json";
  if (auth && accessToken) headers["Authorization"] = "Bearer " + accessToken;
  let res;
  try {
    res = await fetch(path, {
      method, headers, credentials: "same-origin", cache: "no-store",
      body: body === undefined ? undefined : JSON.stringify(body),
    });
  } catch {
    throw new APIError({ code: "unavailable" }, 0);
  }
  if (res.status === 204) return null;
  const data = await res.json().catch(() => ({}));
  if (!res.ok) throw new APIError(data, res.status, parseInt(res.headers.get("Retry-After") || "0", 10) || 0);
  if (data && data.access_token) {
    setAccessToken(data.access_token, data.expires_in);
    if (data.user) user = data.user;
    hadSession(true);
  }
  return data;
}

// authed calls an endpoint with the access token, renewing it through the
// refresh cookie when it is missing, about to run out, or refused.
export async function authed(method, path, body) {
  if (!accessToken || Date.now() > expiresAt - 30_000) await refresh();
  try {
    return await request(method, path, body, { auth: true });
  } catch (e) {
    if (e.status !== 401) throw e;
    await refresh();
    return request(method, path, body, { auth: true });
  }
}

// refresh renews the session. A refresh token is single-use and a reused
// one ends the whole session, so refreshes never overlap: one at a time
// in this page, and one at a time across the site's tabs (Web Locks).
export function refresh() {
  if (!refreshing) {
    const run = () => request("POST", "/api/session/refresh");
    const locked = navigator.locks ? navigator.locks.request("sesame-refresh", run) : run();
    refreshing = locked.finally(() => { refreshing = null; });
  }
  return refreshing;
}

// signOut ends this browser's session, named by its refresh cookie.
export async function signOut() {
  try {
    await request("POST", "/api/session/logout");
  } finally {
    setAccessToken(null);
    hadSession(false);
  }
}
