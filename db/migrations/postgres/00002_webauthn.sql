-- +goose Up
-- A passkey or security key: the whole WebAuthn credential record. The
-- primary key makes credential ids unique across all users (WebAuthn L3
-- §7.1 step 25, SECURITY rule 6).
CREATE TABLE webauthn_credentials (
    id                 BYTEA PRIMARY KEY CHECK (length(id) BETWEEN 1 AND 1023),
    user_id            TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    name               TEXT NOT NULL,
    public_key         BYTEA NOT NULL,
    sign_count         BIGINT NOT NULL,
    aaguid             BYTEA NOT NULL,
    transports         TEXT NOT NULL,
    attachment         TEXT NOT NULL,
    attestation_type   TEXT NOT NULL,
    attestation_format TEXT NOT NULL,
    user_verified      BOOLEAN NOT NULL,
    backup_eligible    BOOLEAN NOT NULL,
    backup_state       BOOLEAN NOT NULL,
    created_at         BIGINT NOT NULL,
    last_used_at       BIGINT
);
CREATE INDEX webauthn_credentials_user ON webauthn_credentials (user_id, created_at);

-- One WebAuthn ceremony between begin and finish: go-webauthn's session
-- data stored whole, single-use, bound to its type and user.
CREATE TABLE webauthn_ceremonies (
    id          TEXT PRIMARY KEY,
    type        TEXT NOT NULL,
    user_id     TEXT NOT NULL,
    session     BYTEA NOT NULL,
    created_at  BIGINT NOT NULL,
    expires_at  BIGINT NOT NULL,
    consumed_at BIGINT
);
CREATE INDEX webauthn_ceremonies_expires ON webauthn_ceremonies (expires_at);

-- +goose Down
DROP TABLE webauthn_ceremonies;
DROP TABLE webauthn_credentials;
