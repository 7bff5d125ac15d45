-- +goose Up
-- Consecutive failures per subject, for the password tarpit.
CREATE TABLE failures (
    key     TEXT PRIMARY KEY,
    count   INTEGER NOT NULL,
    last_at BIGINT NOT NULL
);

-- +goose Down
DROP TABLE failures;
