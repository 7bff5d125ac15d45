package db

import (
	"context"
	"database/sql"
	"time"
)

// Outboxes (the mail outbox, the back-channel logout outbox) are tables of
// work that any instance's workers do: a row is due when its status is
// 'queued', next_at has come and no lease holds it.

// claimDue leases up to limit due rows of table until leaseUntil, counts
// an attempt on each and returns the returning columns of the rows it
// took. It is one UPDATE: on PostgreSQL the rows are picked FOR UPDATE
// SKIP LOCKED, so instances claiming at once take different rows without
// waiting, and the lease is checked again on the row as committed; on
// SQLite the single writer serialises claims. key lists the columns of
// the table's primary key ("id", or "a, b"); alsoDue, when not
// empty, is one more condition with its argument.
func (db *DB) claimDue(ctx context.Context, table, key, returning, alsoDue string, alsoArg any,
	now, leaseUntil time.Time, limit int) (*sql.Rows, error) {
	lock := ""
	if db.dialect == Postgres {
		lock = " FOR UPDATE SKIP LOCKED"
	}
	args := []any{ms(leaseUntil), ms(now), ms(now), ms(now)}
	if alsoDue != "" {
		alsoDue = " AND " + alsoDue
		args = append(args, alsoArg)
	}
	args = append(args, limit)
	rows, err := db.write.QueryContext(ctx, db.rebind(`UPDATE `+table+` SET lease_until = ?, attempts = attempts + 1
		WHERE lease_until <= ? AND status = 'queued' AND (`+key+`) IN (
			SELECT `+key+` FROM `+table+`
			WHERE status = 'queued' AND next_at <= ? AND lease_until <= ?`+alsoDue+`
			ORDER BY next_at LIMIT ?`+lock+`)
		RETURNING `+returning), args...)
	return rows, db.wrap(err)
}
