-- +goose Up
-- Approvals (OpenID CIBA, poll mode; API.md "Approvals"). Clients opt in.
ALTER TABLE oauth_clients ADD COLUMN ciba INTEGER NOT NULL DEFAULT 0;

-- One backchannel authentication request. Only SHA-256 of the auth_req_id
-- is stored; id is the public name the person's approval calls use.
-- user_id is NULL when the login_hint named nobody: the request then
-- simply never completes. status is pending, approved or denied; the
-- approval and the redemption are each spent by one conditional UPDATE.
CREATE TABLE ciba_requests (
    id              TEXT PRIMARY KEY,
    req_hash        BLOB NOT NULL UNIQUE,
    client_id       TEXT NOT NULL REFERENCES oauth_clients (id) ON DELETE CASCADE,
    user_id         TEXT REFERENCES users (id) ON DELETE CASCADE,
    scopes          TEXT NOT NULL,
    binding_message TEXT NOT NULL,
    acr_values      TEXT NOT NULL,
    status          TEXT NOT NULL,
    amr             TEXT NOT NULL,
    created_at      BIGINT NOT NULL,
    expires_at      BIGINT NOT NULL,
    decided_at      BIGINT,
    last_polled_at  BIGINT,
    redeemed_at     BIGINT
);
CREATE INDEX ciba_requests_user ON ciba_requests (user_id, expires_at);
CREATE INDEX ciba_requests_expires ON ciba_requests (expires_at);

-- +goose Down
DROP TABLE ciba_requests;
ALTER TABLE oauth_clients DROP COLUMN ciba;
