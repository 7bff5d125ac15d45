package db

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"
)

// CreateSCRAMLogin stores a SCRAM login between begin and finish: the
// client-first message and the server nonce, so that any instance can
// finish it. userID is "" when the address has no account or no password.
func (db *DB) CreateSCRAMLogin(ctx context.Context, id, userID, clientFirst, serverNonce string, now, expires time.Time) error {
	var user sql.NullString
	if userID != "" {
		user = sql.NullString{String: userID, Valid: true}
	}
	if _, err := db.exec(ctx, `INSERT INTO scram_logins (id, user_id, client_first, server_nonce, created_at, expires_at)
		VALUES (?, ?, ?, ?, ?, ?)`, id, user, clientFirst, serverNonce, ms(now), ms(expires)); err != nil {
		return fmt.Errorf("create scram login: %w", err)
	}
	return nil
}

// ConsumeSCRAMLogin spends the live login id and returns what begin stored.
// One conditional UPDATE, so a login is finished at most once, whatever
// the outcome; sesame.ErrNotFound when it is spent, expired or unknown
// (SCRAMLoginConsumed tells which).
func (db *DB) ConsumeSCRAMLogin(ctx context.Context, id string, now time.Time) (userID, clientFirst, serverNonce string, err error) {
	var user sql.NullString
	err = db.writeRow(ctx, `UPDATE scram_logins SET consumed_at = ?
		WHERE id = ? AND consumed_at IS NULL AND expires_at > ?
		RETURNING user_id, client_first, server_nonce`, ms(now), id, ms(now)).Scan(&user, &clientFirst, &serverNonce)
	if err != nil {
		return "", "", "", fmt.Errorf("consume scram login: %w", db.wrap(err))
	}
	return user.String, clientFirst, serverNonce, nil
}

// SCRAMLoginConsumed reports whether login id was spent; sesame.ErrNotFound
// when there is no such login (never begun, or swept).
func (db *DB) SCRAMLoginConsumed(ctx context.Context, id string) (bool, error) {
	var consumed sql.NullInt64
	if err := db.queryRow(ctx, `SELECT consumed_at FROM scram_logins WHERE id = ?`, id).Scan(&consumed); err != nil {
		return false, fmt.Errorf("scram login: %w", db.wrap(err))
	}
	return consumed.Valid, nil
}

// UseMFAToken records that the MFA-pending token jti of userID may not be
// used again, for reason ("session": it produced one; "attempts": its codes
// ran out). The primary key makes it one conditional write: when jti was
// already recorded it returns an error with code sesame.EConflict.
func (db *DB) UseMFAToken(ctx context.Context, jti, userID, reason string, now, expires time.Time) error {
	return useMFAToken(ctx, db, jti, userID, reason, now, expires)
}

// MFATokenUsed reports whether the MFA-pending token jti was recorded by
// UseMFAToken.
func (db *DB) MFATokenUsed(ctx context.Context, jti string) (bool, error) {
	var one int
	switch err := db.queryRow(ctx, `SELECT 1 FROM mfa_tokens_used WHERE jti = ?`, jti).Scan(&one); {
	case errors.Is(err, sql.ErrNoRows):
		return false, nil
	case err != nil:
		return false, fmt.Errorf("mfa token used: %w", db.wrap(err))
	}
	return true, nil
}

// SweepPasswordRows deletes password sets, SCRAM logins and used-MFA-token
// records that can no longer matter: expired more than keep ago. A used
// MFA token needs no record once the token itself has expired.
//
// TODO(lead): call from DB.Sweep (or app.sweep) beside the other tables.
func (db *DB) SweepPasswordRows(ctx context.Context, now time.Time, keep time.Duration) (int64, error) {
	cut := ms(now.Add(-keep))
	var total int64
	for _, q := range []string{
		`DELETE FROM password_sets WHERE expires_at < ?`,
		`DELETE FROM scram_logins WHERE expires_at < ?`,
		`DELETE FROM mfa_tokens_used WHERE expires_at < ?`,
	} {
		res, err := db.exec(ctx, q, cut)
		if err != nil {
			return total, fmt.Errorf("sweep password rows: %w", err)
		}
		n, _ := res.RowsAffected()
		total += n
	}
	return total, nil
}
