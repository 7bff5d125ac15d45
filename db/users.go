package db

import (
	"context"
	"database/sql"
	"fmt"
	"time"

	"github.com/sesame-auth/sesame"
)

const userColumns = `id, email, webauthn_handle, created_at, disabled_at, name`

func scanUser(row interface{ Scan(...any) error }) (sesame.User, error) {
	var u sesame.User
	var created int64
	var disabled sql.NullInt64
	if err := row.Scan(&u.ID, &u.Email, &u.WebAuthnHandle, &created, &disabled, &u.Name); err != nil {
		return sesame.User{}, err
	}
	u.CreatedAt, u.DisabledAt = fromMS(created), nullMS(disabled)
	return u, nil
}

// UserByID returns the user with id, or sesame.ErrNotFound.
func (db *DB) UserByID(ctx context.Context, id string) (sesame.User, error) {
	u, err := scanUser(db.queryRow(ctx, `SELECT `+userColumns+` FROM users WHERE id = ?`, id))
	if err != nil {
		return u, fmt.Errorf("user by id: %w", db.wrap(err))
	}
	return u, nil
}

// UserByEmail returns the user with the normalised address email, or
// sesame.ErrNotFound.
func (db *DB) UserByEmail(ctx context.Context, email string) (sesame.User, error) {
	u, err := scanUser(db.queryRow(ctx, `SELECT `+userColumns+` FROM users WHERE email = ?`, email))
	if err != nil {
		return u, fmt.Errorf("user by email: %w", db.wrap(err))
	}
	return u, nil
}

// EnsureUser creates u unless a user with its email exists, and returns the
// user stored under that email either way. Two flows completing at once for
// a new address therefore end in one account.
func (db *DB) EnsureUser(ctx context.Context, u sesame.User) (sesame.User, bool, error) {
	res, err := db.exec(ctx, `INSERT INTO users (id, email, webauthn_handle, created_at) VALUES (?, ?, ?, ?)
		ON CONFLICT (email) DO NOTHING`, u.ID, u.Email, u.WebAuthnHandle, ms(u.CreatedAt))
	if err != nil {
		return sesame.User{}, false, fmt.Errorf("ensure user: %w", err)
	}
	n, _ := res.RowsAffected()
	stored, err := scanUser(db.writeRow(ctx, `SELECT `+userColumns+` FROM users WHERE email = ?`, u.Email))
	if err != nil {
		return sesame.User{}, false, fmt.Errorf("ensure user: %w", db.wrap(err))
	}
	return stored, n == 1, nil
}

// DisableUser marks the user id disabled and ends every live session of
// theirs, in one transaction (SECURITY rule 32). Disabling a disabled user
// keeps the first time; an unknown id is sesame.ErrNotFound.
func (db *DB) DisableUser(ctx context.Context, id string, now time.Time) error {
	return db.tx(ctx, func(t *txn) error {
		res, err := t.exec(ctx, `UPDATE users SET disabled_at = COALESCE(disabled_at, ?) WHERE id = ?`, ms(now), id)
		if err != nil {
			return fmt.Errorf("disable user: %w", err)
		}
		if n, _ := res.RowsAffected(); n != 1 {
			return sesame.ErrNotFound
		}
		if _, err := t.exec(ctx, `UPDATE sessions SET revoked_at = ? WHERE user_id = ? AND revoked_at IS NULL`, ms(now), id); err != nil {
			return fmt.Errorf("disable user: end sessions: %w", err)
		}
		return nil
	})
}

// AccountFacts returns user id with what /api/me shows of its factors
// besides the passkeys — whether it has a password and an authenticator
// app, how many recovery codes are left — in one query instead of four.
// The answers are those of UserByID, HasPassword, HasTOTP and
// RecoveryCodesLeft.
func (db *DB) AccountFacts(ctx context.Context, id string) (sesame.AccountFacts, error) {
	var f sesame.AccountFacts
	var hasPassword, hasTOTP int
	row := db.queryRow(ctx, `SELECT `+userColumns+`,
		(SELECT COUNT(*) FROM passwords p WHERE p.user_id = users.id),
		(SELECT COUNT(*) FROM totp_secrets s WHERE s.user_id = users.id),
		(SELECT COUNT(*) FROM recovery_codes r WHERE r.user_id = users.id AND r.used_at IS NULL)
		FROM users WHERE id = ?`, id)
	u, err := scanUser(scanAlso(row, &hasPassword, &hasTOTP, &f.RecoveryCodesLeft))
	if err != nil {
		return f, fmt.Errorf("account facts: %w", db.wrap(err))
	}
	f.User, f.HasPassword, f.HasTOTP = u, hasPassword > 0, hasTOTP > 0
	return f, nil
}

// scanAlso is row with the columns after those its scanner reads going
// into extra.
func scanAlso(row interface{ Scan(...any) error }, extra ...any) interface{ Scan(...any) error } {
	return extraScanner{row, extra}
}

type extraScanner struct {
	row   interface{ Scan(...any) error }
	extra []any
}

func (s extraScanner) Scan(dest ...any) error { return s.row.Scan(append(dest, s.extra...)...) }
