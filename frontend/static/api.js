// api.js: a small client for Sesame's JSON API. The access token lives in
// memory only; the refresh token is an HttpOnly cookie JavaScript never sees.

let accessToken = null;

// Plain-word messages for the stable problem codes; never show raw codes.
const messages = {
  bad_request: "Something in the request was not right. Check it and try again.",
  unauthorized: "Please sign in again.",
  forbidden: "That is not allowed.",
  not_found: "That was not found.",
  invalid_code: "That code is not right.",
  expired: "This sign-in has expired. Please start again.",
  used: "This link or code was already used. Please start again.",
  rate_limited: "Too many tries. Please wait a moment and try again.",
  too_large: "That was too large.",
  internal: "Something went wrong on our side. Please try again.",
  unavailable: "The service is busy. Please try again in a moment.",
};

export class APIError extends Error {
  constructor(problem, status) {
    super(problem.detail || messages[problem.code] || "Request failed");
    this.problem = problem;
    this.status = status;
    this.code = problem.code || "internal";
  }
  // friendly is what the page shows.
  get friendly() {
    if (this.code === "invalid_code" && typeof this.problem.attempts_left === "number") {
      return `That code is not right. ${this.problem.attempts_left} attempts left.`;
    }
    return messages[this.code] || this.problem.detail || messages.internal;
  }
}

export function setAccessToken(t) { accessToken = t; }

export async function request(method, path, body, { auth = false } = {}) {
  const headers = { "Accept": "application/json" };
  if (body !== undefined) headers["Content-Type"] = "application/json";
  if (auth && accessToken) headers["Authorization"] = "Bearer " + accessToken;
  let res;
  try {
    res = await fetch(path, { method, headers, credentials: "same-origin",
      body: body === undefined ? undefined : JSON.stringify(body) });
  } catch (e) {
    throw new APIError({ code: "unavailable", detail: "Network error" }, 0);
  }
  if (res.status === 204) return null;
  const data = await res.json().catch(() => ({}));
  if (!res.ok) throw new APIError(data, res.status);
  if (data && data.access_token) accessToken = data.access_token;
  return data;
}

// authed calls an endpoint with the access token, renewing it once through
// the refresh cookie when it is missing or expired.
export async function authed(method, path, body) {
  if (!accessToken) await refresh();
  try {
    return await request(method, path, body, { auth: true });
  } catch (e) {
    if (e.status !== 401) throw e;
    await refresh();
    return request(method, path, body, { auth: true });
  }
}

export async function refresh() {
  return request("POST", "/api/session/refresh");
}

// busy marks a button as working while fn runs.
export async function busy(button, fn) {
  button.disabled = true;
  button.setAttribute("aria-busy", "true");
  try { return await fn(); } finally {
    button.disabled = false;
    button.removeAttribute("aria-busy");
  }
}

export function show(id, text) {
  const el = document.getElementById(id);
  if (el) el.textContent = text || "";
}
