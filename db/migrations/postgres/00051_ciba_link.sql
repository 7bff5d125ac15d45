-- +goose Up
-- The approval link the person is emailed (/approve#t=…): only SHA-256 of
-- its token is stored. It shows the request, denies it, or starts the
-- passkey assertion that approves it; a decision made through it sets
-- link_used_at in the same conditional UPDATE, so the link works once.
-- NULL for requests that named nobody (no mail goes out).
ALTER TABLE ciba_requests ADD COLUMN link_hash BYTEA;
ALTER TABLE ciba_requests ADD COLUMN link_used_at BIGINT;
-- status may now also be expired: a pending request found past its
-- expiry is marked so by one conditional UPDATE, whose winner records the
-- audit event, so the event is recorded once.
CREATE UNIQUE INDEX ciba_requests_link ON ciba_requests (link_hash);

-- +goose Down
DROP INDEX ciba_requests_link;
ALTER TABLE ciba_requests DROP COLUMN link_used_at;
ALTER TABLE ciba_requests DROP COLUMN link_hash;
