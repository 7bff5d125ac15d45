-- +goose Up
-- Audit rows are swept after their retention (SECURITY rule 54): by time.
CREATE INDEX audit_events_at ON audit_events (at);

-- +goose Down
DROP INDEX audit_events_at;
