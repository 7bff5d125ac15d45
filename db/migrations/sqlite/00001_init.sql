-- +goose Up
-- Times are Unix milliseconds (BIGINT) in both engines, so the SQL is shared.
CREATE TABLE users (
    id              TEXT PRIMARY KEY,
    email           TEXT NOT NULL UNIQUE,
    webauthn_handle BLOB NOT NULL UNIQUE,
    created_at      BIGINT NOT NULL,
    disabled_at     BIGINT
);

CREATE TABLE sessions (
    id           TEXT PRIMARY KEY,
    user_id      TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    created_at   BIGINT NOT NULL,
    last_used_at BIGINT NOT NULL,
    expires_at   BIGINT NOT NULL,
    auth_time    BIGINT NOT NULL,
    amr          TEXT NOT NULL,
    user_agent   TEXT NOT NULL,
    ip           TEXT NOT NULL,
    revoked_at   BIGINT
);
CREATE INDEX sessions_user ON sessions (user_id);

-- A session is a refresh-token family: each rotation marks the presented
-- token used and adds its successor.
CREATE TABLE refresh_tokens (
    hash       BLOB PRIMARY KEY,
    session_id TEXT NOT NULL REFERENCES sessions (id) ON DELETE CASCADE,
    created_at BIGINT NOT NULL,
    used_at    BIGINT
);
CREATE INDEX refresh_tokens_session ON refresh_tokens (session_id);

-- An emailed one-time secret: a sign-in flow (link and code) or a
-- second-factor code. Only SHA-256(token) and HMAC(code) are stored.
CREATE TABLE email_flows (
    id          TEXT PRIMARY KEY,
    purpose     TEXT NOT NULL,
    email       TEXT NOT NULL,
    subject     TEXT NOT NULL DEFAULT '',
    token_hash  BLOB UNIQUE,
    code_mac    BLOB NOT NULL,
    attempts    INTEGER NOT NULL DEFAULT 0,
    sends       INTEGER NOT NULL DEFAULT 1,
    created_at  BIGINT NOT NULL,
    expires_at  BIGINT NOT NULL,
    consumed_at BIGINT
);
CREATE INDEX email_flows_email ON email_flows (email, purpose);
CREATE INDEX email_flows_expires ON email_flows (expires_at);

CREATE TABLE signing_keys (
    kid         TEXT PRIMARY KEY,
    algorithm   TEXT NOT NULL,
    private_key BLOB NOT NULL,
    created_at  BIGINT NOT NULL,
    retired_at  BIGINT
);

-- Fixed-window counters shared by every instance.
CREATE TABLE rate_limits (
    key          TEXT NOT NULL,
    window_start BIGINT NOT NULL,
    count        INTEGER NOT NULL,
    expires_at   BIGINT NOT NULL,
    PRIMARY KEY (key, window_start)
);
CREATE INDEX rate_limits_expires ON rate_limits (expires_at);

CREATE TABLE audit_events (
    id            TEXT PRIMARY KEY,
    at            BIGINT NOT NULL,
    event         TEXT NOT NULL,
    result        TEXT NOT NULL,
    method        TEXT NOT NULL,
    user_id       TEXT NOT NULL,
    credential_id TEXT NOT NULL,
    ip            TEXT NOT NULL,
    user_agent    TEXT NOT NULL,
    detail        TEXT NOT NULL
);
CREATE INDEX audit_events_user ON audit_events (user_id, at);

-- +goose Down
DROP TABLE audit_events;
DROP TABLE rate_limits;
DROP TABLE signing_keys;
DROP TABLE email_flows;
DROP TABLE refresh_tokens;
DROP TABLE sessions;
DROP TABLE users;
