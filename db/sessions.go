package db

import (
	"cmp"
	"context"
	"database/sql"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/sesame-auth/sesame"
)

const sessionColumns = `id, user_id, created_at, last_used_at, expires_at, auth_time, amr, user_agent, ip, revoked_at`

func scanSession(row interface{ Scan(...any) error }) (sesame.Session, error) {
	var s sesame.Session
	var created, used, expires, authTime int64
	var amr string
	var revoked sql.NullInt64
	if err := row.Scan(&s.ID, &s.UserID, &created, &used, &expires, &authTime, &amr, &s.UserAgent, &s.IP, &revoked); err != nil {
		return sesame.Session{}, err
	}
	s.CreatedAt, s.LastUsedAt, s.ExpiresAt, s.AuthTime = fromMS(created), fromMS(used), fromMS(expires), fromMS(authTime)
	s.AMR, s.RevokedAt = strings.Fields(amr), nullMS(revoked)
	return s, nil
}

// CreateSession stores s with its first refresh token.
func (db *DB) CreateSession(ctx context.Context, s sesame.Session, refreshHash []byte) error {
	return db.SignInTx(ctx, func(tx *Tx) error { return createSession(ctx, tx, s, refreshHash) })
}

// SessionByID returns the session id, or sesame.ErrNotFound.
func (db *DB) SessionByID(ctx context.Context, id string) (sesame.Session, error) {
	s, err := scanSession(db.queryRow(ctx, `SELECT `+sessionColumns+` FROM sessions WHERE id = ?`, id))
	if err != nil {
		return s, fmt.Errorf("session: %w", db.wrap(err))
	}
	return s, nil
}

// UseRefreshToken marks the unused refresh token hash used and returns its
// session id. A token that exists but was already used is a replay: its
// session is revoked in the same transaction and sesame.ErrRefreshReused is
// returned with the session id. An unknown token is sesame.ErrNotFound.
func (db *DB) UseRefreshToken(ctx context.Context, hash []byte, now time.Time) (string, error) {
	var sessionID string
	var reused bool
	err := db.tx(ctx, func(t *txn) error {
		err := t.queryRow(ctx, `UPDATE refresh_tokens SET used_at = ? WHERE hash = ? AND used_at IS NULL
			RETURNING session_id`, ms(now), hash).Scan(&sessionID)
		if err != sql.ErrNoRows {
			return err
		}
		if err := t.queryRow(ctx, `SELECT session_id FROM refresh_tokens WHERE hash = ?`, hash).Scan(&sessionID); err != nil {
			return err // sql.ErrNoRows: never issued, or swept
		}
		if _, err := t.exec(ctx, `UPDATE sessions SET revoked_at = ? WHERE id = ? AND revoked_at IS NULL`, ms(now), sessionID); err != nil {
			return err
		}
		reused = true // commit the revocation, then report the replay
		return nil
	})
	switch {
	case err != nil:
		return "", fmt.Errorf("use refresh token: %w", err)
	case reused:
		return sessionID, sesame.ErrRefreshReused
	}
	return sessionID, nil
}

// RotateRefreshToken spends the refresh token hash and stores its
// successor next, in one transaction: the spend, the session's last use
// and the new token commit together. The session must be live (not
// revoked, before expires, used after idleSince); it is returned as it now
// is. A token already spent is a replay: its session is revoked and
// sesame.ErrRefreshReused is returned with the session id. An unknown
// token, or a session that has ended, is sesame.ErrNotFound (with the
// session id when there is one), and nothing is written. The session's
// user is read in the same transaction, on the writer's warm cache, and
// returned with it.
func (db *DB) RotateRefreshToken(ctx context.Context, hash, next []byte, now, idleSince time.Time) (sesame.Session, sesame.User, error) {
	var sess sesame.Session
	var owner sesame.User
	var reused bool
	err := db.tx(ctx, func(t *txn) error {
		var sessionID string
		err := t.queryRow(ctx, `UPDATE refresh_tokens SET used_at = ? WHERE hash = ? AND used_at IS NULL
			RETURNING session_id`, ms(now), hash).Scan(&sessionID)
		if err == sql.ErrNoRows {
			if err := t.queryRow(ctx, `SELECT session_id FROM refresh_tokens WHERE hash = ?`, hash).Scan(&sess.ID); err != nil {
				return err // sql.ErrNoRows: never issued, or swept
			}
			if _, err := t.exec(ctx, `UPDATE sessions SET revoked_at = ? WHERE id = ? AND revoked_at IS NULL`, ms(now), sess.ID); err != nil {
				return err
			}
			reused = true // commit the revocation, then report the replay
			return nil
		} else if err != nil {
			return err
		}
		sess, err = scanSession(t.queryRow(ctx, `UPDATE sessions SET last_used_at = ?
			WHERE id = ? AND revoked_at IS NULL AND expires_at > ? AND last_used_at > ?
			RETURNING `+sessionColumns, ms(now), sessionID, ms(now), ms(idleSince)))
		if err == sql.ErrNoRows {
			sess.ID = sessionID
			return sesame.ErrNotFound // rolls the spend back: the session has ended anyway
		} else if err != nil {
			return fmt.Errorf("touch session: %w", err)
		}
		if _, err := t.exec(ctx, `INSERT INTO refresh_tokens (hash, session_id, created_at) VALUES (?, ?, ?)`,
			next, sessionID, ms(now)); err != nil {
			return fmt.Errorf("insert refresh token: %w", err)
		}
		if owner, err = scanUser(t.queryRow(ctx, `SELECT `+userColumns+` FROM users WHERE id = ?`, sess.UserID)); err != nil {
			return fmt.Errorf("session's user: %w", err)
		}
		return nil
	})
	switch {
	case err != nil:
		return sess, owner, fmt.Errorf("rotate refresh token: %w", err)
	case reused:
		return sess, owner, sesame.ErrRefreshReused
	}
	return sess, owner, nil
}

// ContinueSession adds the successor refresh token to a live session and
// marks the session used; sesame.ErrNotFound if the session was revoked
// meanwhile.
func (db *DB) ContinueSession(ctx context.Context, sessionID string, refreshHash []byte, now time.Time) error {
	return db.tx(ctx, func(t *txn) error {
		res, err := t.exec(ctx, `UPDATE sessions SET last_used_at = ? WHERE id = ? AND revoked_at IS NULL`, ms(now), sessionID)
		if err != nil {
			return fmt.Errorf("touch session: %w", err)
		}
		if n, _ := res.RowsAffected(); n != 1 {
			return sesame.ErrNotFound
		}
		if _, err := t.exec(ctx, `INSERT INTO refresh_tokens (hash, session_id, created_at) VALUES (?, ?, ?)`,
			refreshHash, sessionID, ms(now)); err != nil {
			return fmt.Errorf("insert refresh token: %w", err)
		}
		return nil
	})
}

// SessionIDByRefreshToken returns the session a refresh token belongs to.
func (db *DB) SessionIDByRefreshToken(ctx context.Context, hash []byte) (string, error) {
	var id string
	if err := db.queryRow(ctx, `SELECT session_id FROM refresh_tokens WHERE hash = ?`, hash).Scan(&id); err != nil {
		return "", fmt.Errorf("session by refresh token: %w", db.wrap(err))
	}
	return id, nil
}

// ClaimReuseNotice records that the owner of session id is being told of a
// replayed refresh token, and reports whether nobody was before: one
// conditional UPDATE, so one notice per session family however many
// replays race (SECURITY rule 57).
func (db *DB) ClaimReuseNotice(ctx context.Context, id string, now time.Time) (bool, error) {
	res, err := db.exec(ctx, `UPDATE sessions SET reuse_noticed_at = ? WHERE id = ? AND reuse_noticed_at IS NULL`, ms(now), id)
	if err != nil {
		return false, fmt.Errorf("claim reuse notice: %w", err)
	}
	n, err := res.RowsAffected()
	return n == 1, err
}

// RevokeSession ends the session id of userID; sesame.ErrNotFound if the
// user has no such live session.
func (db *DB) RevokeSession(ctx context.Context, userID, id string, now time.Time) error {
	res, err := db.exec(ctx, `UPDATE sessions SET revoked_at = ? WHERE id = ? AND user_id = ? AND revoked_at IS NULL`, ms(now), id, userID)
	if err != nil {
		return fmt.Errorf("revoke session: %w", err)
	}
	if n, _ := res.RowsAffected(); n != 1 {
		return sesame.ErrNotFound
	}
	return nil
}

// RevokeUserSessions ends every live session of userID and returns how many.
func (db *DB) RevokeUserSessions(ctx context.Context, userID string, now time.Time) (int, error) {
	res, err := db.exec(ctx, `UPDATE sessions SET revoked_at = ? WHERE user_id = ? AND revoked_at IS NULL`, ms(now), userID)
	if err != nil {
		return 0, fmt.Errorf("revoke user sessions: %w", err)
	}
	n, _ := res.RowsAffected()
	return int(n), nil
}

// UserSessions lists userID's sessions (the 100 made last; the cap keeps
// fewer live) that are neither revoked nor past their absolute end or
// idleSince, most recently used first. The partial index of live sessions
// gives them newest first; they are ordered by use here: on SQLite an
// ORDER BY the index cannot answer sets up a sorter, which took twice as
// long as the rest of the query.
func (db *DB) UserSessions(ctx context.Context, userID string, now, idleSince time.Time) ([]sesame.Session, error) {
	rows, err := db.query(ctx, `SELECT `+sessionColumns+` FROM sessions
		WHERE user_id = ? AND revoked_at IS NULL AND expires_at > ? AND last_used_at > ?
		ORDER BY created_at DESC LIMIT 100`, userID, ms(now), ms(idleSince))
	if err != nil {
		return nil, fmt.Errorf("user sessions: %w", err)
	}
	defer rows.Close()
	var out []sesame.Session
	for rows.Next() {
		s, err := scanSession(rows)
		if err != nil {
			return nil, fmt.Errorf("user sessions: %w", err)
		}
		out = append(out, s)
	}
	slices.SortFunc(out, func(a, b sesame.Session) int {
		return cmp.Or(b.LastUsedAt.Compare(a.LastUsedAt), strings.Compare(a.ID, b.ID))
	})
	return out, db.wrap(rows.Err())
}

// priorSessions reads, before a sign-in of userID from userAgent, what it
// needs of the sessions the account has, in one statement: two probes of the (user_id, user_agent) index
// for the new-device notice (sessions ended by the cap or by the user
// count until the sweeper removes them), and two of the partial index of
// live sessions (covering: at most keep entries each, no row). With the
// new session added, the cap of keep (at least 1) keeps the newest keep-1
// live ones: the second probe finds the oldest of those, the third
// whether any is older. If one is, EndBefore is the oldest kept's
// creation: the live sessions created before it end. Sessions made in
// that same millisecond are spared, so the cap may be passed by a few for
// a moment. With keep 1 every live session but the new one ends.
func priorSessions(ctx context.Context, t *txn, userID, userAgent string, keep int) (sesame.PriorSessions, error) {
	keep = max(keep, 1)
	var p sesame.PriorSessions
	var oldestKept sql.NullInt64
	var beyond bool
	err := t.queryRow(ctx, `SELECT
		EXISTS (SELECT 1 FROM sessions WHERE user_id = ?),
		EXISTS (SELECT 1 FROM sessions WHERE user_id = ? AND user_agent = ?),
		(SELECT created_at FROM sessions WHERE user_id = ? AND revoked_at IS NULL
			ORDER BY created_at DESC LIMIT 1 OFFSET ?),
		EXISTS (SELECT 1 FROM sessions WHERE user_id = ? AND revoked_at IS NULL
			ORDER BY created_at DESC LIMIT 1 OFFSET ?)`,
		userID, userID, userAgent, userID, max(keep-2, 0), userID, keep-1).Scan(&p.Any, &p.FromAgent, &oldestKept, &beyond)
	if err != nil {
		return p, fmt.Errorf("prior sessions: %w", err)
	}
	switch {
	case !beyond:
	case keep == 1:
		p.EndBefore = endOfTime
	case oldestKept.Valid:
		p.EndBefore = time.UnixMilli(oldestKept.Int64)
	}
	return p, nil
}

// endOfTime is after every session's creation.
var endOfTime = time.UnixMilli(1<<53 - 1)

// RevokeOtherSessions ends every live session of userID but keepID.
func (db *DB) RevokeOtherSessions(ctx context.Context, userID, keepID string, now time.Time) (int, error) {
	res, err := db.exec(ctx, `UPDATE sessions SET revoked_at = ? WHERE user_id = ? AND id <> ? AND revoked_at IS NULL`, ms(now), userID, keepID)
	if err != nil {
		return 0, fmt.Errorf("revoke other sessions: %w", err)
	}
	n, _ := res.RowsAffected()
	return int(n), nil
}
