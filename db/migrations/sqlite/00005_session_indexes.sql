-- +goose Up
-- Per-user session state stays bounded and cheap to read (issue 12):
-- the new-device check is two probes of (user_id, user_agent), and the
-- live sessions of a user (at most the cap, 50 by default) are found
-- through a partial index that skips every ended row.
CREATE INDEX sessions_user_agent ON sessions (user_id, user_agent);
CREATE INDEX sessions_live ON sessions (user_id, created_at) WHERE revoked_at IS NULL;
DROP INDEX sessions_user;

-- +goose Down
CREATE INDEX sessions_user ON sessions (user_id);
DROP INDEX sessions_live;
DROP INDEX sessions_user_agent;
