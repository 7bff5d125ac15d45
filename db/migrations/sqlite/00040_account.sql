-- +goose Up
-- A display name the user chose (PATCH /api/me); '' when none.
ALTER TABLE users ADD COLUMN name TEXT NOT NULL DEFAULT '';

-- Recovery codes: only HMAC(recovery key, user id ‖ code) is stored. A code
-- is spent by one conditional UPDATE of used_at.
CREATE TABLE recovery_codes (
    user_id    TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    mac        BLOB NOT NULL,
    created_at BIGINT NOT NULL,
    used_at    BIGINT,
    PRIMARY KEY (user_id, mac)
);

-- An authenticator app (TOTP, RFC 6238): the shared secret sealed with
-- AES-256-GCM, and the last time step accepted, so a code works once.
CREATE TABLE totp_secrets (
    user_id    TEXT PRIMARY KEY REFERENCES users (id) ON DELETE CASCADE,
    secret     BLOB NOT NULL,
    last_step  BIGINT NOT NULL,
    created_at BIGINT NOT NULL
);

-- An authenticator app being set up: its sealed secret waits here, for one
-- use, until the first code confirms it.
CREATE TABLE totp_enrollments (
    id          TEXT PRIMARY KEY,
    user_id     TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    secret      BLOB NOT NULL,
    attempts    INTEGER NOT NULL DEFAULT 0,
    created_at  BIGINT NOT NULL,
    expires_at  BIGINT NOT NULL,
    consumed_at BIGINT
);
CREATE INDEX totp_enrollments_expires ON totp_enrollments (expires_at);

-- Guesses of authenticator-app and recovery codes made with one
-- MFA-pending token: at most five (SECURITY rule 28).
CREATE TABLE mfa_code_attempts (
    jti        TEXT PRIMARY KEY,
    attempts   INTEGER NOT NULL,
    expires_at BIGINT NOT NULL
);
CREATE INDEX mfa_code_attempts_expires ON mfa_code_attempts (expires_at);

-- +goose Down
DROP TABLE mfa_code_attempts;
DROP TABLE totp_enrollments;
DROP TABLE totp_secrets;
DROP TABLE recovery_codes;
ALTER TABLE users DROP COLUMN name;
