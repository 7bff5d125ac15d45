package db

import (
	"context"
	"database/sql"
	"fmt"
	"time"

	"github.com/sesame-auth/sesame"
)

// SetUserName stores userID's display name and returns the user.
func (db *DB) SetUserName(ctx context.Context, userID, name string) (sesame.User, error) {
	u, err := scanUser(db.writeRow(ctx, `UPDATE users SET name = ? WHERE id = ? RETURNING `+userColumns, name, userID))
	if err != nil {
		return u, fmt.Errorf("set user name: %w", db.wrap(err))
	}
	return u, nil
}

// ChangeUserEmail gives userID the address email and returns the user as
// it was before. An address another account holds is sesame.EConflict (the
// unique index decides, so two changes racing for one address cannot both
// win); a user that is gone is sesame.ErrNotFound.
func (db *DB) ChangeUserEmail(ctx context.Context, userID, email string) (sesame.User, error) {
	var old sesame.User
	err := db.tx(ctx, func(t *txn) error {
		var err error
		if old, err = scanUser(t.queryRow(ctx, `SELECT `+userColumns+` FROM users WHERE id = ?`, userID)); err != nil {
			return err
		}
		_, err = t.exec(ctx, `UPDATE users SET email = ? WHERE id = ?`, email, userID)
		return err
	})
	if err != nil {
		return old, fmt.Errorf("change user email: %w", err)
	}
	return old, nil
}

// DeleteUser deletes userID and, through the foreign keys, its passkeys,
// password, authenticator app, recovery codes and sessions with their
// refresh tokens; its pending email flows go too. Audit rows stay, keyed
// by the user id, with the address taken out of their details. It returns
// the user as it was; sesame.ErrNotFound when it was already gone, so of
// two concurrent deletes exactly one succeeds.
func (db *DB) DeleteUser(ctx context.Context, userID string) (sesame.User, error) {
	var u sesame.User
	err := db.tx(ctx, func(t *txn) error {
		var err error
		if u, err = scanUser(t.queryRow(ctx, `DELETE FROM users WHERE id = ? RETURNING `+userColumns, userID)); err != nil {
			return err
		}
		if _, err := t.exec(ctx, `DELETE FROM email_flows WHERE email = ? OR subject = ?`, u.Email, userID); err != nil {
			return fmt.Errorf("delete email flows: %w", err)
		}
		if _, err := t.exec(ctx, `UPDATE audit_events SET detail = REPLACE(detail, ?, '') WHERE user_id = ?`, u.Email, userID); err != nil {
			return fmt.Errorf("scrub audit events: %w", err)
		}
		return nil
	})
	if err != nil {
		return u, fmt.Errorf("delete user: %w", err)
	}
	return u, nil
}

// SetUserDisabled disables or enables userID. Disabling also revokes every
// live session in the same transaction (SECURITY rule 32).
func (db *DB) SetUserDisabled(ctx context.Context, userID string, disabled bool, now time.Time) (sesame.User, error) {
	var u sesame.User
	err := db.tx(ctx, func(t *txn) error {
		var at any
		if disabled {
			at = ms(now)
		}
		var err error
		if u, err = scanUser(t.queryRow(ctx, `UPDATE users SET disabled_at = ? WHERE id = ? RETURNING `+userColumns, at, userID)); err != nil {
			return err
		}
		if disabled {
			if _, err := t.exec(ctx, `UPDATE sessions SET revoked_at = ? WHERE user_id = ? AND revoked_at IS NULL`, ms(now), userID); err != nil {
				return fmt.Errorf("revoke sessions: %w", err)
			}
		}
		return nil
	})
	if err != nil {
		return u, fmt.Errorf("set user disabled: %w", err)
	}
	return u, nil
}

// Users lists every user, oldest first (then by address), with the last
// successful sign-in.
func (db *DB) Users(ctx context.Context) ([]sesame.UserSummary, error) {
	rows, err := db.query(ctx, `SELECT u.id, u.email, u.webauthn_handle, u.created_at, u.disabled_at, u.name,
		(SELECT MAX(a.at) FROM audit_events a WHERE a.user_id = u.id AND a.event = 'sign_in' AND a.result = 'success')
		FROM users u ORDER BY u.created_at, u.email`)
	if err != nil {
		return nil, fmt.Errorf("users: %w", err)
	}
	defer rows.Close()
	var out []sesame.UserSummary
	for rows.Next() {
		var s sesame.UserSummary
		var created int64
		var disabled, last sql.NullInt64
		if err := rows.Scan(&s.User.ID, &s.User.Email, &s.User.WebAuthnHandle, &created, &disabled, &s.User.Name, &last); err != nil {
			return nil, fmt.Errorf("users: %w", err)
		}
		s.User.CreatedAt, s.User.DisabledAt, s.LastSignIn = fromMS(created), nullMS(disabled), nullMS(last)
		out = append(out, s)
	}
	return out, db.wrap(rows.Err())
}

// LastSignIn returns userID's last successful sign-in recorded in the
// audit log, or nil.
func (db *DB) LastSignIn(ctx context.Context, userID string) (*time.Time, error) {
	var last sql.NullInt64
	if err := db.queryRow(ctx, `SELECT MAX(at) FROM audit_events WHERE user_id = ? AND event = 'sign_in' AND result = 'success'`, userID).Scan(&last); err != nil {
		return nil, fmt.Errorf("last sign-in: %w", db.wrap(err))
	}
	return nullMS(last), nil
}
