// webauthn.js: passkeys and security keys through the browser's WebAuthn
// API and Sesame's /api/webauthn endpoints. Options arrive as the W3C JSON
// forms and credentials leave as PublicKeyCredential.toJSON() makes them;
// for browsers without those methods the conversion is done here.

import { request, authed } from "/static/api.js";

export function supported() {
  return typeof window.PublicKeyCredential === "function" && !!navigator.credentials;
}

// conditionalAvailable reports whether passkeys can be offered in the
// email field's autofill (conditional mediation).
export async function conditionalAvailable() {
  try {
    return supported() && typeof PublicKeyCredential.isConditionalMediationAvailable === "function" &&
      await PublicKeyCredential.isConditionalMediationAvailable();
  } catch {
    return false;
  }
}

// platformAvailable reports whether this device can make a passkey of its
// own (Touch ID, Windows Hello, a phone's screen lock…).
export async function platformAvailable() {
  if (!supported()) return false;
  try {
    if (typeof PublicKeyCredential.getClientCapabilities === "function") {
      const caps = await PublicKeyCredential.getClientCapabilities();
      const v = caps.passkeyPlatformAuthenticator ?? caps.userVerifyingPlatformAuthenticator;
      if (typeof v === "boolean") return v;
    }
    return await PublicKeyCredential.isUserVerifyingPlatformAuthenticatorAvailable();
  } catch {
    return false;
  }
}

const b64url = {
  decode(s) {
    const b = atob(s.replace(/-/g, "+").replace(/_/g, "/") + "===".slice((s.length + 3) % 4));
    return Uint8Array.from(b, (c) => c.charCodeAt(0));
  },
  encode(buf) {
    const bytes = new Uint8Array(buf instanceof ArrayBuffer ? buf : buf.buffer);
    let s = "";
    for (const b of bytes) s += String.fromCharCode(b);
    return btoa(s).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
  },
};

function withIDs(list) {
  return (list || []).map((c) => ({ ...c, id: b64url.decode(c.id) }));
}

function parseRequest(o) {
  if (typeof PublicKeyCredential.parseRequestOptionsFromJSON === "function") {
    return PublicKeyCredential.parseRequestOptionsFromJSON(o);
  }
  return { ...o, challenge: b64url.decode(o.challenge), allowCredentials: withIDs(o.allowCredentials) };
}

function parseCreation(o) {
  if (typeof PublicKeyCredential.parseCreationOptionsFromJSON === "function") {
    return PublicKeyCredential.parseCreationOptionsFromJSON(o);
  }
  return {
    ...o, challenge: b64url.decode(o.challenge), user: { ...o.user, id: b64url.decode(o.user.id) },
    excludeCredentials: withIDs(o.excludeCredentials),
  };
}

function toJSON(cred) {
  if (typeof cred.toJSON === "function") return cred.toJSON();
  const r = cred.response, response = { clientDataJSON: b64url.encode(r.clientDataJSON) };
  if (r.attestationObject) {
    response.attestationObject = b64url.encode(r.attestationObject);
    response.transports = typeof r.getTransports === "function" ? r.getTransports() : [];
  } else {
    response.authenticatorData = b64url.encode(r.authenticatorData);
    response.signature = b64url.encode(r.signature);
    if (r.userHandle) response.userHandle = b64url.encode(r.userHandle);
  }
  return {
    id: cred.id, rawId: b64url.encode(cred.rawId), type: cred.type, response,
    authenticatorAttachment: cred.authenticatorAttachment ?? undefined,
    clientExtensionResults: cred.getClientExtensionResults(),
  };
}

// signIn runs a passkey sign-in and returns the session. Without email it
// is a discoverable (passkey) sign-in; mediation "conditional" waits for
// the user to pick a passkey in the autofill, and signal aborts it. onWait
// runs when the browser starts waiting for the user.
export async function signIn({ email, mediation, signal, onWait } = {}) {
  const begin = await request("POST", "/api/webauthn/login/begin", email ? { email } : {});
  const options = { publicKey: parseRequest(begin.publicKey) };
  if (mediation) options.mediation = mediation;
  if (signal) options.signal = signal;
  const pending = navigator.credentials.get(options);
  if (onWait) onWait();
  const cred = await pending;
  return request("POST", "/api/webauthn/login/finish", { ceremony_id: begin.ceremony_id, credential: toJSON(cred) });
}

// secondFactor confirms a password sign-in with a passkey or security
// key and returns the session.
export async function secondFactor(mfaToken) {
  const begin = await request("POST", "/api/mfa/webauthn/begin", { mfa_token: mfaToken });
  const cred = await navigator.credentials.get({ publicKey: parseRequest(begin.publicKey) });
  return request("POST", "/api/mfa/webauthn/finish", {
    mfa_token: mfaToken, ceremony_id: begin.ceremony_id, credential: toJSON(cred),
  });
}

// approve runs the passkey assertion that approves an app's request
// (API.md "Approvals"): begin answers the ceremony, whose challenge the
// server bound to the request and its message; finish gets
// {ceremony_id, credential}. The two are the emailed link's or the
// session's endpoints.
export async function approve(begin, finish) {
  const ceremony = await begin();
  const cred = await navigator.credentials.get({ publicKey: parseRequest(ceremony.publicKey) });
  return finish({ ceremony_id: ceremony.ceremony_id, credential: toJSON(cred) });
}

// register adds a passkey (authenticator "platform"), a security key
// ("cross-platform") or whatever the browser offers (null) to the signed-in
// account, and returns the new Credential.
export async function register(authenticator = null) {
  const begin = await authed("POST", "/api/webauthn/register/begin", { authenticator });
  const cred = await navigator.credentials.create({ publicKey: parseCreation(begin.publicKey) });
  const res = await authed("POST", "/api/webauthn/register/finish", { ceremony_id: begin.ceremony_id, credential: toJSON(cred) });
  return res.credential;
}

// forget tells the browser's passkey manager that a credential is gone
// from the account, so it stops offering it (WebAuthn L3 §5.1.10). Where
// the browser cannot, nothing happens.
export async function forget(credentialID) {
  try {
    if (supported() && typeof PublicKeyCredential.signalUnknownCredential === "function") {
      await PublicKeyCredential.signalUnknownCredential({ rpId: location.hostname, credentialId: credentialID });
    }
  } catch { /* best effort */ }
}

// The WebAuthn Level 3 signals keep the person's passkey manager in step
// with the account: which passkeys still work here (so it hides the ones
// removed elsewhere) and the name it shows under each. Feature-detected;
// where the browser cannot, nothing happens. userID is the WebAuthn user
// handle (base64url), which is the account id.

// accepted signals the passkeys the account still accepts.
export async function accepted(userID, credentialIDs) {
  try {
    if (supported() && typeof PublicKeyCredential.signalAllAcceptedCredentials === "function") {
      await PublicKeyCredential.signalAllAcceptedCredentials({ rpId: location.hostname, userId: userID, allAcceptedCredentialIds: credentialIDs });
    }
  } catch { /* best effort */ }
}

// userDetails signals the name the passkey manager shows for the account.
export async function userDetails(userID, email) {
  try {
    if (supported() && typeof PublicKeyCredential.signalCurrentUserDetails === "function") {
      await PublicKeyCredential.signalCurrentUserDetails({ rpId: location.hostname, userId: userID, name: email, displayName: email });
    }
  } catch { /* best effort */ }
}
