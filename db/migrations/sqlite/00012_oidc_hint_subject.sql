-- +goose Up
-- The person an authorization request's id_token_hint names (its sub,
-- checked at authorize); accept refuses anyone else, and a prompt=none
-- request then answers login_required (OpenID Connect Core §3.1.2.1).
-- Empty when the request carried no hint.
ALTER TABLE oauth_requests ADD COLUMN hint_subject TEXT NOT NULL DEFAULT '';

-- +goose Down
ALTER TABLE oauth_requests DROP COLUMN hint_subject;
