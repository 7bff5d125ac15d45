package db

import (
	"context"
	"database/sql/driver"
	"errors"
	"fmt"
	"time"
)

// TryLock runs fn while holding the installation-wide lock called name,
// unless another instance holds it: then it returns false at once without
// running fn. It is for periodic housekeeping that every instance attempts
// and one at a time should do; it is no mutual exclusion for correctness,
// which single conditional writes give.
//
// On PostgreSQL the lock is a session-level advisory lock taken on a
// connection of its own and keyed by the current schema and name, so
// installations sharing a database in separate schemas do not contend.
// PostgreSQL releases it if the connection or the process dies. fn runs
// its statements on the ordinary pool, not on the locking connection.
//
// On SQLite, where instances do not share a file, fn simply runs; the
// single writer connection serialises its writes with everyone else's.
func (db *DB) TryLock(ctx context.Context, name string, fn func(context.Context) error) (bool, error) {
	if db.dialect != Postgres {
		return true, fn(ctx)
	}
	conn, err := db.write.Conn(ctx)
	if err != nil {
		return false, fmt.Errorf("lock %s: %w", name, err)
	}
	var got bool
	if err := conn.QueryRowContext(ctx, `SELECT pg_try_advisory_lock(hashtext(current_schema()), hashtext($1))`, name).Scan(&got); err != nil {
		conn.Close()
		return false, fmt.Errorf("lock %s: %w", name, err)
	}
	if !got {
		conn.Close()
		return false, nil
	}
	ferr := fn(ctx)
	// Unlock even when ctx has ended, or the pooled connection would go on
	// holding the lock.
	uctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
	defer cancel()
	var released bool
	uerr := conn.QueryRowContext(uctx, `SELECT pg_advisory_unlock(hashtext(current_schema()), hashtext($1))`, name).Scan(&released)
	if uerr == nil && !released {
		uerr = errors.New("was not held")
	}
	if uerr != nil {
		// Discard the connection: closing its session frees the lock.
		_ = conn.Raw(func(any) error { return driver.ErrBadConn })
		uerr = fmt.Errorf("unlock %s: %w", name, uerr)
	}
	conn.Close()
	return true, errors.Join(ferr, uerr)
}

// Sweep intervals: how long past its expiry a row is kept.
const (
	// SpentKeep is how long email flows and ended sessions (with their
	// refresh tokens) are kept after they expire or are revoked, for replay
	// detection and for telling "used" and "expired" apart.
	SpentKeep = 24 * time.Hour
	// ShortKeep is how long WebAuthn ceremonies, SCRAM logins, password
	// sets and used MFA tokens are kept past expiry: they mean nothing once
	// expired, and a few minutes cover clock skew between instances.
	ShortKeep = 10 * time.Minute
	// DefaultAuditRetention is how long audit rows are kept unless the
	// operator says otherwise (SECURITY rule 54): a year and a bit, so a
	// user's activity page and an operator's review cover a year.
	DefaultAuditRetention = 400 * 24 * time.Hour
)

// SetAuditRetention sets how long audit rows are kept (0: the default).
// Call it before the sweeper starts.
func (db *DB) SetAuditRetention(d time.Duration) { db.auditRetention = d }

// AuditRetention is how long audit rows are kept.
func (db *DB) AuditRetention() time.Duration {
	if db.auditRetention <= 0 {
		return DefaultAuditRetention
	}
	return db.auditRetention
}

// SweepExpired deletes every row that can no longer matter (email flows,
// rate-limit windows, ended sessions and their refresh tokens, WebAuthn
// ceremonies and spent challenges, SCRAM logins, password sets, used MFA tokens, finished mail,
// audit rows past their retention), holding the "sweep" lock so that one
// instance at a time does it. It reports whether this instance swept, and
// how many rows went.
func (db *DB) SweepExpired(ctx context.Context, now time.Time) (swept bool, rows int64, err error) {
	swept, err = db.TryLock(ctx, "sweep", func(ctx context.Context) error {
		for _, sweep := range []func() (int64, error){
			func() (int64, error) { return db.Sweep(ctx, now, SpentKeep) },
			func() (int64, error) { return db.SweepCeremonies(ctx, now, ShortKeep) },
			func() (int64, error) { return db.SweepSpentChallenges(ctx, now, ShortKeep) },
			func() (int64, error) { return db.SweepPasswordRows(ctx, now, ShortKeep) },
			func() (int64, error) { return db.SweepAudit(ctx, now, db.AuditRetention()) },
			func() (int64, error) { return db.SweepMail(ctx, now, SpentKeep) },
			func() (int64, error) { return db.SweepAccountRows(ctx, now, ShortKeep) },
			func() (int64, error) { return db.SweepOAuth(ctx, now, ShortKeep) },
			func() (int64, error) { return db.SweepCIBARequests(ctx, now.Add(-ShortKeep)) },
		} {
			n, err := sweep()
			rows += n
			if err != nil {
				return err
			}
		}
		return nil
	})
	return swept, rows, err
}
