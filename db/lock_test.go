package db_test

import (
	"context"
	"database/sql"
	"github.com/sesame-auth/sesame/internal/testkit"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	_ "github.com/mattn/go-sqlite3"

	"github.com/sesame-auth/sesame"
	"github.com/sesame-auth/sesame/db"
	"github.com/sesame-auth/sesame/db/dbtest"
)

// TestSweepExpired fills every swept table with rows on both sides of their
// cut-off, sweeps, and checks that exactly the dead ones went.
func TestSweepExpired(t *testing.T) {
	dbtest.Engines(t, func(t *testing.T, d *db.DB) {
		ctx := context.Background()
		u := newUser(t, d, "sweep@example.com")
		now := t0.Add(48 * time.Hour)
		old, recent := t0, now.Add(-time.Minute) // expired long ago; expired just now

		for i, exp := range []time.Time{old, recent, now.Add(time.Hour)} {
			f := sesame.EmailFlow{ID: sesame.NewID(), Purpose: "signin", Email: u.Email, TokenHash: sesame.RandomBytes(32),
				CodeMAC: sesame.RandomBytes(32), CreatedAt: exp.Add(-15 * time.Minute), ExpiresAt: exp}
			if err := d.CreateEmailFlow(ctx, f); err != nil {
				t.Fatalf("flow %d: %v", i, err)
			}
			c := sesame.Ceremony{ID: sesame.NewID(), Type: "login", Session: []byte("{}"), CreatedAt: exp.Add(-5 * time.Minute), ExpiresAt: exp}
			if err := d.CreateCeremony(ctx, c); err != nil {
				t.Fatalf("ceremony %d: %v", i, err)
			}
			if err := d.CreateSCRAMLogin(ctx, sesame.NewID(), u.ID, "n,,n=x,r=y", "z", exp.Add(-time.Minute), exp); err != nil {
				t.Fatalf("scram login %d: %v", i, err)
			}
			if _, err := d.Hit(ctx, "ip:192.0.2.1", exp.Add(-time.Minute), time.Minute); err != nil {
				t.Fatalf("rate limit %d: %v", i, err)
			}
		}
		// Sessions: one revoked long ago, one past its end long ago, one live.
		for _, name := range []string{"revoked", "ended", "live"} {
			s := sesame.Session{ID: sesame.NewID(), UserID: u.ID, CreatedAt: t0, LastUsedAt: t0, AuthTime: t0, ExpiresAt: now.Add(24 * time.Hour), AMR: []string{"otp"}}
			if name == "ended" {
				s.ExpiresAt = t0.Add(time.Hour)
			}
			if err := d.CreateSession(ctx, s, sesame.RandomBytes(32)); err != nil {
				t.Fatal(err)
			}
			if name == "revoked" {
				if err := d.RevokeSession(ctx, u.ID, s.ID, t0.Add(time.Minute)); err != nil {
					t.Fatal(err)
				}
			}
		}

		before := counts(t, d)
		swept, n, err := d.SweepExpired(ctx, now)
		if err != nil || !swept {
			t.Fatalf("SweepExpired = %v, %d, %v; want swept", swept, n, err)
		}
		after := counts(t, d)
		// email flows keep a day past expiry; short-lived rows ten minutes;
		// rate-limit windows go as soon as they end.
		want := map[string]int{
			"email_flows":         2, // recent and live
			"webauthn_ceremonies": 2,
			"scram_logins":        2,
			"rate_limits":         1, // the live window
			"sessions":            1,
			"refresh_tokens":      1,
		}
		var gone int64
		for table, w := range want {
			if after[table] != w {
				t.Errorf("%s: %d rows after sweeping (%d before); want %d", table, after[table], before[table], w)
			}
			gone += int64(before[table] - after[table])
		}
		if n != gone-int64(before["refresh_tokens"]-after["refresh_tokens"]) { // cascaded rows are not counted
			t.Errorf("SweepExpired reported %d rows; %d went", n, gone)
		}
		if live, err := d.UserSessions(ctx, u.ID, now, t0.Add(-time.Hour)); err != nil || len(live) != 1 {
			t.Errorf("live sessions after sweeping: %d, %v; want 1", len(live), err)
		}
	})
}

// counts returns the row count of each swept table.
func counts(t *testing.T, d *db.DB) map[string]int {
	t.Helper()
	out := map[string]int{}
	for _, table := range []string{"email_flows", "webauthn_ceremonies", "scram_logins", "rate_limits", "sessions", "refresh_tokens"} {
		n, err := d.CountRowsForTest(table)
		if err != nil {
			t.Fatal(err)
		}
		out[table] = n
	}
	return out
}

// TestTryLockOneAtATime runs sweepers on two handles of one PostgreSQL
// schema, as two instances would, and checks that they never overlap and
// that the loser does not wait.
func TestTryLockOneAtATime(t *testing.T) {
	base := os.Getenv(dbtest.PostgresEnv)
	if base == "" {
		testkit.Missing(t, "%s not set", dbtest.PostgresEnv)
	}
	ctx := context.Background()
	url := dbtest.CreateSchema(t, base)
	a, b := openMigrated(t, url), openMigrated(t, url)

	held := make(chan struct{})
	release := make(chan struct{})
	done := make(chan error, 1)
	go func() {
		ran, err := a.TryLock(ctx, "sweep", func(context.Context) error {
			close(held)
			<-release
			return nil
		})
		if err == nil && !ran {
			err = errString("the first sweeper did not get the lock")
		}
		done <- err
	}()
	<-held
	start := time.Now()
	ran, err := b.TryLock(ctx, "sweep", func(context.Context) error { return nil })
	if err != nil || ran {
		t.Fatalf("second sweeper while the first runs: ran %v, %v; want false, nil", ran, err)
	}
	if d := time.Since(start); d > time.Second {
		t.Errorf("the second sweeper waited %v for the lock", d)
	}
	if swept, _, err := b.SweepExpired(ctx, time.Now()); err != nil || swept {
		t.Fatalf("SweepExpired while another sweeps = %v, %v; want false, nil", swept, err)
	}
	// Another name is another lock.
	if ran, err := b.TryLock(ctx, "other", func(context.Context) error { return nil }); err != nil || !ran {
		t.Fatalf("another lock name: ran %v, %v; want true", ran, err)
	}
	close(release)
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if ran, err := b.TryLock(ctx, "sweep", func(context.Context) error { return nil }); err != nil || !ran {
		t.Fatalf("after the first finished: ran %v, %v; want true", ran, err)
	}

	// Many at once: never two inside.
	var inside, most, runs atomic.Int32
	var wg sync.WaitGroup
	for i := range 20 {
		d := a
		if i%2 == 1 {
			d = b
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			ran, err := d.TryLock(ctx, "sweep", func(context.Context) error {
				n := inside.Add(1)
				for {
					m := most.Load()
					if n <= m || most.CompareAndSwap(m, n) {
						break
					}
				}
				time.Sleep(20 * time.Millisecond)
				inside.Add(-1)
				return nil
			})
			if err != nil {
				t.Error(err)
			}
			if ran {
				runs.Add(1)
			}
		}()
	}
	wg.Wait()
	if most.Load() != 1 || runs.Load() < 1 {
		t.Fatalf("%d sweepers ran, at most %d at once; want at least 1, never 2", runs.Load(), most.Load())
	}
}

// TestTryLockSchemasAreSeparate checks that installations in two schemas of
// one PostgreSQL database do not hold each other's lock.
func TestTryLockSchemasAreSeparate(t *testing.T) {
	a, b := dbtest.Postgres(t), dbtest.Postgres(t)
	ctx := context.Background()
	ran, err := a.TryLock(ctx, "sweep", func(context.Context) error {
		ran, err := b.TryLock(ctx, "sweep", func(context.Context) error { return nil })
		if err != nil || !ran {
			t.Errorf("other schema: ran %v, %v; want true", ran, err)
		}
		return nil
	})
	if err != nil || !ran {
		t.Fatalf("ran %v, %v", ran, err)
	}
}

func TestBackupSQLite(t *testing.T) {
	ctx := context.Background()
	d := dbtest.SQLite(t)
	u := newUser(t, d, "backup@example.com")
	path := filepath.Join(t.TempDir(), "backup.db")
	if err := d.Backup(ctx, path); err != nil {
		t.Fatal(err)
	}
	if err := d.Backup(ctx, path); err == nil {
		t.Fatal("a second backup over the first succeeded; want an error")
	}
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o600 {
		t.Errorf("backup mode %v; want 0600", fi.Mode().Perm())
	}
	// Nothing but the backup is left in its directory.
	entries, _ := os.ReadDir(filepath.Dir(path))
	if len(entries) != 1 {
		t.Errorf("backup directory holds %d entries; want 1", len(entries))
	}
	copyDB, err := db.Open(ctx, "sqlite:"+path)
	if err != nil {
		t.Fatal(err)
	}
	defer copyDB.Close()
	if got, err := copyDB.UserByEmail(ctx, u.Email); err != nil || got.ID != u.ID {
		t.Fatalf("user in the backup = %+v, %v; want %s", got, err, u.ID)
	}
	raw, err := sql.Open("sqlite3", path)
	if err != nil {
		t.Fatal(err)
	}
	defer raw.Close()
	var check string
	if err := raw.QueryRow(`PRAGMA integrity_check`).Scan(&check); err != nil || check != "ok" {
		t.Fatalf("integrity_check = %q, %v", check, err)
	}
}

func TestBackupPostgresRefused(t *testing.T) {
	d := dbtest.Postgres(t)
	if err := d.Backup(context.Background(), filepath.Join(t.TempDir(), "x")); err != db.ErrBackupUnsupported {
		t.Fatalf("Backup on PostgreSQL = %v; want ErrBackupUnsupported", err)
	}
}

func openMigrated(t *testing.T, url string) *db.DB {
	t.Helper()
	d, err := db.Open(context.Background(), url)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { d.Close() })
	if err := d.Migrate(context.Background(), nil); err != nil {
		t.Fatal(err)
	}
	return d
}

type errString string

func (e errString) Error() string { return string(e) }
