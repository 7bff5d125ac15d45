-- +goose Up
-- A password as SCRAM-SHA-256 keeps it (RFC 5802 §3, RFC 7677): the salt and
-- iteration count the client derives with, StoredKey = H(ClientKey) and
-- ServerKey. Never SaltedPassword or ClientKey (SECURITY rule 20).
CREATE TABLE passwords (
    user_id    TEXT PRIMARY KEY REFERENCES users (id) ON DELETE CASCADE,
    salt       BLOB NOT NULL,
    iterations INTEGER NOT NULL,
    stored_key BLOB NOT NULL,
    server_key BLOB NOT NULL,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);

-- A password being set: the server-chosen salt waits here, for one use,
-- until the browser sends the keys it derived from it.
CREATE TABLE password_sets (
    id          TEXT PRIMARY KEY,
    user_id     TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    salt        BLOB NOT NULL,
    iterations  INTEGER NOT NULL,
    created_at  BIGINT NOT NULL,
    expires_at  BIGINT NOT NULL,
    consumed_at BIGINT
);
CREATE INDEX password_sets_expires ON password_sets (expires_at);

-- A SCRAM login between begin and finish: the client-first message and the
-- server nonce, so that any instance can finish it. user_id is NULL when the
-- address has no account or no password; such a login always fails.
CREATE TABLE scram_logins (
    id           TEXT PRIMARY KEY,
    user_id      TEXT REFERENCES users (id) ON DELETE CASCADE,
    client_first TEXT NOT NULL,
    server_nonce TEXT NOT NULL,
    created_at   BIGINT NOT NULL,
    expires_at   BIGINT NOT NULL,
    consumed_at  BIGINT
);
CREATE INDEX scram_logins_expires ON scram_logins (expires_at);

-- MFA-pending tokens that may not be used again: they produced a session,
-- or their codes ran out of attempts. The primary key makes spending one a
-- single conditional write.
CREATE TABLE mfa_tokens_used (
    jti        TEXT PRIMARY KEY,
    user_id    TEXT NOT NULL,
    reason     TEXT NOT NULL,
    used_at    BIGINT NOT NULL,
    expires_at BIGINT NOT NULL
);
CREATE INDEX mfa_tokens_used_expires ON mfa_tokens_used (expires_at);

-- +goose Down
DROP TABLE mfa_tokens_used;
DROP TABLE scram_logins;
DROP TABLE password_sets;
DROP TABLE passwords;
