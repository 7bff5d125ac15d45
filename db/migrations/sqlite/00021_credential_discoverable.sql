-- +goose Up
-- credProps.rk at registration (SECURITY rule 60); NULL when not told.
ALTER TABLE webauthn_credentials ADD COLUMN discoverable BOOLEAN;

-- +goose Down
ALTER TABLE webauthn_credentials DROP COLUMN discoverable;
