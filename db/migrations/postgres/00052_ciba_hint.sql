-- +goose Up
-- SHA-256 of the normalised login_hint of a request that named nobody:
-- the cap of pending approvals per person counts these too, so the sixth
-- request for an unknown address is refused like a known person's and the
-- answer tells no app who has an account. NULL when the hint named a
-- person (the cap counts by user_id then).
ALTER TABLE ciba_requests ADD COLUMN hint_hash BYTEA;
CREATE INDEX ciba_requests_hint ON ciba_requests (hint_hash, expires_at) WHERE hint_hash IS NOT NULL;

-- +goose Down
DROP INDEX ciba_requests_hint;
ALTER TABLE ciba_requests DROP COLUMN hint_hash;
