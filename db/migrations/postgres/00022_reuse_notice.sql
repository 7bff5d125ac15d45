-- +goose Up
-- When the owner was told that this session's refresh token was replayed:
-- one notice per session family (SECURITY rule 57).
ALTER TABLE sessions ADD COLUMN reuse_noticed_at BIGINT;

-- +goose Down
ALTER TABLE sessions DROP COLUMN reuse_noticed_at;
