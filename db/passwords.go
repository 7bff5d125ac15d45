package db

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"
)

// CreatePasswordSet stores the server-chosen salt and iteration count of a
// password that userID is about to set, live until expires.
func (db *DB) CreatePasswordSet(ctx context.Context, id, userID string, salt []byte, iterations int, now, expires time.Time) error {
	if _, err := db.exec(ctx, `INSERT INTO password_sets (id, user_id, salt, iterations, created_at, expires_at)
		VALUES (?, ?, ?, ?, ?, ?)`, id, userID, salt, iterations, ms(now), ms(expires)); err != nil {
		return fmt.Errorf("create password set: %w", err)
	}
	return nil
}

// FinishPasswordSet spends userID's live password set id and stores, under
// its salt and iteration count, the SCRAM keys derived from them, replacing
// any password the user had. Both happen in one transaction. It reports
// whether a password was replaced; sesame.ErrNotFound when the set is not
// live (spent, expired, unknown or someone else's).
func (db *DB) FinishPasswordSet(ctx context.Context, id, userID string, storedKey, serverKey []byte, now time.Time) (replaced bool, err error) {
	err = db.tx(ctx, func(t *txn) error {
		var salt []byte
		var iterations int
		if err := t.queryRow(ctx, `UPDATE password_sets SET consumed_at = ?
			WHERE id = ? AND user_id = ? AND consumed_at IS NULL AND expires_at > ?
			RETURNING salt, iterations`, ms(now), id, userID, ms(now)).Scan(&salt, &iterations); err != nil {
			return err
		}
		var one int
		switch err := t.queryRow(ctx, `SELECT 1 FROM passwords WHERE user_id = ?`, userID).Scan(&one); {
		case err == nil:
			replaced = true
		case !errors.Is(err, sql.ErrNoRows):
			return err
		}
		_, err := t.exec(ctx, `INSERT INTO passwords (user_id, salt, iterations, stored_key, server_key, created_at, updated_at)
			VALUES (?, ?, ?, ?, ?, ?, ?)
			ON CONFLICT (user_id) DO UPDATE SET salt = excluded.salt, iterations = excluded.iterations,
				stored_key = excluded.stored_key, server_key = excluded.server_key, updated_at = excluded.updated_at`,
			userID, salt, iterations, storedKey, serverKey, ms(now), ms(now))
		return err
	})
	if err != nil {
		return false, fmt.Errorf("finish password set: %w", err)
	}
	return replaced, nil
}

// PasswordOf returns userID's SCRAM credentials: the salt and iteration
// count, StoredKey and ServerKey; sesame.ErrNotFound when the user has no
// password.
func (db *DB) PasswordOf(ctx context.Context, userID string) (salt []byte, iterations int, storedKey, serverKey []byte, err error) {
	err = db.queryRow(ctx, `SELECT salt, iterations, stored_key, server_key FROM passwords WHERE user_id = ?`, userID).
		Scan(&salt, &iterations, &storedKey, &serverKey)
	if err != nil {
		return nil, 0, nil, nil, fmt.Errorf("password: %w", db.wrap(err))
	}
	return salt, iterations, storedKey, serverKey, nil
}

// HasPassword reports whether userID has a password.
func (db *DB) HasPassword(ctx context.Context, userID string) (bool, error) {
	var one int
	switch err := db.queryRow(ctx, `SELECT 1 FROM passwords WHERE user_id = ?`, userID).Scan(&one); {
	case errors.Is(err, sql.ErrNoRows):
		return false, nil
	case err != nil:
		return false, fmt.Errorf("has password: %w", db.wrap(err))
	}
	return true, nil
}

// DeletePassword removes userID's password and reports whether there was
// one.
func (db *DB) DeletePassword(ctx context.Context, userID string) (bool, error) {
	res, err := db.exec(ctx, `DELETE FROM passwords WHERE user_id = ?`, userID)
	if err != nil {
		return false, fmt.Errorf("delete password: %w", err)
	}
	n, _ := res.RowsAffected()
	return n > 0, nil
}
