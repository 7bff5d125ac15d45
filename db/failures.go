package db

import (
	"context"
	"database/sql"
	"fmt"
	"time"
)

// RecordFailure counts one more consecutive failure of key and returns the
// count.
func (db *DB) RecordFailure(ctx context.Context, key string, at time.Time) (int, error) {
	var n int
	err := db.writeRow(ctx, `INSERT INTO failures (key, count, last_at) VALUES (?, 1, ?)
		ON CONFLICT (key) DO UPDATE SET count = failures.count + 1, last_at = excluded.last_at
		RETURNING count`, key, ms(at)).Scan(&n)
	if err != nil {
		return 0, fmt.Errorf("record failure: %w", db.wrap(err))
	}
	return n, nil
}

// Failures returns key's consecutive failures and the time of the last, or
// sesame.ErrNotFound when there are none.
func (db *DB) Failures(ctx context.Context, key string) (int, time.Time, error) {
	var n int
	var last int64
	if err := db.queryRow(ctx, `SELECT count, last_at FROM failures WHERE key = ?`, key).Scan(&n, &last); err != nil {
		return 0, time.Time{}, fmt.Errorf("failures: %w", db.wrap(err))
	}
	return n, fromMS(last), nil
}

// ClearFailures forgets key's failures.
func (db *DB) ClearFailures(ctx context.Context, key string) error {
	if _, err := db.exec(ctx, `DELETE FROM failures WHERE key = ?`, key); err != nil {
		return fmt.Errorf("clear failures: %w", err)
	}
	return nil
}

// ClaimFailure adds one failure to key if it has exactly seen failures now
// (none stored when seen is 0) and reports whether it did. One conditional
// statement, so of several concurrent claims on one count only one wins.
func (db *DB) ClaimFailure(ctx context.Context, key string, seen int, at time.Time) (bool, error) {
	var res sql.Result
	var err error
	if seen == 0 {
		res, err = db.exec(ctx, `INSERT INTO failures (key, count, last_at) VALUES (?, 1, ?) ON CONFLICT (key) DO NOTHING`, key, ms(at))
	} else {
		res, err = db.exec(ctx, `UPDATE failures SET count = count + 1, last_at = ? WHERE key = ? AND count = ?`, ms(at), key, seen)
	}
	if err != nil {
		return false, fmt.Errorf("claim failure: %w", err)
	}
	n, err := res.RowsAffected()
	return n == 1, err
}
