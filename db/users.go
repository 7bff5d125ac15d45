package db

import (
	"context"
	"database/sql"
	"fmt"
	"strings"
	"time"

	"github.com/sesame-auth/sesame"
)

const userColumns = `id, email, webauthn_handle, created_at, disabled_at, name`

func scanUser(row interface{ Scan(...any) error }) (sesame.User, error) {
	var s userScan
	if err := row.Scan(s.dest()...); err != nil {
		return sesame.User{}, err
	}
	return s.user(), nil
}

// userScan is what a user's columns (userColumns) scan into.
type userScan struct {
	u        sesame.User
	created  int64
	disabled sql.NullInt64
}

func (s *userScan) dest() []any {
	return []any{&s.u.ID, &s.u.Email, &s.u.WebAuthnHandle, &s.created, &s.disabled, &s.u.Name}
}

func (s *userScan) user() sesame.User {
	s.u.CreatedAt, s.u.DisabledAt = fromMS(s.created), nullMS(s.disabled)
	return s.u
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

// qualified prefixes every column of the list columns with table.
func qualified(table, columns string) string {
	parts := strings.Split(columns, ",")
	for i, p := range parts {
		parts[i] = table + "." + strings.TrimSpace(p)
	}
	return strings.Join(parts, ", ")
}

// scanUserAfter is row with a user's columns (userColumns) after those its
// scanner reads, scanned into u.
func scanUserAfter(row interface{ Scan(...any) error }, u *sesame.User) interface{ Scan(...any) error } {
	return userAfter{row, u}
}

type userAfter struct {
	row interface{ Scan(...any) error }
	u   *sesame.User
}

func (s userAfter) Scan(dest ...any) error {
	var us userScan
	if err := s.row.Scan(append(dest, us.dest()...)...); err != nil {
		return err
	}
	*s.u = us.user()
	return nil
}
