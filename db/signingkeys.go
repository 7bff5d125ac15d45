package db

import (
	"context"
	"database/sql"
	"fmt"
	"time"

	"github.com/sesame-auth/sesame"
)

// SigningKeys returns every stored signing key, oldest first.
func (db *DB) SigningKeys(ctx context.Context) ([]sesame.SigningKey, error) {
	rows, err := db.query(ctx, `SELECT kid, algorithm, private_key, created_at, retired_at FROM signing_keys ORDER BY created_at, kid`)
	if err != nil {
		return nil, fmt.Errorf("signing keys: %w", err)
	}
	defer rows.Close()
	var keys []sesame.SigningKey
	for rows.Next() {
		var k sesame.SigningKey
		var created int64
		var retired sql.NullInt64
		if err := rows.Scan(&k.KID, &k.Algorithm, &k.PrivateKey, &created, &retired); err != nil {
			return nil, fmt.Errorf("signing keys: %w", err)
		}
		k.CreatedAt, k.RetiredAt = fromMS(created), nullMS(retired)
		keys = append(keys, k)
	}
	return keys, db.wrap(rows.Err())
}

// InsertSigningKey stores a new signing key.
func (db *DB) InsertSigningKey(ctx context.Context, k sesame.SigningKey) error {
	if _, err := db.exec(ctx, `INSERT INTO signing_keys (kid, algorithm, private_key, created_at) VALUES (?, ?, ?, ?)`,
		k.KID, k.Algorithm, k.PrivateKey, ms(k.CreatedAt)); err != nil {
		return fmt.Errorf("insert signing key: %w", err)
	}
	return nil
}

// RetireSigningKeys retires every live key of exceptKID's algorithm but
// exceptKID: an ES256 rotation leaves the RS256 key alone, and the other way.
func (db *DB) RetireSigningKeys(ctx context.Context, exceptKID string, at time.Time) error {
	if _, err := db.exec(ctx, `UPDATE signing_keys SET retired_at = ? WHERE kid <> ? AND retired_at IS NULL
		AND algorithm = (SELECT algorithm FROM signing_keys WHERE kid = ?)`, ms(at), exceptKID, exceptKID); err != nil {
		return fmt.Errorf("retire signing keys: %w", err)
	}
	return nil
}
