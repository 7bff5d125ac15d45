package db

// Approvals (OpenID CIBA, poll mode): the backchannel authentication
// requests, their one decision and their one redemption.

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/sesame-auth/sesame"
)

const cibaColumns = `r.id, r.req_hash, r.client_id, c.name, r.user_id, r.scopes, r.binding_message, r.acr_values, r.status, r.amr,
	r.created_at, r.expires_at, r.decided_at, r.last_polled_at, r.redeemed_at, r.link_hash, r.link_used_at`

const cibaFrom = ` FROM ciba_requests r JOIN oauth_clients c ON c.id = r.client_id`

func scanCIBA(row interface{ Scan(...any) error }) (sesame.CIBARequest, error) {
	var r sesame.CIBARequest
	var user sql.NullString
	var scopes, acr, amr string
	var created, expires int64
	var decided, polled, redeemed, linkUsed sql.NullInt64
	if err := row.Scan(&r.ID, &r.Hash, &r.ClientID, &r.ClientName, &user, &scopes, &r.BindingMessage, &acr, &r.Status, &amr,
		&created, &expires, &decided, &polled, &redeemed, &r.LinkHash, &linkUsed); err != nil {
		return r, err
	}
	r.LinkUsedAt = nullMS(linkUsed)
	r.UserID, r.Scopes, r.ACRValues, r.AMR = user.String, strings.Fields(scopes), strings.Fields(acr), strings.Fields(amr)
	r.CreatedAt, r.ExpiresAt = fromMS(created), fromMS(expires)
	r.DecidedAt, r.LastPolledAt, r.RedeemedAt = nullMS(decided), nullMS(polled), nullMS(redeemed)
	return r, nil
}

// InsertCIBARequest stores a pending request unless its person already has
// maxPending live pending ones (sesame.ErrNotFound then), with the mails
// that tell the person; the count, the insert and the mails share one
// transaction. A request for nobody (empty UserID) is stored all the same,
// so that polling it looks like any other.
func (db *DB) InsertCIBARequest(ctx context.Context, r sesame.CIBARequest, maxPending int, mails ...sesame.QueuedMail) error {
	var user sql.NullString
	if r.UserID != "" {
		user = sql.NullString{String: r.UserID, Valid: true}
	}
	err := db.tx(ctx, func(t *txn) error {
		// The cap counts a person's live pending requests, or, for a hint
		// that named nobody, the hint's: both are refused at the same count.
		count := `SELECT COUNT(*) FROM ciba_requests WHERE user_id = ? AND status = ? AND expires_at > ?`
		var key any = r.UserID
		if !user.Valid {
			count = `SELECT COUNT(*) FROM ciba_requests WHERE hint_hash = ? AND status = ? AND expires_at > ?`
			key = r.HintHash
		}
		var n int
		if err := t.queryRow(ctx, count, key, sesame.CIBAPending, ms(r.CreatedAt)).Scan(&n); err != nil {
			return err
		}
		if n >= maxPending {
			return sesame.ErrNotFound
		}
		var hint []byte
		if !user.Valid {
			hint = r.HintHash
		}
		if _, err := t.exec(ctx, `INSERT INTO ciba_requests (id, req_hash, client_id, user_id, hint_hash, scopes, binding_message, acr_values, status, amr, created_at, expires_at, link_hash)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, '', ?, ?, ?)`,
			r.ID, r.Hash, r.ClientID, user, hint, strings.Join(r.Scopes, " "), r.BindingMessage, strings.Join(r.ACRValues, " "),
			sesame.CIBAPending, ms(r.CreatedAt), ms(r.ExpiresAt), r.LinkHash); err != nil {
			return err
		}
		return queueMails(ctx, t, withExpiry(mails, r.ExpiresAt))
	})
	if errors.Is(err, sesame.ErrNotFound) {
		return err
	} else if err != nil {
		return fmt.Errorf("insert ciba request: %w", db.wrap(err))
	}
	return nil
}

// CIBARequestByHash returns the request whose auth_req_id hashes to hash.
func (db *DB) CIBARequestByHash(ctx context.Context, hash []byte) (sesame.CIBARequest, error) {
	r, err := scanCIBA(db.queryRow(ctx, `SELECT `+cibaColumns+cibaFrom+` WHERE r.req_hash = ?`, hash))
	if err != nil {
		return r, fmt.Errorf("ciba request: %w", db.wrap(err))
	}
	return r, nil
}

// CIBARequestByLink returns the request whose emailed link token hashes
// to hash.
func (db *DB) CIBARequestByLink(ctx context.Context, hash []byte) (sesame.CIBARequest, error) {
	r, err := scanCIBA(db.queryRow(ctx, `SELECT `+cibaColumns+cibaFrom+` WHERE r.link_hash = ?`, hash))
	if err != nil {
		return r, fmt.Errorf("ciba request by link: %w", db.wrap(err))
	}
	return r, nil
}

// CIBARequestOfUser returns userID's request id, whatever its state.
func (db *DB) CIBARequestOfUser(ctx context.Context, id, userID string) (sesame.CIBARequest, error) {
	r, err := scanCIBA(db.queryRow(ctx, `SELECT `+cibaColumns+cibaFrom+` WHERE r.id = ? AND r.user_id = ?`, id, userID))
	if err != nil {
		return r, fmt.Errorf("ciba request: %w", db.wrap(err))
	}
	return r, nil
}

// PendingCIBARequests lists userID's live pending requests, oldest first.
func (db *DB) PendingCIBARequests(ctx context.Context, userID string, now time.Time) ([]sesame.CIBARequest, error) {
	rows, err := db.query(ctx, `SELECT `+cibaColumns+cibaFrom+` WHERE r.user_id = ? AND r.status = ? AND r.expires_at > ?
		ORDER BY r.created_at, r.id`, userID, sesame.CIBAPending, ms(now))
	if err != nil {
		return nil, fmt.Errorf("pending ciba requests: %w", db.wrap(err))
	}
	defer rows.Close()
	out := []sesame.CIBARequest{}
	for rows.Next() {
		r, err := scanCIBA(rows)
		if err != nil {
			return nil, fmt.Errorf("pending ciba requests: %w", db.wrap(err))
		}
		out = append(out, r)
	}
	return out, db.wrap(rows.Err())
}

// PollCIBARequest records a poll of the request hash by clientID, unless
// the last poll was later than notAfter: sesame.ErrNotFound then (or when
// no such request is the client's), which the caller tells apart by
// reading the request.
func (db *DB) PollCIBARequest(ctx context.Context, hash []byte, clientID string, notAfter, now time.Time) error {
	res, err := db.exec(ctx, `UPDATE ciba_requests SET last_polled_at = ?
		WHERE req_hash = ? AND client_id = ? AND (last_polled_at IS NULL OR last_polled_at <= ?)`,
		ms(now), hash, clientID, ms(notAfter))
	if err != nil {
		return fmt.Errorf("poll ciba request: %w", db.wrap(err))
	}
	if n, _ := res.RowsAffected(); n != 1 {
		return sesame.ErrNotFound
	}
	return nil
}

// DecideCIBARequest approves or denies userID's live pending request id
// with one conditional UPDATE; sesame.ErrNotFound when it was decided
// already, has expired or is not theirs.
func (db *DB) DecideCIBARequest(ctx context.Context, id, userID, status string, amr []string, now time.Time) error {
	res, err := db.exec(ctx, `UPDATE ciba_requests SET status = ?, amr = ?, decided_at = ?
		WHERE id = ? AND user_id = ? AND status = ? AND expires_at > ?`,
		status, strings.Join(amr, " "), ms(now), id, userID, sesame.CIBAPending, ms(now))
	if err != nil {
		return fmt.Errorf("decide ciba request: %w", db.wrap(err))
	}
	if n, _ := res.RowsAffected(); n != 1 {
		return sesame.ErrNotFound
	}
	return nil
}

// DecideCIBARequestByLink approves or denies the live pending request whose
// emailed link token hashes to hash, and spends the link, with one
// conditional UPDATE; sesame.ErrNotFound when it was decided already (by
// the link or otherwise), has expired or the link was used.
func (db *DB) DecideCIBARequestByLink(ctx context.Context, hash []byte, status string, amr []string, now time.Time) error {
	res, err := db.exec(ctx, `UPDATE ciba_requests SET status = ?, amr = ?, decided_at = ?, link_used_at = ?
		WHERE link_hash = ? AND link_used_at IS NULL AND status = ? AND expires_at > ?`,
		status, strings.Join(amr, " "), ms(now), ms(now), hash, sesame.CIBAPending, ms(now))
	if err != nil {
		return fmt.Errorf("decide ciba request by link: %w", db.wrap(err))
	}
	if n, _ := res.RowsAffected(); n != 1 {
		return sesame.ErrNotFound
	}
	return nil
}

// ExpireCIBARequest marks request id expired if it is pending and past its
// expiry at now, with one conditional UPDATE; sesame.ErrNotFound when it
// was not (another caller marked it first, or it is live or decided). Only
// the caller that marks it records the expiry.
func (db *DB) ExpireCIBARequest(ctx context.Context, id string, now time.Time) error {
	res, err := db.exec(ctx, `UPDATE ciba_requests SET status = ? WHERE id = ? AND status = ? AND expires_at <= ?`,
		sesame.CIBAExpired, id, sesame.CIBAPending, ms(now))
	if err != nil {
		return fmt.Errorf("expire ciba request: %w", db.wrap(err))
	}
	if n, _ := res.RowsAffected(); n != 1 {
		return sesame.ErrNotFound
	}
	return nil
}

// ExpireCIBARequests marks every pending request past its expiry at now
// expired, in one UPDATE, and returns those it marked (id, client, user),
// for the sweeper to record.
func (db *DB) ExpireCIBARequests(ctx context.Context, now time.Time) ([]sesame.CIBARequest, error) {
	rows, err := db.write.QueryContext(ctx, db.rebind(`UPDATE ciba_requests SET status = ?
		WHERE status = ? AND expires_at <= ? RETURNING id, client_id, user_id`), sesame.CIBAExpired, sesame.CIBAPending, ms(now))
	if err != nil {
		return nil, fmt.Errorf("expire ciba requests: %w", db.wrap(err))
	}
	defer rows.Close()
	var out []sesame.CIBARequest
	for rows.Next() {
		var r sesame.CIBARequest
		var user sql.NullString
		if err := rows.Scan(&r.ID, &r.ClientID, &user); err != nil {
			return nil, fmt.Errorf("expire ciba requests: %w", db.wrap(err))
		}
		r.UserID, r.Status = user.String, sesame.CIBAExpired
		out = append(out, r)
	}
	return out, db.wrap(rows.Err())
}

// RedeemCIBARequest spends an approved, live, unredeemed request of
// clientID with one conditional UPDATE; sesame.ErrNotFound otherwise.
func (db *DB) RedeemCIBARequest(ctx context.Context, hash []byte, clientID string, now time.Time) error {
	res, err := db.exec(ctx, `UPDATE ciba_requests SET redeemed_at = ?
		WHERE req_hash = ? AND client_id = ? AND status = ? AND redeemed_at IS NULL AND expires_at > ?`,
		ms(now), hash, clientID, sesame.CIBAApproved, ms(now))
	if err != nil {
		return fmt.Errorf("redeem ciba request: %w", db.wrap(err))
	}
	if n, _ := res.RowsAffected(); n != 1 {
		return sesame.ErrNotFound
	}
	return nil
}

// SweepCIBARequests deletes requests expired before cutoff. A request
// still pending waits until it is marked expired (ExpireCIBARequests),
// so that its expiry is recorded before it goes.
func (db *DB) SweepCIBARequests(ctx context.Context, cutoff time.Time) (int64, error) {
	res, err := db.exec(ctx, `DELETE FROM ciba_requests WHERE expires_at < ? AND status <> ?`, ms(cutoff), sesame.CIBAPending)
	if err != nil {
		return 0, fmt.Errorf("sweep ciba requests: %w", err)
	}
	return res.RowsAffected()
}
