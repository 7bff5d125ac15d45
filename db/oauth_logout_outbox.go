package db

import (
	"context"
	"fmt"
	"time"

	"github.com/sesame-auth/sesame"
)

// The back-channel logout outbox: one row per app and ended Sesame
// session, written with the revocation of the session's grants, claimed
// by the oidc.Provider sender of any instance.

// endedGrants selects the live grants of user ? whose Sesame session has
// ended, or all of them when the user is disabled.
const endedGrants = `g.user_id = ? AND g.revoked_at IS NULL AND (
	g.session_id NOT IN (SELECT id FROM sessions WHERE user_id = ? AND revoked_at IS NULL)
	OR EXISTS (SELECT 1 FROM users WHERE id = ? AND disabled_at IS NOT NULL))`

// RevokeEndedSessionGrants revokes every live grant of userID whose
// session has ended (or all of them when the account is disabled) and, in
// the same transaction, queues a logout delivery for each app with a
// backchannel_logout_uri and each session whose tokens it held (grants
// that were redeemed). It returns how many deliveries it queued.
func (db *DB) RevokeEndedSessionGrants(ctx context.Context, userID string, now time.Time) (int64, error) {
	var queued int64
	err := db.tx(ctx, func(t *txn) error {
		res, err := t.exec(ctx, `INSERT INTO oauth_logout_outbox (client_id, session_id, user_id, created_at, next_at)
			SELECT DISTINCT g.client_id, g.session_id, g.user_id, CAST(? AS BIGINT), CAST(? AS BIGINT)
			FROM oauth_grants g JOIN oauth_clients c ON c.id = g.client_id
			WHERE c.backchannel_logout_uri <> '' AND g.redeemed_at IS NOT NULL AND `+endedGrants+`
			ON CONFLICT (client_id, session_id) DO NOTHING`, ms(now), ms(now), userID, userID, userID)
		if err != nil {
			return err
		}
		queued, _ = res.RowsAffected()
		_, err = t.exec(ctx, `UPDATE oauth_grants SET revoked_at = ? WHERE id IN (
			SELECT g.id FROM oauth_grants g WHERE `+endedGrants+`)`, ms(now), userID, userID, userID)
		return err
	})
	if err != nil {
		return 0, fmt.Errorf("revoke ended session grants: %w", err)
	}
	return queued, nil
}

const logoutColumns = `client_id, session_id, user_id, status, attempts, created_at`

// ClaimOAuthLogouts leases up to limit due deliveries until leaseUntil and
// returns them with their attempt counted (claimDue: one UPDATE, two
// instances never take the same delivery).
func (db *DB) ClaimOAuthLogouts(ctx context.Context, now, leaseUntil time.Time, limit int) ([]sesame.OAuthLogoutDelivery, error) {
	rows, err := db.claimDue(ctx, "oauth_logout_outbox", "client_id, session_id", logoutColumns, "", nil, now, leaseUntil, limit)
	if err != nil {
		return nil, fmt.Errorf("claim logout deliveries: %w", err)
	}
	return scanLogoutDeliveries(rows)
}

func scanLogoutDeliveries(rows interface {
	Next() bool
	Scan(...any) error
	Err() error
	Close() error
}) ([]sesame.OAuthLogoutDelivery, error) {
	defer rows.Close()
	var out []sesame.OAuthLogoutDelivery
	for rows.Next() {
		var d sesame.OAuthLogoutDelivery
		var created int64
		if err := rows.Scan(&d.ClientID, &d.SessionID, &d.UserID, &d.Status, &d.Attempts, &created); err != nil {
			return nil, fmt.Errorf("logout deliveries: %w", err)
		}
		d.CreatedAt = fromMS(created)
		out = append(out, d)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("logout deliveries: %w", err)
	}
	return out, nil
}

// RetryOAuthLogout frees a claimed delivery for another try at next.
func (db *DB) RetryOAuthLogout(ctx context.Context, clientID, sessionID string, next time.Time) error {
	if _, err := db.exec(ctx, `UPDATE oauth_logout_outbox SET next_at = ?, lease_until = 0
		WHERE client_id = ? AND session_id = ? AND status = 'queued'`, ms(next), clientID, sessionID); err != nil {
		return fmt.Errorf("retry logout delivery: %w", err)
	}
	return nil
}

// FinishOAuthLogout records that a delivery was made or given up.
func (db *DB) FinishOAuthLogout(ctx context.Context, clientID, sessionID, status string, now time.Time) error {
	if _, err := db.exec(ctx, `UPDATE oauth_logout_outbox SET status = ?, finished_at = ?, lease_until = 0
		WHERE client_id = ? AND session_id = ? AND status = 'queued'`, status, ms(now), clientID, sessionID); err != nil {
		return fmt.Errorf("finish logout delivery: %w", err)
	}
	return nil
}

// OAuthLogoutDeliveries lists the outbox, oldest first, for operators and
// tests.
func (db *DB) OAuthLogoutDeliveries(ctx context.Context) ([]sesame.OAuthLogoutDelivery, error) {
	rows, err := db.query(ctx, `SELECT `+logoutColumns+` FROM oauth_logout_outbox ORDER BY created_at, client_id`)
	if err != nil {
		return nil, fmt.Errorf("logout deliveries: %w", err)
	}
	return scanLogoutDeliveries(rows)
}
