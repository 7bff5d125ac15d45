package db

import (
	"context"
	"database/sql"
	"fmt"
	"time"

	"github.com/sesame-auth/sesame"
)

const ceremonyColumns = `id, type, user_id, session, created_at, expires_at, consumed_at`

func scanCeremony(row interface{ Scan(...any) error }) (sesame.Ceremony, error) {
	var c sesame.Ceremony
	var created, expires int64
	var consumed sql.NullInt64
	if err := row.Scan(&c.ID, &c.Type, &c.UserID, &c.Session, &created, &expires, &consumed); err != nil {
		return sesame.Ceremony{}, err
	}
	c.CreatedAt, c.ExpiresAt, c.ConsumedAt = fromMS(created), fromMS(expires), nullMS(consumed)
	return c, nil
}

// CreateCeremony stores a new WebAuthn ceremony.
func (db *DB) CreateCeremony(ctx context.Context, c sesame.Ceremony) error {
	if _, err := db.exec(ctx, `INSERT INTO webauthn_ceremonies (`+ceremonyColumns+`) VALUES (?, ?, ?, ?, ?, ?, NULL)`,
		c.ID, c.Type, c.UserID, c.Session, ms(c.CreatedAt), ms(c.ExpiresAt)); err != nil {
		return fmt.Errorf("create ceremony: %w", err)
	}
	return nil
}

// ConsumeCeremony spends the live ceremony id and returns it, whatever the
// outcome of the finish that follows (SECURITY rule 1). One conditional
// UPDATE, so of two concurrent finishes only one gets the ceremony; the
// other, and any finish after it has expired, gets sesame.ErrNotFound.
func (db *DB) ConsumeCeremony(ctx context.Context, id string, now time.Time) (sesame.Ceremony, error) {
	c, err := scanCeremony(db.writeRow(ctx, `UPDATE webauthn_ceremonies SET consumed_at = ?
		WHERE id = ? AND consumed_at IS NULL AND expires_at > ?
		RETURNING `+ceremonyColumns, ms(now), id, ms(now)))
	if err != nil {
		return c, fmt.Errorf("consume ceremony: %w", db.wrap(err))
	}
	return c, nil
}

// Ceremony returns the ceremony id, live or not, or sesame.ErrNotFound; it
// tells an expired ceremony from a used one.
func (db *DB) Ceremony(ctx context.Context, id string) (sesame.Ceremony, error) {
	c, err := scanCeremony(db.queryRow(ctx, `SELECT `+ceremonyColumns+` FROM webauthn_ceremonies WHERE id = ?`, id))
	if err != nil {
		return c, fmt.Errorf("ceremony: %w", db.wrap(err))
	}
	return c, nil
}

// SweepCeremonies deletes ceremonies that expired before now-keep; it
// returns how many (SECURITY rule 41).
func (db *DB) SweepCeremonies(ctx context.Context, now time.Time, keep time.Duration) (int64, error) {
	res, err := db.exec(ctx, `DELETE FROM webauthn_ceremonies WHERE expires_at < ?`, ms(now.Add(-keep)))
	if err != nil {
		return 0, fmt.Errorf("sweep ceremonies: %w", err)
	}
	n, _ := res.RowsAffected()
	return n, nil
}
