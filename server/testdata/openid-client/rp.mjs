// rp.mjs: a relying party built on openid-client (vendored here), driven
// by server.TestOpenIDClientNode. It speaks JSON lines: it prints the
// authorization URL, reads the callback URL the browser lands on (the Go
// test signs the person in and accepts), then redeems the code, validates
// the ID token, calls userinfo and refreshes, and prints what it got.
// Any failure exits non-zero with the error on stderr.
import * as client from "openid-client";
import { createInterface } from "node:readline";

const { issuer, clientId, clientSecret, alg, scope } = JSON.parse(process.argv[2]);
const lines = createInterface({ input: process.stdin })[Symbol.asyncIterator]();
const say = (v) => process.stdout.write(JSON.stringify(v) + "\n");

// The test server speaks plain http on localhost.
const options = { execute: [client.allowInsecureRequests] };
const auth = clientSecret ? client.ClientSecretBasic(clientSecret) : client.None();
const config = await client.discovery(new URL(issuer), clientId,
  { id_token_signed_response_alg: alg }, auth, options);

const verifier = client.randomPKCECodeVerifier();
const state = client.randomState();
const nonce = client.randomNonce();
const url = client.buildAuthorizationUrl(config, {
  redirect_uri: "https://app.example.com/callback",
  scope,
  state,
  nonce,
  code_challenge: await client.calculatePKCECodeChallenge(verifier),
  code_challenge_method: "S256",
});
say({ authorization_url: url.href });

const { value: callback } = await lines.next();
const tokens = await client.authorizationCodeGrant(config, new URL(callback.trim()), {
  pkceCodeVerifier: verifier,
  expectedState: state,
  expectedNonce: nonce,
  idTokenExpected: true,
});
const claims = tokens.claims();
const userinfo = await client.fetchUserInfo(config, tokens.access_token, claims.sub);
const refreshed = await client.refreshTokenGrant(config, tokens.refresh_token);
const after = refreshed.claims();
say({
  claims,
  userinfo,
  token_type: tokens.token_type,
  scope: tokens.scope,
  refreshed: {
    rotated: refreshed.refresh_token !== tokens.refresh_token,
    new_access: refreshed.access_token !== tokens.access_token,
    sub: after && after.sub,
  },
});
process.exit(0);
