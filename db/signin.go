package db

import (
	"context"
	"database/sql"
	"fmt"
	"strings"
	"time"

	"github.com/sesame-auth/sesame"
)

// execer runs a writing statement: the pool (DB) or one transaction (Tx).
// The writes a sign-in makes are written once against it, so that they
// read the same whether they run alone or inside a sign-in.
type execer interface {
	exec(ctx context.Context, query string, args ...any) (sql.Result, error)
}

// Tx is one sign-in's write transaction (package signin): the one-time
// secret it spends, the credential's new counter, the session with its
// first refresh token and the audit events commit together or not at all.
// Use it only inside the function given to SignInTx.
type Tx struct {
	t  *txn
	db *DB
}

// SignInTx runs fn in one short write transaction and commits it if fn
// returns nil; any error rolls every write of fn back. On SQLite fn runs
// on the group commit's writer, between other callers' transactions: it
// must only run statements on tx — never wait on anything else, nor call
// the DB, which would wait for the writer it holds.
func (db *DB) SignInTx(ctx context.Context, fn func(*Tx) error) error {
	return db.tx(ctx, func(t *txn) error { return fn(&Tx{t: t, db: db}) })
}

func (tx *Tx) exec(ctx context.Context, query string, args ...any) (sql.Result, error) {
	res, err := tx.t.exec(ctx, query, args...)
	return res, tx.db.wrap(err)
}

// ConsumeCeremony spends the live WebAuthn ceremony id, as
// DB.ConsumeCeremony does, inside the transaction: of two sign-ins that
// verified the same ceremony, only one commits.
func (tx *Tx) ConsumeCeremony(ctx context.Context, id string, now time.Time) error {
	res, err := tx.exec(ctx, `UPDATE webauthn_ceremonies SET consumed_at = ?
		WHERE id = ? AND consumed_at IS NULL AND expires_at > ?`, ms(now), id, ms(now))
	if err != nil {
		return fmt.Errorf("consume ceremony: %w", err)
	}
	if n, _ := res.RowsAffected(); n != 1 {
		return sesame.ErrNotFound
	}
	return nil
}

// PriorSessions reads what a sign-in needs of the account's sessions (see
// priorSessions), inside the transaction: on SQLite from the writer's page
// cache, which no other connection's commit empties — a reader reads the
// pages again after every commit (~100 µs under load against ~28 µs).
func (tx *Tx) PriorSessions(ctx context.Context, userID, userAgent string, keep int) (sesame.PriorSessions, error) {
	p, err := priorSessions(ctx, tx.t, userID, userAgent, keep)
	return p, tx.db.wrap(err)
}

// EndSessionsBefore ends the live sessions of userID created before
// before, but newID, the session being signed in, and returns how many it
// ended: the cap on live sessions per user, where DB.PriorSessions found
// it (a range of the partial index of live sessions). A sign-in of the
// same user that commits between that read and this write is not
// counted, so the cap may be passed by a few for a moment, until the next
// sign-in.
func (tx *Tx) EndSessionsBefore(ctx context.Context, userID, newID string, before, now time.Time) (int, error) {
	res, err := tx.exec(ctx, `UPDATE sessions SET revoked_at = ?
		WHERE user_id = ? AND revoked_at IS NULL AND created_at < ? AND id <> ?`, ms(now), userID, ms(before), newID)
	if err != nil {
		return 0, fmt.Errorf("end sessions beyond the cap: %w", err)
	}
	n, _ := res.RowsAffected()
	return int(n), nil
}

// UseCredential is DB.UseCredential inside the transaction.
func (tx *Tx) UseCredential(ctx context.Context, c sesame.Credential, oldSignCount uint32, now time.Time) error {
	return useCredential(ctx, tx, c, oldSignCount, now)
}

// ConsumeEmailFlow is DB.ConsumeEmailFlow inside the transaction.
func (tx *Tx) ConsumeEmailFlow(ctx context.Context, id string, now time.Time) error {
	return consumeEmailFlow(ctx, tx, id, now)
}

// UseMFAToken is DB.UseMFAToken inside the transaction.
func (tx *Tx) UseMFAToken(ctx context.Context, jti, userID, reason string, now, expires time.Time) error {
	return useMFAToken(ctx, tx, jti, userID, reason, now, expires)
}

// CreateSession is DB.CreateSession inside the transaction.
func (tx *Tx) CreateSession(ctx context.Context, s sesame.Session, refreshHash []byte) error {
	return createSession(ctx, tx, s, refreshHash)
}

// InsertAuditEvent is DB.InsertAuditEvent inside the transaction.
func (tx *Tx) InsertAuditEvent(ctx context.Context, e sesame.AuditEvent) error {
	return insertAuditEvent(ctx, tx, e)
}

func createSession(ctx context.Context, ex execer, s sesame.Session, refreshHash []byte) error {
	if _, err := ex.exec(ctx, `INSERT INTO sessions (`+sessionColumns+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, NULL)`,
		s.ID, s.UserID, ms(s.CreatedAt), ms(s.LastUsedAt), ms(s.ExpiresAt), ms(s.AuthTime),
		strings.Join(s.AMR, " "), s.UserAgent, s.IP); err != nil {
		return fmt.Errorf("insert session: %w", err)
	}
	if _, err := ex.exec(ctx, `INSERT INTO refresh_tokens (hash, session_id, created_at) VALUES (?, ?, ?)`,
		refreshHash, s.ID, ms(s.CreatedAt)); err != nil {
		return fmt.Errorf("insert refresh token: %w", err)
	}
	return nil
}

func useCredential(ctx context.Context, ex execer, c sesame.Credential, oldSignCount uint32, now time.Time) error {
	res, err := ex.exec(ctx, `UPDATE webauthn_credentials
		SET sign_count = ?, backup_state = ?, user_verified = ?, last_used_at = ?
		WHERE id = ? AND user_id = ? AND sign_count = ?`,
		int64(c.SignCount), c.BackupState, c.UserVerified, ms(now), c.ID, c.UserID, int64(oldSignCount))
	if err != nil {
		return fmt.Errorf("use credential: %w", err)
	}
	if n, _ := res.RowsAffected(); n != 1 {
		return sesame.ErrNotFound
	}
	return nil
}

func consumeEmailFlow(ctx context.Context, ex execer, id string, now time.Time) error {
	res, err := ex.exec(ctx, `UPDATE email_flows SET consumed_at = ?
		WHERE id = ? AND consumed_at IS NULL AND expires_at > ?`, ms(now), id, ms(now))
	if err != nil {
		return fmt.Errorf("consume email flow: %w", err)
	}
	if n, _ := res.RowsAffected(); n != 1 {
		return sesame.ErrNotFound
	}
	return nil
}

// useMFAToken records jti once. ON CONFLICT keeps a second use from
// failing the statement, which on PostgreSQL would abort the whole
// transaction; it answers a conflict instead.
func useMFAToken(ctx context.Context, ex execer, jti, userID, reason string, now, expires time.Time) error {
	res, err := ex.exec(ctx, `INSERT INTO mfa_tokens_used (jti, user_id, reason, used_at, expires_at) VALUES (?, ?, ?, ?, ?)
		ON CONFLICT (jti) DO NOTHING`, jti, userID, reason, ms(now), ms(expires))
	if err != nil {
		return fmt.Errorf("use mfa token: %w", err)
	}
	if n, _ := res.RowsAffected(); n != 1 {
		return fmt.Errorf("use mfa token: %w", sesame.Errorf(sesame.EConflict, "Already used."))
	}
	return nil
}

func insertAuditEvent(ctx context.Context, ex execer, e sesame.AuditEvent) error {
	if _, err := ex.exec(ctx, `INSERT INTO audit_events (id, at, event, result, method, user_id, credential_id, ip, user_agent, detail)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`, e.ID, ms(e.At), e.Event, e.Result, e.Method, e.UserID, e.CredentialID, e.IP, e.UserAgent, e.Detail); err != nil {
		return fmt.Errorf("insert audit event: %w", err)
	}
	return nil
}
