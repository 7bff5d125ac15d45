package db

import (
	"context"
	"fmt"
	"time"
)

// Hit counts one event against key in the fixed window that starts at
// windowStart and returns the count so far, the new event included. One
// upsert, so instances sharing the database share the count.
func (db *DB) Hit(ctx context.Context, key string, windowStart time.Time, window time.Duration) (int, error) {
	var n int
	err := db.writeRow(ctx, `INSERT INTO rate_limits (key, window_start, count, expires_at) VALUES (?, ?, 1, ?)
		ON CONFLICT (key, window_start) DO UPDATE SET count = rate_limits.count + 1
		RETURNING count`, key, ms(windowStart), ms(windowStart.Add(window))).Scan(&n)
	if err != nil {
		return 0, fmt.Errorf("rate limit hit: %w", db.wrap(err))
	}
	return n, nil
}

// Sweep deletes rows that can no longer matter: email flows and rate-limit
// windows past their use, sessions (with their refresh tokens) past their
// end, and password failures not repeated for keep. keep is how long spent rows are kept for replay detection and audit.
func (db *DB) Sweep(ctx context.Context, now time.Time, keep time.Duration) (int64, error) {
	cut := ms(now.Add(-keep))
	var total int64
	for _, q := range []struct {
		sql  string
		args []any
	}{
		{`DELETE FROM email_flows WHERE expires_at < ?`, []any{cut}},
		{`DELETE FROM rate_limits WHERE expires_at < ?`, []any{ms(now)}},
		// Two statements, each a range of its own index (sessions_expires,
		// sessions_revoked), rather than one OR that scans the table.
		{`DELETE FROM sessions WHERE expires_at < ?`, []any{cut}},
		{`DELETE FROM sessions WHERE revoked_at < ?`, []any{cut}},
		// A day without failures forgets them; the tarpit's longest wait is an hour.
		{`DELETE FROM failures WHERE last_at < ?`, []any{cut}},
	} {
		res, err := db.exec(ctx, q.sql, q.args...)
		if err != nil {
			return total, fmt.Errorf("sweep: %w", err)
		}
		n, _ := res.RowsAffected()
		total += n
	}
	return total, nil
}

// HitBatch adds n counts in one transaction: count i is hit(i), added to
// its key's window, and the result's element i is that key's total after
// it. It is the flush of limit.Limiter.AllowBatched's in-memory counts.
func (db *DB) HitBatch(ctx context.Context, n int, hit func(i int) (key string, windowStart time.Time, window time.Duration, count int)) ([]int, error) {
	totals := make([]int, n)
	err := db.tx(ctx, func(t *txn) error {
		for i := range n {
			key, start, window, count := hit(i)
			if err := t.queryRow(ctx, `INSERT INTO rate_limits (key, window_start, count, expires_at) VALUES (?, ?, ?, ?)
				ON CONFLICT (key, window_start) DO UPDATE SET count = rate_limits.count + excluded.count
				RETURNING count`, key, ms(start), count, ms(start.Add(window))).Scan(&totals[i]); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("rate limit batch: %w", err)
	}
	return totals, nil
}
