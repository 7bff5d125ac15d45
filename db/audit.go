package db

import (
	"context"
	"fmt"
	"time"

	"github.com/sesame-auth/sesame"
)

// InsertAuditEvent stores e.
func (db *DB) InsertAuditEvent(ctx context.Context, e sesame.AuditEvent) error {
	return insertAuditEvent(ctx, db, e)
}

// AuditEvents returns userID's latest events, newest first.
func (db *DB) AuditEvents(ctx context.Context, userID string, limit int) ([]sesame.AuditEvent, error) {
	rows, err := db.query(ctx, `SELECT id, at, event, result, method, user_id, credential_id, ip, user_agent, detail
		FROM audit_events WHERE user_id = ? ORDER BY at DESC, id LIMIT ?`, userID, limit)
	if err != nil {
		return nil, fmt.Errorf("audit events: %w", err)
	}
	defer rows.Close()
	var out []sesame.AuditEvent
	for rows.Next() {
		var e sesame.AuditEvent
		var at int64
		if err := rows.Scan(&e.ID, &at, &e.Event, &e.Result, &e.Method, &e.UserID, &e.CredentialID, &e.IP, &e.UserAgent, &e.Detail); err != nil {
			return nil, fmt.Errorf("audit events: %w", err)
		}
		e.At = fromMS(at)
		out = append(out, e)
	}
	return out, db.wrap(rows.Err())
}

// SweepAudit deletes audit rows older than keep, so that the table cannot
// grow without bound (SECURITY rule 54).
func (db *DB) SweepAudit(ctx context.Context, now time.Time, keep time.Duration) (int64, error) {
	res, err := db.exec(ctx, `DELETE FROM audit_events WHERE at < ?`, ms(now.Add(-keep)))
	if err != nil {
		return 0, fmt.Errorf("sweep audit events: %w", err)
	}
	return res.RowsAffected()
}
