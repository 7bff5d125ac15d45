package db

import (
	"context"
	"fmt"
	"time"

	"github.com/sesame-auth/sesame"
)

// ReplaceRecoveryCodes stores macs as userID's recovery codes, dropping
// every earlier code, used or not, in one transaction.
func (db *DB) ReplaceRecoveryCodes(ctx context.Context, userID string, macs [][]byte, now time.Time) error {
	return db.tx(ctx, func(t *txn) error {
		if _, err := t.exec(ctx, `DELETE FROM recovery_codes WHERE user_id = ?`, userID); err != nil {
			return fmt.Errorf("drop recovery codes: %w", err)
		}
		for _, mac := range macs {
			if _, err := t.exec(ctx, `INSERT INTO recovery_codes (user_id, mac, created_at) VALUES (?, ?, ?)`,
				userID, mac, ms(now)); err != nil {
				return fmt.Errorf("insert recovery code: %w", err)
			}
		}
		return nil
	})
}

// UseRecoveryCode spends userID's unused code whose MAC is mac, by one
// conditional UPDATE; sesame.ErrNotFound when there is none (wrong, already
// used, or someone else's).
func (db *DB) UseRecoveryCode(ctx context.Context, userID string, mac []byte, now time.Time) error {
	res, err := db.exec(ctx, `UPDATE recovery_codes SET used_at = ?
		WHERE user_id = ? AND mac = ? AND used_at IS NULL`, ms(now), userID, mac)
	if err != nil {
		return fmt.Errorf("use recovery code: %w", err)
	}
	if n, _ := res.RowsAffected(); n != 1 {
		return sesame.ErrNotFound
	}
	return nil
}

// RecoveryCodesLeft counts userID's unused recovery codes.
func (db *DB) RecoveryCodesLeft(ctx context.Context, userID string) (int, error) {
	var n int
	if err := db.queryRow(ctx, `SELECT COUNT(*) FROM recovery_codes WHERE user_id = ? AND used_at IS NULL`, userID).Scan(&n); err != nil {
		return 0, fmt.Errorf("recovery codes left: %w", db.wrap(err))
	}
	return n, nil
}
