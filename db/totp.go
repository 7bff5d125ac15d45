package db

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/sesame-auth/sesame"
)

// CreateTOTPEnrollment stores the sealed secret of an authenticator app
// that userID is setting up, live until expires.
func (db *DB) CreateTOTPEnrollment(ctx context.Context, id, userID string, secret []byte, now, expires time.Time) error {
	if _, err := db.exec(ctx, `INSERT INTO totp_enrollments (id, user_id, secret, created_at, expires_at)
		VALUES (?, ?, ?, ?, ?)`, id, userID, secret, ms(now), ms(expires)); err != nil {
		return fmt.Errorf("create totp enrollment: %w", err)
	}
	return nil
}

// CountTOTPEnrollmentAttempt records one code tried against userID's live
// enrolment id that has had fewer than maxAttempts, and returns its sealed
// secret. sesame.ErrNotFound when it is spent, expired, out of attempts,
// unknown or someone else's: one conditional UPDATE.
func (db *DB) CountTOTPEnrollmentAttempt(ctx context.Context, id, userID string, now time.Time, maxAttempts int) (secret []byte, attempts int, err error) {
	err = db.writeRow(ctx, `UPDATE totp_enrollments SET attempts = attempts + 1
		WHERE id = ? AND user_id = ? AND consumed_at IS NULL AND expires_at > ? AND attempts < ?
		RETURNING secret, attempts`, id, userID, ms(now), maxAttempts).Scan(&secret, &attempts)
	if err != nil {
		return nil, 0, fmt.Errorf("count totp enrollment attempt: %w", db.wrap(err))
	}
	return secret, attempts, nil
}

// TOTPEnrollmentState reports whether userID's enrolment id exists and
// whether it was spent, to explain a refusal.
func (db *DB) TOTPEnrollmentState(ctx context.Context, id, userID string) (consumed bool, err error) {
	var at sql.NullInt64
	if err := db.queryRow(ctx, `SELECT consumed_at FROM totp_enrollments WHERE id = ? AND user_id = ?`, id, userID).Scan(&at); err != nil {
		return false, fmt.Errorf("totp enrollment: %w", db.wrap(err))
	}
	return at.Valid, nil
}

// FinishTOTPEnrollment spends userID's live enrolment id and makes its
// secret the user's authenticator app, replacing any earlier one, with
// step as the last step used. Both happen in one transaction;
// sesame.ErrNotFound when the enrolment is no longer live.
func (db *DB) FinishTOTPEnrollment(ctx context.Context, id, userID string, step int64, now time.Time) (replaced bool, err error) {
	err = db.tx(ctx, func(t *txn) error {
		var secret []byte
		if err := t.queryRow(ctx, `UPDATE totp_enrollments SET consumed_at = ?
			WHERE id = ? AND user_id = ? AND consumed_at IS NULL AND expires_at > ?
			RETURNING secret`, ms(now), id, userID, ms(now)).Scan(&secret); err != nil {
			return err
		}
		var one int
		switch err := t.queryRow(ctx, `SELECT 1 FROM totp_secrets WHERE user_id = ?`, userID).Scan(&one); {
		case err == nil:
			replaced = true
		case !errors.Is(err, sql.ErrNoRows):
			return err
		}
		_, err := t.exec(ctx, `INSERT INTO totp_secrets (user_id, secret, last_step, created_at) VALUES (?, ?, ?, ?)
			ON CONFLICT (user_id) DO UPDATE SET secret = excluded.secret, last_step = excluded.last_step,
				created_at = excluded.created_at`, userID, secret, step, ms(now))
		return err
	})
	if err != nil {
		return false, fmt.Errorf("finish totp enrollment: %w", err)
	}
	return replaced, nil
}

// TOTPSecret returns userID's sealed authenticator-app secret and the last
// step accepted; sesame.ErrNotFound when the user has none.
func (db *DB) TOTPSecret(ctx context.Context, userID string) (secret []byte, lastStep int64, err error) {
	if err := db.queryRow(ctx, `SELECT secret, last_step FROM totp_secrets WHERE user_id = ?`, userID).Scan(&secret, &lastStep); err != nil {
		return nil, 0, fmt.Errorf("totp secret: %w", db.wrap(err))
	}
	return secret, lastStep, nil
}

// UseTOTPStep records step as userID's last accepted step if it is later
// than the one stored: one conditional UPDATE, so a code is accepted once
// even when sent twice at the same moment. sesame.ErrNotFound otherwise.
func (db *DB) UseTOTPStep(ctx context.Context, userID string, step int64) error {
	res, err := db.exec(ctx, `UPDATE totp_secrets SET last_step = ? WHERE user_id = ? AND last_step < ?`, step, userID, step)
	if err != nil {
		return fmt.Errorf("use totp step: %w", err)
	}
	if n, _ := res.RowsAffected(); n != 1 {
		return sesame.ErrNotFound
	}
	return nil
}

// HasTOTP reports whether userID has an authenticator app.
func (db *DB) HasTOTP(ctx context.Context, userID string) (bool, error) {
	var one int
	switch err := db.queryRow(ctx, `SELECT 1 FROM totp_secrets WHERE user_id = ?`, userID).Scan(&one); {
	case errors.Is(err, sql.ErrNoRows):
		return false, nil
	case err != nil:
		return false, fmt.Errorf("has totp: %w", db.wrap(err))
	}
	return true, nil
}

// DeleteTOTP removes userID's authenticator app and reports whether there
// was one.
func (db *DB) DeleteTOTP(ctx context.Context, userID string) (bool, error) {
	res, err := db.exec(ctx, `DELETE FROM totp_secrets WHERE user_id = ?`, userID)
	if err != nil {
		return false, fmt.Errorf("delete totp: %w", err)
	}
	n, _ := res.RowsAffected()
	return n > 0, nil
}

// CountMFACodeAttempt counts one more authenticator-app or recovery code
// guessed with the MFA-pending token jti and returns the count so far.
func (db *DB) CountMFACodeAttempt(ctx context.Context, jti string, expires time.Time) (int, error) {
	var n int
	err := db.writeRow(ctx, `INSERT INTO mfa_code_attempts (jti, attempts, expires_at) VALUES (?, 1, ?)
		ON CONFLICT (jti) DO UPDATE SET attempts = mfa_code_attempts.attempts + 1
		RETURNING attempts`, jti, ms(expires)).Scan(&n)
	if err != nil {
		return 0, fmt.Errorf("count mfa code attempt: %w", db.wrap(err))
	}
	return n, nil
}

// SweepAccountRows deletes authenticator-app enrolments and MFA code
// counters that ended more than keep ago.
func (db *DB) SweepAccountRows(ctx context.Context, now time.Time, keep time.Duration) (int64, error) {
	var total int64
	for _, q := range []string{
		`DELETE FROM totp_enrollments WHERE expires_at < ?`,
		`DELETE FROM mfa_code_attempts WHERE expires_at < ?`,
	} {
		res, err := db.exec(ctx, q, ms(now.Add(-keep)))
		if err != nil {
			return total, fmt.Errorf("sweep account rows: %w", err)
		}
		n, _ := res.RowsAffected()
		total += n
	}
	return total, nil
}
