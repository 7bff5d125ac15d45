// scram.js: the browser side of Sesame's password, SCRAM-SHA-256 (RFC 5802,
// RFC 7677) on WebCrypto alone. The password never leaves the browser: to set
// one, the page sends StoredKey and ServerKey derived from it; to sign in, a
// proof bound to a fresh server nonce, so no two logins send the same bytes.
// The server must prove it knows the password's ServerKey too (v=), or the
// login is abandoned. A password alone yields an MFA-pending token; the page
// then completes a second factor.
//
// The module has no imports, so the same file runs in browsers and in Node
// (whose globalThis.crypto.subtle and fetch are the same APIs).

export const MIN_LENGTH = 8;
export const MAX_LENGTH = 128;
export const MIN_ITERATIONS = 600000;
// A server asking for more than this is refused rather than obeyed.
export const MAX_ITERATIONS = 10000000;

const enc = new TextEncoder();
const subtle = () => globalThis.crypto.subtle;

// PasswordError is a password the rules refuse (SECURITY.md rule 27); its
// message is fit to show.
export class PasswordError extends Error {}

// ScramError is a login that failed. status and code come from the server's
// problem response when there was one (code "invalid_credentials" for a
// wrong password, "server_signature" when the server could not prove itself).
export class ScramError extends Error {
  constructor(message, { status = 0, code = "internal", problem = null } = {}) {
    super(message);
    this.status = status;
    this.code = code;
    this.problem = problem;
  }
}

// Characters SASLprep (RFC 4013) maps to nothing (RFC 3454 table B.1) and
// to a space (C.1.2); Go's xdg-go/stringprep applies B.1 first.
const mapsToNothing = /[\u00AD\u034F\u1806\u180B-\u180D\u200B-\u200D\u2060\uFE00-\uFE0F\uFEFF]/gu;
const mapsToSpace = /[\u00A0\u1680\u2000-\u200B\u202F\u205F\u3000]/gu;
// What SASLprep prohibits in its output (RFC 3454 C.1.2–C.9), except
// unassigned code points and the bidi rule, which need Unicode 3.2 tables.
const prohibited = /[\u0000-\u001F\u007F-\u009F\u00A0\u0340\u0341\u06DD\u070F\u1680\u180E\u2000-\u200F\u2028-\u202F\u205F-\u2063\u206A-\u206F\u2FF0-\u2FFB\u3000\uD800-\uDFFF\uE000-\uF8FF\uFDD0-\uFDEF\uFFF9-\uFFFF\u{1D173}-\u{1D17A}\u{E0001}\u{E0020}-\u{E007F}\u{F0000}-\u{10FFFF}]|[\u{1FFFE}\u{1FFFF}\u{2FFFE}\u{2FFFF}\u{3FFFE}\u{3FFFF}\u{4FFFE}\u{4FFFF}\u{5FFFE}\u{5FFFF}\u{6FFFE}\u{6FFFF}\u{7FFFE}\u{7FFFF}\u{8FFFE}\u{8FFFF}\u{9FFFE}\u{9FFFF}\u{AFFFE}\u{AFFFF}\u{BFFFE}\u{BFFFF}\u{CFFFE}\u{CFFFF}\u{DFFFE}\u{DFFFF}\u{EFFFE}\u{EFFFF}]/u;

// preparePassword applies SASLprep as RFC 5802 §2.2 asks (so any standard
// SCRAM client derives the same keys): the mappings above, then Unicode
// NFKC, which also composes (NFC) what was typed decomposed. It enforces the
// length rule on the result: 8 to 128 characters (code points). Paste is
// fine; there are no composition rules (NIST 63B-4 §3.1.1.2).
export function preparePassword(password) {
  if (typeof password !== "string") throw new PasswordError("Enter a password.");
  const prepared = password.replace(mapsToNothing, "").replace(mapsToSpace, " ").normalize("NFKC");
  if (prohibited.test(prepared)) {
    throw new PasswordError("The password contains a control or private-use character. Use letters, digits, spaces and symbols.");
  }
  const length = [...prepared].length;
  if (length < MIN_LENGTH) throw new PasswordError(`Use at least ${MIN_LENGTH} characters.`);
  if (length > MAX_LENGTH) throw new PasswordError(`Use at most ${MAX_LENGTH} characters.`);
  return prepared;
}

function b64encode(bytes) {
  let s = "";
  for (const b of bytes) s += String.fromCharCode(b);
  return btoa(s);
}

function b64decode(s) {
  const bin = atob(s);
  const out = new Uint8Array(bin.length);
  for (let i = 0; i < bin.length; i++) out[i] = bin.charCodeAt(i);
  return out;
}

async function hmac(key, data) {
  const k = await subtle().importKey("raw", key, { name: "HMAC", hash: "SHA-256" }, false, ["sign"]);
  return new Uint8Array(await subtle().sign("HMAC", k, typeof data === "string" ? enc.encode(data) : data));
}

// keys derives RFC 5802 §3's keys from a prepared password.
async function keys(prepared, salt, iterations) {
  const base = await subtle().importKey("raw", enc.encode(prepared), "PBKDF2", false, ["deriveBits"]);
  const salted = new Uint8Array(await subtle().deriveBits({ name: "PBKDF2", hash: "SHA-256", salt, iterations }, base, 256));
  const clientKey = await hmac(salted, "Client Key");
  const storedKey = new Uint8Array(await subtle().digest("SHA-256", clientKey));
  const serverKey = await hmac(salted, "Server Key");
  return { clientKey, storedKey, serverKey };
}

function checkIterations(iterations) {
  if (!Number.isInteger(iterations) || iterations < MIN_ITERATIONS || iterations > MAX_ITERATIONS) {
    throw new ScramError(`The server asked for ${iterations} iterations; want ${MIN_ITERATIONS} to ${MAX_ITERATIONS}.`);
  }
}

// deriveKeys returns what set-password sends for password under the salt
// (standard base64) and iteration count from /api/password/set/begin:
// {stored_key, server_key, iterations}, base64. Neither SaltedPassword nor
// ClientKey leaves this function. Throws PasswordError for a password the
// rules refuse.
export async function deriveKeys(password, saltB64, iterations) {
  const prepared = preparePassword(password);
  checkIterations(iterations);
  const k = await keys(prepared, b64decode(saltB64), iterations);
  return { stored_key: b64encode(k.storedKey), server_key: b64encode(k.serverKey), iterations };
}

// saslName escapes a user name for client-first (RFC 5802 §5.1).
function saslName(s) {
  return s.replace(/=/g, "=3D").replace(/,/g, "=2C");
}

function newNonce() {
  const raw = new Uint8Array(18);
  globalThis.crypto.getRandomValues(raw);
  return b64encode(raw).replace(/\+/g, "-").replace(/\//g, "_");
}

function field(part, name) {
  return part && part.startsWith(name + "=") ? part.slice(name.length + 1) : null;
}

// sameString compares without stopping at the first difference.
function sameString(a, b) {
  if (a.length !== b.length) return false;
  let diff = 0;
  for (let i = 0; i < a.length; i++) diff |= a.charCodeAt(i) ^ b.charCodeAt(i);
  return diff === 0;
}

async function post(fetchFn, url, body) {
  let res;
  try {
    res = await fetchFn(url, {
      method: "POST",
      headers: { "Content-Type": "application/json", "Accept": "application/json" },
      credentials: "same-origin",
      body: JSON.stringify(body),
    });
  } catch (e) {
    throw new ScramError("Network error.", { code: "unavailable" });
  }
  const data = await res.json().catch(() => ({}));
  if (!res.ok) {
    throw new ScramError(data.detail || "Sign-in failed.", { status: res.status, code: data.code || "internal", problem: data });
  }
  return data;
}

// login signs in with email and password by SCRAM-SHA-256 over
// /api/password/login/begin and /finish. It checks the server's signature
// (v=) and throws ScramError code "server_signature" if it is wrong, without
// returning the token. When the login expired between the two steps (410
// expired), it retries once with a fresh nonce. It resolves to the finish
// answer: {mfa_token, mfa_methods, expires_in}; the page then runs the
// second factor. options.baseURL prefixes the paths (default: same origin);
// options.fetch replaces globalThis.fetch.
export async function login(email, password, options = {}) {
  const prepared = preparePassword(password);
  const base = options.baseURL || "";
  const fetchFn = options.fetch || globalThis.fetch.bind(globalThis);
  const user = saslName(String(email).trim());
  let derived = null; // {salt, iterations, keys}: PBKDF2 runs once per salt

  for (let attempt = 0; ; attempt++) {
    const clientNonce = newNonce();
    const bare = `n=${user},r=${clientNonce}`;
    const begin = await post(fetchFn, base + "/api/password/login/begin", { client_first: "n,," + bare });
    const serverFirst = String(begin.server_first || "");
    const [r, s, i, ...rest] = serverFirst.split(",");
    const nonce = field(r, "r"), saltB64 = field(s, "s"), iterations = Number(field(i, "i"));
    if (rest.length || !nonce || !saltB64 || !nonce.startsWith(clientNonce) || nonce.length <= clientNonce.length) {
      throw new ScramError("The server's challenge is malformed.", { code: "bad_server_first" });
    }
    checkIterations(iterations);
    if (!derived || derived.saltB64 !== saltB64 || derived.iterations !== iterations) {
      derived = { saltB64, iterations, keys: await keys(prepared, b64decode(saltB64), iterations) };
    }
    const withoutProof = `c=biws,r=${nonce}`;
    const authMessage = `${bare},${serverFirst},${withoutProof}`;
    const signature = await hmac(derived.keys.storedKey, authMessage);
    const proof = derived.keys.clientKey.map((b, j) => b ^ signature[j]);
    const expected = "v=" + b64encode(await hmac(derived.keys.serverKey, authMessage));
    let finish;
    try {
      finish = await post(fetchFn, base + "/api/password/login/finish", {
        login_id: begin.login_id,
        client_final: `${withoutProof},p=${b64encode(proof)}`,
      });
    } catch (e) {
      if (attempt === 0 && e.status === 410 && e.code === "expired") continue;
      throw e;
    }
    if (typeof finish.server_final !== "string" || !sameString(finish.server_final, expected)) {
      throw new ScramError("The server could not prove it knows your password. Sign-in stopped.", { code: "server_signature" });
    }
    return { mfa_token: finish.mfa_token, mfa_methods: finish.mfa_methods, expires_in: finish.expires_in };
  }
}
