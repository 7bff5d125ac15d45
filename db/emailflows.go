package db

import (
	"context"
	"database/sql"
	"fmt"
	"time"

	"github.com/sesame-auth/sesame"
)

const flowColumns = `id, purpose, email, subject, token_hash, code_mac, attempts, sends, created_at, expires_at, consumed_at`

func scanFlow(row interface{ Scan(...any) error }) (sesame.EmailFlow, error) {
	var f sesame.EmailFlow
	var created, expires int64
	var consumed sql.NullInt64
	if err := row.Scan(&f.ID, &f.Purpose, &f.Email, &f.Subject, &f.TokenHash, &f.CodeMAC, &f.Attempts, &f.Sends, &created, &expires, &consumed); err != nil {
		return sesame.EmailFlow{}, err
	}
	f.CreatedAt, f.ExpiresAt, f.ConsumedAt = fromMS(created), fromMS(expires), nullMS(consumed)
	return f, nil
}

// CreateEmailFlow stores f and ends every older live flow of the same
// purpose for the same address and subject, so only the newest link and
// code work (ASVS 6.6.2) — of those asked for by the same requester, for a
// sign-in flow (SECURITY rule 56). The mails that announce f are queued in the same
// transaction, to be tried as long as f lives: the flow and its message
// exist together or not at all.
func (db *DB) CreateEmailFlow(ctx context.Context, f sesame.EmailFlow, mails ...sesame.QueuedMail) error {
	return db.tx(ctx, func(t *txn) error {
		if _, err := t.exec(ctx, `UPDATE email_flows SET expires_at = ?
			WHERE email = ? AND purpose = ? AND subject = ? AND consumed_at IS NULL AND expires_at > ?`,
			ms(f.CreatedAt), f.Email, f.Purpose, f.Subject, ms(f.CreatedAt)); err != nil {
			return fmt.Errorf("end older flows: %w", err)
		}
		if _, err := t.exec(ctx, `INSERT INTO email_flows (`+flowColumns+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, NULL)`,
			f.ID, f.Purpose, f.Email, f.Subject, f.TokenHash, f.CodeMAC, f.Attempts, f.Sends, ms(f.CreatedAt), ms(f.ExpiresAt)); err != nil {
			return fmt.Errorf("insert email flow: %w", err)
		}
		return queueMails(ctx, t, withExpiry(mails, f.ExpiresAt))
	})
}

// withExpiry returns mails expiring at t.
func withExpiry(mails []sesame.QueuedMail, t time.Time) []sesame.QueuedMail {
	out := make([]sesame.QueuedMail, len(mails))
	for i, m := range mails {
		m.ExpiresAt = t
		out[i] = m
	}
	return out
}

// EmailFlow returns the flow with id, or sesame.ErrNotFound.
func (db *DB) EmailFlow(ctx context.Context, id string) (sesame.EmailFlow, error) {
	f, err := scanFlow(db.queryRow(ctx, `SELECT `+flowColumns+` FROM email_flows WHERE id = ?`, id))
	if err != nil {
		return f, fmt.Errorf("email flow: %w", db.wrap(err))
	}
	return f, nil
}

// EmailFlowByTokenHash returns the flow whose link token hashes to hash.
func (db *DB) EmailFlowByTokenHash(ctx context.Context, hash []byte) (sesame.EmailFlow, error) {
	f, err := scanFlow(db.queryRow(ctx, `SELECT `+flowColumns+` FROM email_flows WHERE token_hash = ?`, hash))
	if err != nil {
		return f, fmt.Errorf("email flow by token: %w", db.wrap(err))
	}
	return f, nil
}

// CountCodeAttempt records one code guess against a live flow that has had
// fewer than maxAttempts, and returns the flow as it now is. When the flow
// is consumed, expired or out of attempts it returns sesame.ErrNotFound and
// counts nothing. One conditional UPDATE, so concurrent guesses can never
// exceed the limit together.
func (db *DB) CountCodeAttempt(ctx context.Context, id string, now time.Time, maxAttempts int) (sesame.EmailFlow, error) {
	f, err := scanFlow(db.writeRow(ctx, `UPDATE email_flows SET attempts = attempts + 1
		WHERE id = ? AND consumed_at IS NULL AND expires_at > ? AND attempts < ?
		RETURNING `+flowColumns, id, ms(now), maxAttempts))
	if err != nil {
		return f, fmt.Errorf("count code attempt: %w", db.wrap(err))
	}
	return f, nil
}

// ConsumeEmailFlow spends the live flow id; sesame.ErrNotFound when it is
// no longer live (someone else spent it first).
func (db *DB) ConsumeEmailFlow(ctx context.Context, id string, now time.Time) error {
	return consumeEmailFlow(ctx, db, id, now)
}

// ConsumeEmailLink spends the live flow whose token hashes to hash, unless it
// ran out of code attempts, and returns it; sesame.ErrNotFound otherwise.
func (db *DB) ConsumeEmailLink(ctx context.Context, hash []byte, now time.Time, maxAttempts int) (sesame.EmailFlow, error) {
	f, err := scanFlow(db.writeRow(ctx, `UPDATE email_flows SET consumed_at = ?
		WHERE token_hash = ? AND consumed_at IS NULL AND expires_at > ? AND attempts < ?
		RETURNING `+flowColumns, ms(now), hash, ms(now), maxAttempts))
	if err != nil {
		return f, fmt.Errorf("consume email link: %w", db.wrap(err))
	}
	return f, nil
}

// ResendEmailFlow counts one more send of a live flow that has been sent
// fewer than maxSends times and stores its new code; sesame.ErrNotFound
// when the flow is not live or is out of sends.
func (db *DB) ResendEmailFlow(ctx context.Context, id string, codeMAC []byte, now time.Time, maxSends int, mails ...sesame.QueuedMail) (sesame.EmailFlow, error) {
	var f sesame.EmailFlow
	err := db.tx(ctx, func(t *txn) error {
		var err error
		f, err = scanFlow(t.queryRow(ctx, `UPDATE email_flows SET sends = sends + 1, code_mac = ?
			WHERE id = ? AND consumed_at IS NULL AND expires_at > ? AND sends < ?
			RETURNING `+flowColumns, codeMAC, id, ms(now), maxSends))
		if err != nil {
			return err
		}
		return queueMails(ctx, t, withExpiry(mails, f.ExpiresAt))
	})
	if err != nil {
		return f, fmt.Errorf("resend email flow: %w", err)
	}
	return f, nil
}
