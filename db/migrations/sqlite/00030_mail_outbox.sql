-- +goose Up
-- The durable mail outbox (mail.Queue): one row per message, sent by any
-- instance's workers. payload is the sealed draft, wiped once finished.
CREATE TABLE mail_outbox (
    id          TEXT PRIMARY KEY,
    recipient   TEXT NOT NULL,
    payload     BLOB NOT NULL,
    status      TEXT NOT NULL DEFAULT 'queued', -- queued, sent, expired, failed
    attempts    INTEGER NOT NULL DEFAULT 0,
    created_at  BIGINT NOT NULL,
    next_at     BIGINT NOT NULL,
    lease_until BIGINT NOT NULL DEFAULT 0,
    expires_at  BIGINT NOT NULL,
    finished_at BIGINT
);
CREATE INDEX mail_outbox_due ON mail_outbox (status, next_at);

-- +goose Down
DROP TABLE mail_outbox;
