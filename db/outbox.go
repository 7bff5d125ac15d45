package db

import (
	"context"
	"fmt"
	"time"

	"github.com/sesame-auth/sesame"
)

// The mail outbox: rows written by requests (QueueMail, or with an email
// flow in one transaction), claimed by the workers of any instance.

const outboxColumns = `id, recipient, payload, attempts, created_at, next_at, expires_at`

// QueueMail stores m, due at m.NextAt.
func (db *DB) QueueMail(ctx context.Context, m sesame.QueuedMail) error {
	if _, err := db.exec(ctx, insertMail, mailArgs(m)...); err != nil {
		return fmt.Errorf("queue mail: %w", err)
	}
	return nil
}

const insertMail = `INSERT INTO mail_outbox (` + outboxColumns + `, status) VALUES (?, ?, ?, ?, ?, ?, ?, 'queued')`

func mailArgs(m sesame.QueuedMail) []any {
	return []any{m.ID, m.Recipient, m.Payload, m.Attempts, ms(m.CreatedAt), ms(m.NextAt), ms(m.ExpiresAt)}
}

// queueMails inserts mails in transaction t.
func queueMails(ctx context.Context, t *txn, mails []sesame.QueuedMail) error {
	for _, m := range mails {
		if _, err := t.exec(ctx, insertMail, mailArgs(m)...); err != nil {
			return fmt.Errorf("queue mail: %w", err)
		}
	}
	return nil
}

// ClaimMail leases up to limit due messages until leaseUntil and returns
// them with their attempt counted (claimDue: one UPDATE, two instances
// never take the same message).
func (db *DB) ClaimMail(ctx context.Context, now, leaseUntil time.Time, limit int) ([]sesame.QueuedMail, error) {
	rows, err := db.claimDue(ctx, "mail_outbox", "id", outboxColumns, "expires_at > ?", ms(now), now, leaseUntil, limit)
	if err != nil {
		return nil, fmt.Errorf("claim mail: %w", err)
	}
	defer rows.Close()
	var out []sesame.QueuedMail
	for rows.Next() {
		var m sesame.QueuedMail
		var created, next, expires int64
		if err := rows.Scan(&m.ID, &m.Recipient, &m.Payload, &m.Attempts, &created, &next, &expires); err != nil {
			return nil, fmt.Errorf("claim mail: %w", db.wrap(err))
		}
		m.CreatedAt, m.NextAt, m.ExpiresAt = fromMS(created), fromMS(next), fromMS(expires)
		out = append(out, m)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("claim mail: %w", db.wrap(err))
	}
	return out, nil
}

// RetryMail frees the queued message id for another try at next.
func (db *DB) RetryMail(ctx context.Context, id string, next time.Time) error {
	if _, err := db.exec(ctx, `UPDATE mail_outbox SET next_at = ?, lease_until = 0
		WHERE id = ? AND status = 'queued'`, ms(next), id); err != nil {
		return fmt.Errorf("retry mail: %w", err)
	}
	return nil
}

// FinishMail records the outcome of the queued message id and wipes its
// payload, which may hold a live link or code.
func (db *DB) FinishMail(ctx context.Context, id, status string, now time.Time) error {
	if _, err := db.exec(ctx, `UPDATE mail_outbox SET status = ?, finished_at = ?, payload = ?, lease_until = 0
		WHERE id = ? AND status = 'queued'`, status, ms(now), []byte{}, id); err != nil {
		return fmt.Errorf("finish mail: %w", err)
	}
	return nil
}

// ExpireMail gives up every queued message past its expiry that no worker
// holds, wiping its payload, and reports how many.
func (db *DB) ExpireMail(ctx context.Context, now time.Time) (int64, error) {
	res, err := db.exec(ctx, `UPDATE mail_outbox SET status = 'expired', finished_at = ?, payload = ?
		WHERE status = 'queued' AND expires_at <= ? AND lease_until <= ?`, ms(now), []byte{}, ms(now), ms(now))
	if err != nil {
		return 0, fmt.Errorf("expire mail: %w", err)
	}
	return res.RowsAffected()
}

// MailOutcomes counts the outbox rows by status, for operators and tests.
func (db *DB) MailOutcomes(ctx context.Context) (map[string]int, error) {
	rows, err := db.query(ctx, `SELECT status, COUNT(*) FROM mail_outbox GROUP BY status`)
	if err != nil {
		return nil, fmt.Errorf("mail outcomes: %w", err)
	}
	defer rows.Close()
	out := map[string]int{}
	for rows.Next() {
		var s string
		var n int
		if err := rows.Scan(&s, &n); err != nil {
			return nil, fmt.Errorf("mail outcomes: %w", err)
		}
		out[s] = n
	}
	return out, rows.Err()
}

// SweepMail deletes finished messages, and queued ones long past expiry,
// older than keep.
func (db *DB) SweepMail(ctx context.Context, now time.Time, keep time.Duration) (int64, error) {
	cut := ms(now.Add(-keep))
	res, err := db.exec(ctx, `DELETE FROM mail_outbox
		WHERE (status <> 'queued' AND finished_at < ?) OR expires_at < ?`, cut, cut)
	if err != nil {
		return 0, fmt.Errorf("sweep mail: %w", err)
	}
	return res.RowsAffected()
}
