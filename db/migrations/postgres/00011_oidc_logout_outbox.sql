-- +goose Up
-- Back-Channel Logout tokens owed to apps (oidc.Provider's sender): one
-- row per app and ended Sesame session, queued in the transaction that
-- revokes the session's grants, claimed by any instance's worker with a
-- lease, retried with backoff, kept until delivered or given up. The
-- token itself is signed at each attempt: nothing secret is stored.
CREATE TABLE oauth_logout_outbox (
    client_id   TEXT NOT NULL,
    session_id  TEXT NOT NULL,
    user_id     TEXT NOT NULL,
    status      TEXT NOT NULL DEFAULT 'queued', -- queued, delivered, failed
    attempts    INTEGER NOT NULL DEFAULT 0,
    created_at  BIGINT NOT NULL,
    next_at     BIGINT NOT NULL,
    lease_until BIGINT NOT NULL DEFAULT 0,
    finished_at BIGINT,
    PRIMARY KEY (client_id, session_id)
);
CREATE INDEX oauth_logout_outbox_due ON oauth_logout_outbox (status, next_at);

-- +goose Down
DROP TABLE oauth_logout_outbox;
