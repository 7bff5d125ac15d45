package db

import (
	"context"
	"fmt"
	"time"

	"github.com/sesame-auth/sesame"
)

// SpendChallenge records that the stateless challenge whose hash is given,
// valid until expires, has been used: it answers an error with code
// sesame.EConflict when it was already. ON CONFLICT keeps the second use
// from failing the statement, which on PostgreSQL would abort the
// transaction it runs in. A failed finish spends its challenge this way at
// once; a sign-in spends it in its own transaction (Tx.SpendChallenge).
func (db *DB) SpendChallenge(ctx context.Context, hash []byte, expires time.Time) error {
	return spendChallenge(ctx, db, hash, expires)
}

// SpendChallenge is DB.SpendChallenge inside the sign-in transaction: of
// two sign-ins that verified the same challenge, only one commits.
func (tx *Tx) SpendChallenge(ctx context.Context, hash []byte, expires time.Time) error {
	return spendChallenge(ctx, tx, hash, expires)
}

func spendChallenge(ctx context.Context, ex execer, hash []byte, expires time.Time) error {
	res, err := ex.exec(ctx, `INSERT INTO spent_challenges (expires_at, hash) VALUES (?, ?)
		ON CONFLICT (expires_at, hash) DO NOTHING`, ms(expires), hash)
	if err != nil {
		return fmt.Errorf("spend challenge: %w", err)
	}
	if n, _ := res.RowsAffected(); n != 1 {
		return fmt.Errorf("spend challenge: %w", sesame.Errorf(sesame.EConflict, "Already used."))
	}
	return nil
}

// SweepSpentChallenges deletes the spent challenges that expired before
// now-keep: past its expiry a challenge is refused whether spent or not.
func (db *DB) SweepSpentChallenges(ctx context.Context, now time.Time, keep time.Duration) (int64, error) {
	res, err := db.exec(ctx, `DELETE FROM spent_challenges WHERE expires_at < ?`, ms(now.Add(-keep)))
	if err != nil {
		return 0, fmt.Errorf("sweep spent challenges: %w", err)
	}
	n, _ := res.RowsAffected()
	return n, nil
}
