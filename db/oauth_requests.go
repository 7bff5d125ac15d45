package db

import (
	"context"
	"database/sql"
	"fmt"
	"strings"
	"time"

	"github.com/sesame-auth/sesame"
)

const requestColumns = `id, client_id, redirect_uri, scopes, state, nonce, code_challenge, prompt, max_age, login_hint, acr_values, ui_locales, created_at, expires_at, consumed_at, hint_subject`

// InsertOAuthRequest stores a validated authorization request.
func (db *DB) InsertOAuthRequest(ctx context.Context, r sesame.OAuthRequest) error {
	var maxAge sql.NullInt64
	if r.MaxAge != nil {
		maxAge = sql.NullInt64{Int64: int64(*r.MaxAge), Valid: true}
	}
	if _, err := db.exec(ctx, `INSERT INTO oauth_requests (`+requestColumns+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, NULL, ?)`,
		r.ID, r.ClientID, r.RedirectURI, strings.Join(r.Scopes, " "), r.State, r.Nonce, r.CodeChallenge, r.Prompt,
		maxAge, r.LoginHint, strings.Join(r.ACRValues, " "), r.UILocales, ms(r.CreatedAt), ms(r.ExpiresAt), r.HintSubject); err != nil {
		return fmt.Errorf("insert authorization request: %w", err)
	}
	return nil
}

// OAuthRequestByID returns an authorization request, spent or not.
func (db *DB) OAuthRequestByID(ctx context.Context, id string) (sesame.OAuthRequest, error) {
	var r sesame.OAuthRequest
	var scopes, acr string
	var maxAge, consumed sql.NullInt64
	var created, expires int64
	err := db.queryRow(ctx, `SELECT `+requestColumns+` FROM oauth_requests WHERE id = ?`, id).Scan(
		&r.ID, &r.ClientID, &r.RedirectURI, &scopes, &r.State, &r.Nonce, &r.CodeChallenge, &r.Prompt,
		&maxAge, &r.LoginHint, &acr, &r.UILocales, &created, &expires, &consumed, &r.HintSubject)
	if err != nil {
		return r, fmt.Errorf("authorization request: %w", db.wrap(err))
	}
	r.Scopes, r.ACRValues = strings.Fields(scopes), strings.Fields(acr)
	if maxAge.Valid {
		v := int(maxAge.Int64)
		r.MaxAge = &v
	}
	r.CreatedAt, r.ExpiresAt, r.ConsumedAt = fromMS(created), fromMS(expires), nullMS(consumed)
	return r, nil
}

// ConsumeOAuthRequest spends a live authorization request with one
// conditional UPDATE; sesame.ErrNotFound if it was spent or has expired.
func (db *DB) ConsumeOAuthRequest(ctx context.Context, id string, now time.Time) error {
	res, err := db.exec(ctx, `UPDATE oauth_requests SET consumed_at = ? WHERE id = ? AND consumed_at IS NULL AND expires_at > ?`,
		ms(now), id, ms(now))
	if err != nil {
		return fmt.Errorf("consume authorization request: %w", err)
	}
	if n, _ := res.RowsAffected(); n != 1 {
		return sesame.ErrNotFound
	}
	return nil
}

// InsertOAuthLogout stores an RP-initiated logout request.
func (db *DB) InsertOAuthLogout(ctx context.Context, l sesame.OAuthLogout) error {
	if _, err := db.exec(ctx, `INSERT INTO oauth_logouts (id, client_id, redirect_uri, state, created_at, expires_at) VALUES (?, ?, ?, ?, ?, ?)`,
		l.ID, l.ClientID, l.RedirectURI, l.State, ms(l.CreatedAt), ms(l.ExpiresAt)); err != nil {
		return fmt.Errorf("insert logout request: %w", err)
	}
	return nil
}

// OAuthLogoutByID returns a live logout request, or sesame.ErrNotFound.
func (db *DB) OAuthLogoutByID(ctx context.Context, id string, now time.Time) (sesame.OAuthLogout, error) {
	var l sesame.OAuthLogout
	var created, expires int64
	err := db.queryRow(ctx, `SELECT id, client_id, redirect_uri, state, created_at, expires_at FROM oauth_logouts
		WHERE id = ? AND consumed_at IS NULL AND expires_at > ?`, id, ms(now)).Scan(
		&l.ID, &l.ClientID, &l.RedirectURI, &l.State, &created, &expires)
	if err != nil {
		return l, fmt.Errorf("logout request: %w", db.wrap(err))
	}
	l.CreatedAt, l.ExpiresAt = fromMS(created), fromMS(expires)
	return l, nil
}

// ConsumeOAuthLogout spends a live logout request with one conditional
// UPDATE and returns it; sesame.ErrNotFound if spent or expired.
func (db *DB) ConsumeOAuthLogout(ctx context.Context, id string, now time.Time) (sesame.OAuthLogout, error) {
	var l sesame.OAuthLogout
	var created, expires int64
	err := db.writeRow(ctx, `UPDATE oauth_logouts SET consumed_at = ? WHERE id = ? AND consumed_at IS NULL AND expires_at > ?
		RETURNING id, client_id, redirect_uri, state, created_at, expires_at`, ms(now), id, ms(now)).Scan(
		&l.ID, &l.ClientID, &l.RedirectURI, &l.State, &created, &expires)
	if err != nil {
		return l, fmt.Errorf("consume logout request: %w", db.wrap(err))
	}
	l.CreatedAt, l.ExpiresAt = fromMS(created), fromMS(expires)
	return l, nil
}

// SweepOAuth deletes authorization and logout requests and codes that
// expired before now-keep, and grants whose code was never redeemed.
func (db *DB) SweepOAuth(ctx context.Context, now time.Time, keep time.Duration) (int64, error) {
	cut := ms(now.Add(-keep))
	var total int64
	for _, q := range []string{
		`DELETE FROM oauth_requests WHERE expires_at < ?`,
		`DELETE FROM oauth_logouts WHERE expires_at < ?`,
		`DELETE FROM oauth_grants WHERE redeemed_at IS NULL AND created_at < ?`,
		`DELETE FROM oauth_refresh_tokens WHERE expires_at < ?`,
		`DELETE FROM oauth_logout_outbox WHERE status <> 'queued' AND finished_at < ?`,
	} {
		res, err := db.exec(ctx, q, cut)
		if err != nil {
			return total, fmt.Errorf("sweep oauth: %w", err)
		}
		n, _ := res.RowsAffected()
		total += n
	}
	return total, nil
}
