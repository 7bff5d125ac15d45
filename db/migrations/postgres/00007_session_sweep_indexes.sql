-- +goose Up
-- The sweeper deletes ended sessions by two index range scans instead of
-- reading the whole table once a minute while holding the writer: with
-- sign-ins capped at 50 live sessions per account, a busy installation
-- keeps a day of ended ones.
CREATE INDEX sessions_expires ON sessions (expires_at);
CREATE INDEX sessions_revoked ON sessions (revoked_at) WHERE revoked_at IS NOT NULL;

-- +goose Down
DROP INDEX sessions_revoked;
DROP INDEX sessions_expires;
