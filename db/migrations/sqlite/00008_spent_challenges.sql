-- +goose Up
-- A passkey sign-in's challenge is stateless (webauthn ticket.go): begin
-- writes nothing, and the finish's one transaction spends the challenge by
-- inserting its hash here, so a second finish of the same challenge fails
-- on the key. The key leads with the expiry, so inserts append to the
-- index and the sweeper deletes one range of it.
CREATE TABLE spent_challenges (
    expires_at BIGINT NOT NULL,
    hash       BLOB NOT NULL,
    PRIMARY KEY (expires_at, hash)
) WITHOUT ROWID;

-- +goose Down
DROP TABLE spent_challenges;
