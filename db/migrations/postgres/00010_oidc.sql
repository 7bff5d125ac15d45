-- +goose Up
-- OpenID Connect provider (API.md "Apps signing their users in").
-- Lists of URIs and scopes are stored space- or newline-separated text.
CREATE TABLE oauth_clients (
    id                        TEXT PRIMARY KEY,
    name                      TEXT NOT NULL,
    secret_hash               BYTEA,
    redirect_uris             TEXT NOT NULL,
    post_logout_redirect_uris TEXT NOT NULL,
    backchannel_logout_uri    TEXT NOT NULL,
    public                    INTEGER NOT NULL,
    trusted                   INTEGER NOT NULL,
    require_pkce              INTEGER NOT NULL,
    id_token_alg              TEXT NOT NULL,
    created_at                BIGINT NOT NULL
);

-- An authorization request between /oauth2/authorize and the /signin page.
CREATE TABLE oauth_requests (
    id             TEXT PRIMARY KEY,
    client_id      TEXT NOT NULL REFERENCES oauth_clients (id) ON DELETE CASCADE,
    redirect_uri   TEXT NOT NULL,
    scopes         TEXT NOT NULL,
    state          TEXT NOT NULL,
    nonce          TEXT NOT NULL,
    code_challenge TEXT NOT NULL,
    prompt         TEXT NOT NULL,
    max_age        BIGINT,
    login_hint     TEXT NOT NULL,
    acr_values     TEXT NOT NULL,
    ui_locales     TEXT NOT NULL,
    created_at     BIGINT NOT NULL,
    expires_at     BIGINT NOT NULL,
    consumed_at    BIGINT
);
CREATE INDEX oauth_requests_expires ON oauth_requests (expires_at);

-- What one authorization gave one client; its tokens die with it.
CREATE TABLE oauth_grants (
    id          TEXT PRIMARY KEY,
    client_id   TEXT NOT NULL REFERENCES oauth_clients (id) ON DELETE CASCADE,
    user_id     TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    session_id  TEXT NOT NULL,
    scopes      TEXT NOT NULL,
    nonce       TEXT NOT NULL,
    auth_time   BIGINT NOT NULL,
    amr         TEXT NOT NULL,
    acr         TEXT NOT NULL,
    created_at  BIGINT NOT NULL,
    redeemed_at BIGINT,
    revoked_at  BIGINT
);
CREATE INDEX oauth_grants_session ON oauth_grants (session_id);
CREATE INDEX oauth_grants_user_client ON oauth_grants (user_id, client_id);

-- Authorization codes: SHA-256 of the code, 60 s, spent once.
CREATE TABLE oauth_codes (
    hash           BYTEA PRIMARY KEY,
    grant_id       TEXT NOT NULL REFERENCES oauth_grants (id) ON DELETE CASCADE,
    client_id      TEXT NOT NULL,
    redirect_uri   TEXT NOT NULL,
    code_challenge TEXT NOT NULL,
    created_at     BIGINT NOT NULL,
    expires_at     BIGINT NOT NULL,
    consumed_at    BIGINT
);
CREATE INDEX oauth_codes_expires ON oauth_codes (expires_at);

-- Client refresh tokens: a family per grant, rotated with reuse detection.
CREATE TABLE oauth_refresh_tokens (
    hash       BYTEA PRIMARY KEY,
    grant_id   TEXT NOT NULL REFERENCES oauth_grants (id) ON DELETE CASCADE,
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL,
    used_at    BIGINT
);
CREATE INDEX oauth_refresh_tokens_grant ON oauth_refresh_tokens (grant_id);

CREATE TABLE oauth_consents (
    user_id      TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    client_id    TEXT NOT NULL REFERENCES oauth_clients (id) ON DELETE CASCADE,
    scopes       TEXT NOT NULL,
    approved_at  BIGINT NOT NULL,
    last_used_at BIGINT,
    PRIMARY KEY (user_id, client_id)
);

-- RP-initiated logout requests waiting for the sign-out page.
CREATE TABLE oauth_logouts (
    id           TEXT PRIMARY KEY,
    client_id    TEXT NOT NULL,
    redirect_uri TEXT NOT NULL,
    state        TEXT NOT NULL,
    created_at   BIGINT NOT NULL,
    expires_at   BIGINT NOT NULL,
    consumed_at  BIGINT
);

-- +goose Down
DROP TABLE oauth_logouts;
DROP TABLE oauth_consents;
DROP TABLE oauth_refresh_tokens;
DROP TABLE oauth_codes;
DROP TABLE oauth_grants;
DROP TABLE oauth_requests;
DROP TABLE oauth_clients;
