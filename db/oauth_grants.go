package db

import (
	"context"
	"database/sql"
	"fmt"
	"strings"
	"time"

	"github.com/sesame-auth/sesame"
)

const grantColumns = `g.id, g.client_id, g.user_id, g.session_id, g.scopes, g.nonce, g.auth_time, g.amr, g.acr, g.created_at, g.redeemed_at, g.revoked_at`

func scanGrant(row interface{ Scan(...any) error }) (sesame.OAuthGrant, error) {
	var g sesame.OAuthGrant
	var scopes, amr string
	var authTime, created int64
	var redeemed, revoked sql.NullInt64
	if err := row.Scan(&g.ID, &g.ClientID, &g.UserID, &g.SessionID, &scopes, &g.Nonce, &authTime, &amr, &g.ACR,
		&created, &redeemed, &revoked); err != nil {
		return g, err
	}
	g.Scopes, g.AMR = strings.Fields(scopes), strings.Fields(amr)
	g.AuthTime, g.CreatedAt, g.RedeemedAt, g.RevokedAt = fromMS(authTime), fromMS(created), nullMS(redeemed), nullMS(revoked)
	return g, nil
}

// CreateOAuthGrant stores a grant with the authorization code that will
// redeem it, in one transaction.
func (db *DB) CreateOAuthGrant(ctx context.Context, g sesame.OAuthGrant, c sesame.OAuthCode) error {
	return db.tx(ctx, func(t *txn) error {
		if _, err := t.exec(ctx, `INSERT INTO oauth_grants (id, client_id, user_id, session_id, scopes, nonce, auth_time, amr, acr, created_at)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`, g.ID, g.ClientID, g.UserID, g.SessionID, strings.Join(g.Scopes, " "), g.Nonce,
			ms(g.AuthTime), strings.Join(g.AMR, " "), g.ACR, ms(g.CreatedAt)); err != nil {
			return fmt.Errorf("insert grant: %w", err)
		}
		if _, err := t.exec(ctx, `INSERT INTO oauth_codes (hash, grant_id, client_id, redirect_uri, code_challenge, created_at, expires_at)
			VALUES (?, ?, ?, ?, ?, ?, ?)`, c.Hash, g.ID, c.ClientID, c.RedirectURI, c.CodeChallenge, ms(c.CreatedAt), ms(c.ExpiresAt)); err != nil {
			return fmt.Errorf("insert code: %w", err)
		}
		return nil
	})
}

// ClaimOAuthCode spends a live code with one conditional UPDATE and
// returns it. A code spent before is a replay: the grant it produced is
// revoked in the same transaction and sesame.ErrOAuthCodeReplayed returned. An
// unknown or expired code is sesame.ErrNotFound.
func (db *DB) ClaimOAuthCode(ctx context.Context, hash []byte, now time.Time) (sesame.OAuthCode, error) {
	var c sesame.OAuthCode
	var replayed bool
	err := db.tx(ctx, func(t *txn) error {
		var created, expires int64
		err := t.queryRow(ctx, `UPDATE oauth_codes SET consumed_at = ? WHERE hash = ? AND consumed_at IS NULL AND expires_at > ?
			RETURNING grant_id, client_id, redirect_uri, code_challenge, created_at, expires_at`, ms(now), hash, ms(now)).Scan(
			&c.GrantID, &c.ClientID, &c.RedirectURI, &c.CodeChallenge, &created, &expires)
		if err == nil {
			c.Hash, c.CreatedAt, c.ExpiresAt = hash, fromMS(created), fromMS(expires)
			return nil
		} else if err != sql.ErrNoRows {
			return err
		}
		var grantID string
		if err := t.queryRow(ctx, `SELECT grant_id FROM oauth_codes WHERE hash = ? AND consumed_at IS NOT NULL`, hash).Scan(&grantID); err != nil {
			return err // sql.ErrNoRows: unknown or expired
		}
		if _, err := t.exec(ctx, `UPDATE oauth_grants SET revoked_at = ? WHERE id = ? AND revoked_at IS NULL`, ms(now), grantID); err != nil {
			return err
		}
		replayed = true
		return nil
	})
	switch {
	case err != nil:
		return c, fmt.Errorf("claim code: %w", err)
	case replayed:
		return c, sesame.ErrOAuthCodeReplayed
	}
	return c, nil
}

// OAuthGrantLive returns the grant id if neither it nor the Sesame session
// it came from has ended; sesame.ErrNotFound otherwise.
func (db *DB) OAuthGrantLive(ctx context.Context, id string, now time.Time) (sesame.OAuthGrant, error) {
	return db.grantBehindLiveSession(ctx, "g.revoked_at IS NULL", id, now)
}

// OAuthGrantOfCode returns the grant id of a code just claimed, revoked
// or not (a replay racing the first redemption revokes it), as long as
// the Sesame session and the account behind it are live;
// sesame.ErrNotFound otherwise.
func (db *DB) OAuthGrantOfCode(ctx context.Context, id string, now time.Time) (sesame.OAuthGrant, error) {
	return db.grantBehindLiveSession(ctx, "g.redeemed_at IS NULL", id, now)
}

// grantBehindLiveSession reads grant id if it meets cond (a fixed SQL
// condition on g) and its Sesame session and account are live.
func (db *DB) grantBehindLiveSession(ctx context.Context, cond, id string, now time.Time) (sesame.OAuthGrant, error) {
	g, err := scanGrant(db.queryRow(ctx, `SELECT `+grantColumns+` FROM oauth_grants g JOIN sessions s ON s.id = g.session_id
		JOIN users u ON u.id = g.user_id
		WHERE g.id = ? AND `+cond+` AND s.revoked_at IS NULL AND s.expires_at > ? AND u.disabled_at IS NULL`, id, ms(now)))
	if err != nil {
		return g, fmt.Errorf("grant: %w", db.wrap(err))
	}
	return g, nil
}

// RedeemOAuthGrant marks a grant redeemed, once, and stores its first
// refresh token (when refreshHash is set) and the consent's last use. A
// grant revoked meanwhile is redeemed all the same: its tokens are dead.
func (db *DB) RedeemOAuthGrant(ctx context.Context, g sesame.OAuthGrant, refreshHash []byte, refreshExpires, now time.Time) error {
	return db.tx(ctx, func(t *txn) error {
		res, err := t.exec(ctx, `UPDATE oauth_grants SET redeemed_at = ? WHERE id = ? AND redeemed_at IS NULL`, ms(now), g.ID)
		if err != nil {
			return fmt.Errorf("redeem grant: %w", err)
		}
		if n, _ := res.RowsAffected(); n != 1 {
			return sesame.ErrNotFound
		}
		return addRefresh(ctx, t, g, refreshHash, refreshExpires, now)
	})
}

func addRefresh(ctx context.Context, t *txn, g sesame.OAuthGrant, refreshHash []byte, expires, now time.Time) error {
	if refreshHash != nil {
		if _, err := t.exec(ctx, `INSERT INTO oauth_refresh_tokens (hash, grant_id, created_at, expires_at) VALUES (?, ?, ?, ?)`,
			refreshHash, g.ID, ms(now), ms(expires)); err != nil {
			return fmt.Errorf("insert refresh token: %w", err)
		}
	}
	if _, err := t.exec(ctx, `UPDATE oauth_consents SET last_used_at = ? WHERE user_id = ? AND client_id = ?`, ms(now), g.UserID, g.ClientID); err != nil {
		return fmt.Errorf("consent used: %w", err)
	}
	return nil
}

// RotateOAuthRefreshToken spends the refresh token hash of clientID with
// one conditional UPDATE and stores its successor next, returning the
// grant id. A token already spent revokes its grant and returns
// sesame.ErrRefreshReused; an unknown or expired token, or one of another
// client, is sesame.ErrNotFound and changes nothing.
func (db *DB) RotateOAuthRefreshToken(ctx context.Context, hash, next []byte, clientID string, now time.Time) (string, error) {
	var grantID string
	var reused bool
	err := db.tx(ctx, func(t *txn) error {
		var owner string
		var expires int64
		var used sql.NullInt64
		if err := t.queryRow(ctx, `SELECT r.grant_id, g.client_id, r.expires_at, r.used_at FROM oauth_refresh_tokens r
			JOIN oauth_grants g ON g.id = r.grant_id WHERE r.hash = ?`, hash).Scan(&grantID, &owner, &expires, &used); err != nil {
			return err
		}
		if owner != clientID || expires <= ms(now) {
			return sql.ErrNoRows
		}
		res, err := t.exec(ctx, `UPDATE oauth_refresh_tokens SET used_at = ? WHERE hash = ? AND used_at IS NULL`, ms(now), hash)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n != 1 {
			if _, err := t.exec(ctx, `UPDATE oauth_grants SET revoked_at = ? WHERE id = ? AND revoked_at IS NULL`, ms(now), grantID); err != nil {
				return err
			}
			reused = true
			return nil
		}
		_, err = t.exec(ctx, `INSERT INTO oauth_refresh_tokens (hash, grant_id, created_at, expires_at) VALUES (?, ?, ?, ?)`,
			next, grantID, ms(now), expires)
		return err
	})
	switch {
	case err != nil:
		return "", fmt.Errorf("rotate refresh token: %w", db.wrap(err))
	case reused:
		return grantID, sesame.ErrRefreshReused
	}
	return grantID, nil
}

// TouchOAuthConsent records that a client used a user's consent now.
func (db *DB) TouchOAuthConsent(ctx context.Context, userID, clientID string, now time.Time) error {
	if _, err := db.exec(ctx, `UPDATE oauth_consents SET last_used_at = ? WHERE user_id = ? AND client_id = ?`, ms(now), userID, clientID); err != nil {
		return fmt.Errorf("consent used: %w", err)
	}
	return nil
}

// OAuthRefreshTokenGrant returns the grant and client of a refresh token
// that is neither spent nor expired; sesame.ErrNotFound otherwise.
func (db *DB) OAuthRefreshTokenGrant(ctx context.Context, hash []byte, now time.Time) (grantID, clientID string, err error) {
	err = db.queryRow(ctx, `SELECT r.grant_id, g.client_id FROM oauth_refresh_tokens r JOIN oauth_grants g ON g.id = r.grant_id
		WHERE r.hash = ? AND r.used_at IS NULL AND r.expires_at > ?`, hash, ms(now)).Scan(&grantID, &clientID)
	if err != nil {
		return "", "", fmt.Errorf("refresh token: %w", db.wrap(err))
	}
	return grantID, clientID, nil
}

// RevokeOAuthGrant revokes a grant and so every token issued under it.
func (db *DB) RevokeOAuthGrant(ctx context.Context, id string, now time.Time) error {
	if _, err := db.exec(ctx, `UPDATE oauth_grants SET revoked_at = ? WHERE id = ? AND revoked_at IS NULL`, ms(now), id); err != nil {
		return fmt.Errorf("revoke grant: %w", err)
	}
	return nil
}

// OAuthConsent returns userID's consent for clientID, or sesame.ErrNotFound.
func (db *DB) OAuthConsent(ctx context.Context, userID, clientID string) (sesame.OAuthConsent, error) {
	c, err := scanConsent(db.queryRow(ctx, `SELECT c.user_id, c.client_id, k.name, c.scopes, c.approved_at, c.last_used_at
		FROM oauth_consents c JOIN oauth_clients k ON k.id = c.client_id WHERE c.user_id = ? AND c.client_id = ?`, userID, clientID))
	if err != nil {
		return c, fmt.Errorf("consent: %w", db.wrap(err))
	}
	return c, nil
}

func scanConsent(row interface{ Scan(...any) error }) (sesame.OAuthConsent, error) {
	var c sesame.OAuthConsent
	var scopes string
	var approved int64
	var used sql.NullInt64
	if err := row.Scan(&c.UserID, &c.ClientID, &c.ClientName, &scopes, &approved, &used); err != nil {
		return c, err
	}
	c.Scopes, c.ApprovedAt, c.LastUsedAt = strings.Fields(scopes), fromMS(approved), nullMS(used)
	return c, nil
}

// SaveOAuthConsent stores or replaces userID's consent for a client.
func (db *DB) SaveOAuthConsent(ctx context.Context, c sesame.OAuthConsent) error {
	if _, err := db.exec(ctx, `INSERT INTO oauth_consents (user_id, client_id, scopes, approved_at) VALUES (?, ?, ?, ?)
		ON CONFLICT (user_id, client_id) DO UPDATE SET scopes = excluded.scopes, approved_at = excluded.approved_at`,
		c.UserID, c.ClientID, strings.Join(c.Scopes, " "), ms(c.ApprovedAt)); err != nil {
		return fmt.Errorf("save consent: %w", err)
	}
	return nil
}

// OAuthConsents lists the clients userID has approved, most recently
// approved first.
func (db *DB) OAuthConsents(ctx context.Context, userID string) ([]sesame.OAuthConsent, error) {
	rows, err := db.query(ctx, `SELECT c.user_id, c.client_id, k.name, c.scopes, c.approved_at, c.last_used_at
		FROM oauth_consents c JOIN oauth_clients k ON k.id = c.client_id WHERE c.user_id = ?
		ORDER BY c.approved_at DESC, c.client_id LIMIT 100`, userID)
	if err != nil {
		return nil, fmt.Errorf("consents: %w", err)
	}
	defer rows.Close()
	out := []sesame.OAuthConsent{}
	for rows.Next() {
		c, err := scanConsent(rows)
		if err != nil {
			return nil, fmt.Errorf("consents: %w", err)
		}
		out = append(out, c)
	}
	return out, db.wrap(rows.Err())
}

// WithdrawOAuthConsent deletes userID's consent for clientID and revokes
// every grant of that client for the user, in one transaction;
// sesame.ErrNotFound when there was neither.
func (db *DB) WithdrawOAuthConsent(ctx context.Context, userID, clientID string, now time.Time) error {
	return db.tx(ctx, func(t *txn) error {
		res, err := t.exec(ctx, `DELETE FROM oauth_consents WHERE user_id = ? AND client_id = ?`, userID, clientID)
		if err != nil {
			return fmt.Errorf("delete consent: %w", err)
		}
		n, _ := res.RowsAffected()
		res, err = t.exec(ctx, `UPDATE oauth_grants SET revoked_at = ? WHERE user_id = ? AND client_id = ? AND revoked_at IS NULL`,
			ms(now), userID, clientID)
		if err != nil {
			return fmt.Errorf("revoke grants: %w", err)
		}
		m, _ := res.RowsAffected()
		if n+m == 0 {
			return sesame.ErrNotFound
		}
		return nil
	})
}
